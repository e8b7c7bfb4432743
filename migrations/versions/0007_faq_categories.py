"""FAQ categories renamed or added in the console (on top of config/faq.yaml).

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "faq_categories",
        sa.Column("category_id", sa.String(60), primary_key=True),
        sa.Column("title", sa.String(100), nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("faq_categories")
