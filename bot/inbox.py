"""The inbox processor: one inbox row, one transaction.

The directory look-ups the event needs are made first, outside any transaction (the dispatcher's
`prepared`); then the handler's own writes, the outbox rows for its replies and the row's "done" mark
commit together, so a crash leaves either nothing (the row is claimed again when its lease runs out)
or everything.
"""
from __future__ import annotations

import json
import logging
import time
from typing import Callable

from sqlalchemy.exc import SQLAlchemyError

from bot.dispatcher import Context, Dispatcher
from bot.events import Event, describe, parse_event, parse_internal
from bot.outbox import reply_target, to_outgoing
from bot.replies import Reply
from bot.retry import DURABLE, Backoff
from bot.status import Status
from bot.store import Store

log = logging.getLogger("bot.inbox")

MAX_ATTEMPTS = 3


class LeaseLost(Exception):
    """Another process took the row (our lease ran out); our transaction must not commit."""


class InboxProcessor:
    def __init__(self, store: Store, dispatcher: Dispatcher, make_context: Callable[..., Context], owner: str,
                 error_reply: Callable[[], Reply] | None = None, lease_seconds: float = 60.0,
                 on_done: Callable[[], None] = lambda: None, backoff: Backoff = DURABLE):
        self.store = store
        self.dispatcher = dispatcher
        self.make_context = make_context
        self.owner = owner
        self.error_reply = error_reply
        self.lease_seconds = lease_seconds
        self.on_done = on_done
        self.backoff = backoff

    def process_due(self, limit: int = 10) -> int:
        rows = self.store.claim_inbox(self.owner, limit, self.lease_seconds)
        for row in rows:
            self.process(row)
        return len(rows)

    def process(self, row) -> None:
        started = time.monotonic()
        event = self._parse(row)
        if event is None:
            return
        try:
            with self.dispatcher.prepared(event), self.store.transaction() as tx:
                route, replies = self.dispatcher.dispatch(event, self.make_context(tx))
                self.store.enqueue(tx, to_outgoing(replies, reply_target(event), f"inbox:{row.id}"))
                if not self.store.finish_inbox(tx, row.id, self.owner):
                    raise LeaseLost()
        except LeaseLost:
            log.warning("event id=%s lease lost; left to the process that holds it", row.id)
            return
        except Exception as exc:
            self._failed(row, event, exc)
            return
        log.info("event id=%s type=%s user=%s channel=%s route=%s replies=%d in %dms", row.id, describe(event),
                 event.source.user_id or "-", event.source.channel_id or "-", route, len(replies),
                 (time.monotonic() - started) * 1000)
        self.on_done()

    def _parse(self, row) -> Event | None:
        try:
            body = json.loads(row.body)
            # Callbacks were verified and parsed once already at the webhook; internal events are ours.
            return parse_internal(body) if row.internal else parse_event(body)
        except (ValueError, KeyError, RecursionError) as exc:
            # Stored by a version whose parser was less strict: it can never be handled. Failing it
            # here keeps it from being claimed again and again (and from stopping the rest of a batch).
            log.error("event id=%s cannot be parsed (%s); marked failed", row.id, type(exc).__name__)
            with self.store.transaction() as tx:
                self.store.finish_inbox(tx, row.id, self.owner, status=Status.FAILED, error=type(exc).__name__)
            return None

    def _failed(self, row, event: Event, exc: Exception) -> None:
        error = type(exc).__name__
        if row.attempts < MAX_ATTEMPTS:
            log.warning("event id=%s failed (attempt %d): %s; will retry", row.id, row.attempts, error,
                        exc_info=not isinstance(exc, SQLAlchemyError))
            self.store.retry_inbox(row.id, self.owner, error, self.backoff.seconds(row.attempts) * 2)
            return
        log.error("event id=%s failed %d times: %s; giving up and telling the sender", row.id, row.attempts, error,
                  exc_info=True)
        with self.store.transaction() as tx:
            replies = [self.error_reply()] if self.error_reply else []
            self.store.enqueue(tx, to_outgoing(replies, reply_target(event), f"inbox:{row.id}"))
            self.store.finish_inbox(tx, row.id, self.owner, status=Status.FAILED, error=error)
