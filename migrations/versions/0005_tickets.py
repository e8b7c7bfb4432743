"""Ask a person: tickets (a question for the person in charge, and the answer), and what the FAQ
learned from them (new entries and example questions, on top of config/faq.yaml).

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "tickets",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("asker_id", sa.String(200), nullable=False),
        sa.Column("asker_name", sa.String(200)),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("guesses", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("handled_by", sa.String(200)),
        sa.Column("answer", sa.Text),
        sa.Column("reminded_on", sa.String(10)),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_tickets_status", "tickets", ["status"])
    op.create_table(
        "faq_learned",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("entry_id", sa.String(60), nullable=False),
        sa.Column("category", sa.String(60)),
        sa.Column("title", sa.String(100)),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("answer", sa.Text),
        sa.Column("ticket_id", Id),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("faq_learned")
    op.drop_index("ix_tickets_status", table_name="tickets")
    op.drop_table("tickets")
