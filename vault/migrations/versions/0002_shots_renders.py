"""Shots, their versioned master renders with fingerprints, and the marked copies exported.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shots",
        sa.Column("number", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("plate", sa.String(32), sa.ForeignKey("assets.id"), nullable=False),
        sa.Column("face", sa.String(32), sa.ForeignKey("assets.id"), nullable=False),
        sa.Column("backend", sa.String(64), nullable=False),
        sa.Column("settings", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "renders",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("shot", sa.Integer, sa.ForeignKey("shots.number"), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("asset", sa.String(32), sa.ForeignKey("assets.id"), nullable=False, unique=True),
        sa.Column("backend", sa.String(64), nullable=False),
        sa.Column("settings", sa.Text, nullable=False),
        sa.Column("plate_sha256", sa.String(64), nullable=False),
        sa.Column("face_sha256", sa.String(64), nullable=False),
        sa.Column("frames", sa.Integer, nullable=False),
        sa.Column("signed", sa.Boolean, nullable=False),
        sa.Column("manifest", sa.String(128)),
        sa.Column("rendered_by", sa.String(64), nullable=False),
        sa.Column("rendered_at", sa.String(40), nullable=False),
        sa.UniqueConstraint("shot", "number"),
    )
    op.create_table(
        "copies",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("mark", sa.Integer, nullable=False, unique=True),
        sa.Column("render", sa.String(32), sa.ForeignKey("renders.id"), nullable=False),
        sa.Column("recipient", sa.String(64), sa.ForeignKey("members.name"), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("manifest", sa.String(128)),
    )
    op.create_table(
        "fingerprints",
        sa.Column("render", sa.String(32), sa.ForeignKey("renders.id"), primary_key=True),
        sa.Column("fps", sa.Float, nullable=False),
        sa.Column("frames", sa.Integer, nullable=False),
        sa.Column("signatures", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("fingerprints")
    op.drop_table("copies")
    op.drop_table("renders")
    op.drop_table("shots")
