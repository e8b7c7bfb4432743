"""FAQ records: questions asked (with how they were answered) and 👍/👎 feedback.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "faq_questions",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("user_id", sa.String(200), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("entry_id", sa.String(100)),
        sa.Column("score", sa.Float, nullable=False),
    )
    op.create_index("ix_faq_questions_at", "faq_questions", ["at"])
    op.create_table(
        "faq_feedback",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("user_id", sa.String(200), nullable=False),
        sa.Column("entry_id", sa.String(100), nullable=False),
        sa.Column("vote", sa.String(8), nullable=False),
    )
    op.create_index("ix_faq_feedback_entry", "faq_feedback", ["entry_id"])


def downgrade() -> None:
    op.drop_table("faq_feedback")
    op.drop_table("faq_questions")
