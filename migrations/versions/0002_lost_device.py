"""Lost-device reports: conversations, reports, confirmations, account actions, audit log.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("user_id", sa.String(200), primary_key=True),
        sa.Column("flow", sa.String(32), nullable=False),
        sa.Column("step", sa.String(32), nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("channel_id", sa.String(200)),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_conversations_expires_at", "conversations", ["expires_at"])
    op.create_table(
        "reports",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("reporter_id", sa.String(200), nullable=False),
        sa.Column("reporter_name", sa.String(200)),
        sa.Column("device", sa.String(100), nullable=False),
        sa.Column("lost_when_where", sa.Text, nullable=False),
        sa.Column("screen_lock", sa.String(32), nullable=False),
        sa.Column("notes", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("closed_by", sa.String(200)),
        sa.Column("close_note", sa.Text),
    )
    op.create_index("ix_reports_reporter_status", "reports", ["reporter_id", "status"])
    op.create_table(
        "confirmations",
        sa.Column("token", sa.String(64), primary_key=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("admin_id", sa.String(200), nullable=False),
        sa.Column("target_user_id", sa.String(200), nullable=False),
        sa.Column("target_label", sa.String(300), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("report_id", Id),
        sa.Column("reply_kind", sa.String(8), nullable=False),
        sa.Column("reply_id", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
        sa.Column("used_at", sa.DateTime),
    )
    op.create_table(
        "account_actions",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("target_user_id", sa.String(200), nullable=False),
        sa.Column("target_label", sa.String(300), nullable=False),
        sa.Column("steps", sa.Text, nullable=False),
        sa.Column("results", sa.Text, nullable=False),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("report_id", Id),
        sa.Column("reply_kind", sa.String(8), nullable=False),
        sa.Column("reply_id", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("give_up_at", sa.DateTime, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime, nullable=False),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_until", sa.DateTime),
    )
    op.create_index("ix_account_actions_status", "account_actions", ["status"])
    op.create_table(
        "audit_log",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("actor_id", sa.String(200), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("target", sa.String(300)),
        sa.Column("report_id", Id),
        sa.Column("result", sa.String(300), nullable=False),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])


def downgrade() -> None:
    for table in ("audit_log", "account_actions", "confirmations", "reports", "conversations"):
        op.drop_table(table)
