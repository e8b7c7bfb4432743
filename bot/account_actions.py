"""Account actions: a durable queue of API calls on one member (force logout, suspend, unsuspend).

A handler queues an action in its transaction; the runner calls each remaining step once, outside
any transaction, records each result as it goes (a crash repeats nothing that succeeded), and hands
the outcome back to the handlers as an internal event.
"""
from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Callable

from bot import records
from bot.directory import member_state, tenant_admin_flag
from bot.errors import ApiError
from bot.retry import DURABLE, Backoff
from bot.store import Store, as_aware

log = logging.getLogger("bot.account_actions")

# The client method each step calls with the member's id, and the member's isSuspended once it is done.
STEP_CALLS = {"force_logout": "force_logout", "suspend": "suspend", "unsuspend": "unsuspend"}
SUSPENDED_AFTER = {"suspend": True, "unsuspend": False}


class AccountActionRunner:
    def __init__(self, store: Store, client, owner: str, on_finished: Callable[[], None] = lambda: None,
                 backoff: Backoff = DURABLE):
        self.store = store
        self.client = client
        self.owner = owner
        self.on_finished = on_finished
        self.backoff = backoff

    def run_due(self, limit: int = 5) -> int:
        rows = self.store.claim(records.account_actions, self.owner, limit, lease_seconds=120)
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
                getattr(self.client, STEP_CALLS[step])(row.target_user_id)
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
                records.save_action_progress(tx, row.id, self.owner, results)
        self._finish(row, results)

    def _retry_later(self, row, step: str, results: list, exc: ApiError) -> None:
        delay = self.backoff.after(exc, row.attempts)
        log.warning("account action id=%s %s: %s %s, retry in %.1fs", row.id, step, exc.status, exc.code, delay)
        with self.store.transaction() as tx:
            records.save_action_progress(tx, row.id, self.owner, results,
                                         self.store.clock.now() + timedelta(seconds=delay))

    def _finish(self, row, results: list) -> None:
        outcomes = [("already" if r.get("already") else "ok") if r["ok"] else r.get("status") or "unknown"
                    for r in results]
        log.info("account action id=%s %s finished: %s", row.id, row.kind,
                 ", ".join(f"{r['step']}={outcome}" for r, outcome in zip(results, outcomes)))
        with self.store.transaction() as tx:
            records.finish_account_action(tx, row.id, self.owner, results)
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
