"""Account actions: a durable queue of API calls on one member (force logout, suspend, unsuspend).

A handler queues an action in its transaction; the runner calls each remaining step once, outside
any transaction, records each result as it goes (a crash repeats nothing that succeeded), and hands
the outcome back to the handlers as an internal event.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import Column, DateTime, Integer, String, Table, Text, insert, select, update
from sqlalchemy.engine import Connection

from bot.directory import USER_REF_MAX_LENGTH, member_state, tenant_admin_flag
from bot.errors import ApiError
from bot.retry import DURABLE, Backoff
from bot.status import Status
from bot.store import Id, Store, as_aware, fit, metadata, release, retry_at, utc_naive

log = logging.getLogger("bot.account_actions")

account_actions = Table(
    "account_actions", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # lockout, logout, unlock
    Column("target_user_id", String(USER_REF_MAX_LENGTH), nullable=False),
    Column("target_label", String(300), nullable=False),
    Column("steps", Text, nullable=False),  # JSON list of client methods, in order
    Column("results", Text, nullable=False),  # JSON list of {step, ok, status, code}
    Column("requested_by", String(200), nullable=False),
    Column("reason", Text),
    Column("report_id", Id),
    Column("reply_kind", String(8), nullable=False),
    Column("reply_id", String(200), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("give_up_at", DateTime, nullable=False),
    Column("status", String(16), nullable=False),  # pending, processing, done
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime, nullable=False),
    Column("lease_owner", String(64)),
    Column("lease_until", DateTime),
)

# A step is the name of the client method it calls with the member's id (force_logout, suspend,
# unsuspend: handlers/admin.py's STEPS); SUSPENDED_AFTER gives the member's isSuspended once it is done.
SUSPENDED_AFTER = {"suspend": True, "unsuspend": False}


# -- the queue ------------------------------------------------------------------------------------

def queue_account_action(tx: Connection, kind: str, steps: list[str], target_user_id: str, target_label: str,
                         requested_by: str, reason: str | None, report_id: int | None, reply_kind: str,
                         reply_id: str, now: datetime, give_up_after: timedelta) -> int:
    result = tx.execute(insert(account_actions).values(
        kind=kind, target_user_id=target_user_id, target_label=fit(target_label, account_actions.c.target_label),
        steps=json.dumps(steps),
        results="[]", requested_by=requested_by, reason=reason, report_id=report_id, reply_kind=reply_kind,
        reply_id=reply_id, created_at=utc_naive(now), give_up_at=utc_naive(now + give_up_after),
        status=Status.PENDING, attempts=0, next_attempt_at=utc_naive(now)))
    return int(result.inserted_primary_key[0])


def save_action_progress(tx: Connection, action_id: int, owner: str, results: list,
                         retry_when: datetime | None = None) -> None:
    """Record the steps done so far (a crash does not repeat them); optionally hand the row back."""
    if retry_when is not None:
        retry_at(tx, account_actions, action_id, owner, retry_when, results=json.dumps(results))
        return
    tx.execute(update(account_actions).where(account_actions.c.id == action_id,
                                             account_actions.c.lease_owner == owner)
               .values(results=json.dumps(results)))


def finish_account_action(tx: Connection, action_id: int, owner: str, results: list) -> None:
    release(tx, account_actions, action_id, owner, Status.DONE, results=json.dumps(results))


def get_account_action(tx: Connection, action_id: int):
    return tx.execute(select(account_actions).where(account_actions.c.id == action_id)).first()


class AccountActionRunner:
    def __init__(self, store: Store, client, owner: str, on_finished: Callable[[], None] = lambda: None,
                 backoff: Backoff = DURABLE):
        self.store = store
        self.client = client
        self.owner = owner
        self.on_finished = on_finished
        self.backoff = backoff

    def run_due(self, limit: int = 5) -> int:
        rows = self.store.claim(account_actions, self.owner, limit, lease_seconds=120)
        for row in rows:
            self.run(row)
        return len(rows)

    def run(self, row) -> None:
        """Call each remaining step once; record each result; hand the outcome back as an event.

        A retryable failure (timeout, 5xx, 429) is retried with backoff until `give_up_at`; after that
        the step is recorded as "unknown", because a timed-out call may or may not have taken effect.
        """
        results = json.loads(row.results)
        for step in json.loads(row.steps)[len(results):]:
            try:
                getattr(self.client, step)(row.target_user_id)
            except ApiError as exc:
                if exc.retryable and self.store.clock.now() < as_aware(row.give_up_at):
                    self._retry_later(row, step, results, exc)
                    return
                results.append(self._refused(step, row.target_user_id, exc))
            else:
                results.append({"step": step, "ok": True})
            if results[-1]["ok"] is not True:
                break
            with self.store.transaction() as tx:
                save_action_progress(tx, row.id, self.owner, results)
        self._finish(row, results)

    def _retry_later(self, row, step: str, results: list, exc: ApiError) -> None:
        delay = self.backoff.after(exc, row.attempts)
        log.warning("account action id=%s %s: %s %s, retry in %.1fs", row.id, step, exc.status, exc.code, delay)
        with self.store.transaction() as tx:
            save_action_progress(tx, row.id, self.owner, results,
                                         self.store.clock.now() + timedelta(seconds=delay))

    def _finish(self, row, results: list) -> None:
        outcomes = [("already" if r.get("already") else "ok") if r["ok"] else r.get("status") or "unknown"
                    for r in results]
        log.info("account action id=%s %s finished: %s", row.id, row.kind,
                 ", ".join(f"{r['step']}={outcome}" for r, outcome in zip(results, outcomes)))
        with self.store.transaction() as tx:
            finish_account_action(tx, row.id, self.owner, results)
            self.store.add_internal_event(tx, "account_action_done", {"actionId": row.id}, f"action:{row.id}")
        self.on_finished()

    def _refused(self, step: str, user_id: str, exc: ApiError) -> dict:
        """The result of a step that failed for good. A 400 from suspend or unsuspend means "not in a
        state for this" (already suspended, pending, the super administrator...): the member is read
        again and the truth recorded. Already in the wanted state counts as done (`already`);
        otherwise the refusal is kept with the member's state, for the administrator to be told why.
        """
        result = {"step": step, "ok": None if exc.retryable else False, "status": exc.status, "code": exc.code}
        wanted = SUSPENDED_AFTER.get(step)
        if wanted is None or exc.status != 400:
            return result
        if exc.description:
            result["description"] = exc.description[:200]
        try:
            user = self.client.get_user(user_id)
        except ApiError as read_error:
            log.warning("account step %s refused (400); reading the member failed: %s %s", step,
                        read_error.status, read_error.code)
            return result
        if bool(user.get("isSuspended")) is wanted and not user.get("isDeleted"):
            return {"step": step, "ok": True, "already": True, "status": exc.status, "code": exc.code}
        result["state"] = member_state(user)
        result["administrator"] = tenant_admin_flag(user)
        return result
