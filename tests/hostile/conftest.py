"""Shared helpers for the hostile-input tests: an app wired to `responses`, row counts, a browser."""
from __future__ import annotations

import re

import responses
from sqlalchemy import func, select

from handlers import records
from bot.store import inbox, outbox
from tests.conftest import API_BASE
from tests.platform.helpers import mock_token
from tests.talk import Talk

ALL_TABLES = {
    "inbox": inbox, "outbox": outbox, "reports": records.reports, "conversations": records.conversations,
    "confirmations": records.confirmations, "account_actions": records.account_actions,
    "audit_log": records.audit_log, "faq_questions": records.faq_questions, "faq_feedback": records.faq_feedback,
}


def counts(store) -> dict[str, int]:
    """Rows per table: the whole stored state, in numbers (journalled callbacks first moved into the
    inbox, as the worker's next pass would)."""
    store.import_journal()
    with store.engine.connect() as conn:
        return {name: conn.execute(select(func.count()).select_from(table)).scalar_one()
                for name, table in ALL_TABLES.items()}


def inbox_rows(store) -> list:
    store.import_journal()
    with store.engine.connect() as conn:
        return list(conn.execute(select(inbox).order_by(inbox.c.id)))


def api_mock() -> responses.RequestsMock:
    """A LINE WORKS API that accepts everything (token, messages, directory look-ups)."""
    mock = responses.RequestsMock(assert_all_requests_are_fired=False)
    mock_token(mock)
    mock.add(responses.POST, re.compile(re.escape(API_BASE) + r"/bots/.*"), status=201, json={})
    mock.add(responses.GET, re.compile(re.escape(API_BASE) + r"/users/.*"), status=404,
             json={"code": "NOT_FOUND", "description": "no such user"})
    return mock


def drain(runtime, clock, rounds: int = 12) -> None:
    """Run the worker until no inbox row is waiting, letting retries become due on the fixed clock."""
    for _ in range(rounds):
        runtime.worker.run_until_idle()
        waiting = [r for r in inbox_rows(runtime.store) if r.status in ("pending", "processing")]
        if not waiting:
            return
        clock.advance(minutes=10)


class FastTalk(Talk):
    """Talk with a shorter settle time: every call here says how many messages it expects."""

    def wait_new(self, before, settle: float = 0.12, **kwargs):
        return super().wait_new(before, settle=settle, **kwargs)
