"""Screenplay copies; copies of any master (a render, or footage fetched with `vault get`);
fingerprints filed by the master's asset.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None
# SQLite keeps 0002's UNIQUE on copies.mark without a name; batch mode needs one to drop it.
_UNNAMED = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def upgrade() -> None:
    op.create_table(
        "script_copies",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("script", sa.String(32), sa.ForeignKey("assets.id"), nullable=False),
        sa.Column("mark", sa.Integer, nullable=False),
        sa.Column("recipient", sa.String(64), sa.ForeignKey("members.name"), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("rules", sa.String(32), nullable=False),
        sa.Column("sites", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.UniqueConstraint("script", "mark"),
    )
    # A copy's master is an asset: a render's, or footage's. `render` stays for render copies.
    # A mark belongs to a member, not to one file: every copy a member receives carries their
    # codeword, so the code's rows are spent on people, not on downloads.
    unique = next(
        c
        for c in sa.inspect(op.get_bind()).get_unique_constraints("copies")
        if c["column_names"] == ["mark"]
    )
    with op.batch_alter_table("copies", naming_convention=_UNNAMED) as batch:
        batch.drop_constraint(unique["name"] or "uq_copies_mark", type_="unique")
        batch.add_column(sa.Column("master", sa.String(32), nullable=True))
        batch.alter_column("render", existing_type=sa.String(32), nullable=True)
    op.execute(
        "UPDATE copies SET master = (SELECT asset FROM renders WHERE renders.id = copies.render)"
    )
    with op.batch_alter_table("copies") as batch:
        batch.alter_column("master", existing_type=sa.String(32), nullable=False)
        batch.create_foreign_key("fk_copies_master", "assets", ["master"], ["id"])
    op.create_index("ix_copies_mark", "copies", ["mark"])
    op.create_table(
        "master_fingerprints",
        sa.Column("asset", sa.String(32), sa.ForeignKey("assets.id"), primary_key=True),
        sa.Column("fps", sa.Float, nullable=False),
        sa.Column("frames", sa.Integer, nullable=False),
        sa.Column("signatures", sa.LargeBinary, nullable=False),
    )
    op.execute(
        "INSERT INTO master_fingerprints (asset, fps, frames, signatures) "
        "SELECT renders.asset, f.fps, f.frames, f.signatures "
        "FROM fingerprints f JOIN renders ON renders.id = f.render"
    )
    op.drop_table("fingerprints")


def downgrade() -> None:
    # Copies of footage and of scripts are evidence of who received what; 0002 has no
    # place for them, so refuse rather than lose them.
    bind = op.get_bind()
    footage = bind.execute(sa.text("SELECT count(*) FROM copies WHERE render IS NULL")).scalar()
    scripts = bind.execute(sa.text("SELECT count(*) FROM script_copies")).scalar()
    shared = bind.execute(
        sa.text(
            "SELECT count(*) FROM (SELECT mark FROM copies GROUP BY mark HAVING count(*) > 1) m"
        )
    ).scalar()
    if footage or scripts or shared:
        raise RuntimeError(
            f"{footage} footage copies, {scripts} script copies and {shared} marks held by "
            "several copies have no place in schema 0002: not downgrading"
        )
    op.create_table(
        "fingerprints",
        sa.Column("render", sa.String(32), sa.ForeignKey("renders.id"), primary_key=True),
        sa.Column("fps", sa.Float, nullable=False),
        sa.Column("frames", sa.Integer, nullable=False),
        sa.Column("signatures", sa.LargeBinary, nullable=False),
    )
    op.execute(
        "INSERT INTO fingerprints (render, fps, frames, signatures) "
        "SELECT renders.id, m.fps, m.frames, m.signatures "
        "FROM master_fingerprints m JOIN renders ON renders.asset = m.asset"
    )
    op.drop_table("master_fingerprints")
    op.drop_index("ix_copies_mark", "copies")
    with op.batch_alter_table("copies") as batch:
        batch.drop_constraint("fk_copies_master", type_="foreignkey")
        batch.drop_column("master")
        batch.alter_column("render", existing_type=sa.String(32), nullable=False)
        batch.create_unique_constraint("copies_mark_key", ["mark"])
    op.drop_table("script_copies")
