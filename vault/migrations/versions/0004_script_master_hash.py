"""Script copies record the SHA-256 of the master text they were marked from.

A script stored as a PDF is marked on the text its text layer gives; a newer pypdf could
give a different text, whose sites no longer match the copies made before. The hash lets
`vault trace` tell such copies apart instead of misreading them. Copies made before this
revision have no hash (NULL) and are read as before.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("script_copies") as batch:
        batch.add_column(sa.Column("master_sha256", sa.String(64), nullable=True))


def downgrade() -> None:
    # Only the check is lost: the copies themselves stay readable as before.
    with op.batch_alter_table("script_copies") as batch:
        batch.drop_column("master_sha256")
