"""The outbox: replies become rows in the same transaction as the change that caused them, and the
OutboxSender delivers them afterwards, outside any transaction, with one retry policy.

A row is sent part by part (LINE WORKS takes one content per call); the parts already sent are
recorded, so a retry or a restart sends only the rest. A row that outlives its time to live is
expired instead of sent late: a stale answer is worth less than silence.
"""
from __future__ import annotations

import logging
from datetime import timedelta
from enum import StrEnum

from bot.errors import ApiError
from bot.events import Event
from bot.replies import Recipient, Reply
from bot.retry import DURABLE, Backoff
from bot.store import OutboxRow, OutgoingMessage, Status, Store

log = logging.getLogger("bot.outbox")

PRIORITY_INTERACTIVE = 0  # answers to the person who just wrote
PRIORITY_NOTICE = 1  # messages to others caused by an event (admin notices)
PRIORITY_BROADCAST = 9  # scheduled reminders: only what interactive traffic leaves

ANSWER_TTL = timedelta(hours=1)
MUST_DELIVER_TTL = timedelta(days=3)


class SendOutcome(StrEnum):
    SENT = "sent"
    RETRY = "retry"  # will be tried again (5xx, 429, timeout)
    FAILED = "failed"  # refused for good
    UNKNOWN = "unknown"  # no response and not sent again: it may have been delivered
    EXPIRED = "expired"  # its time to live ran out before it could be sent


def reply_target(event: Event) -> Recipient | None:
    """Answer in the channel when the event came from one, else to the user."""
    source = event.source
    if source.channel_id:
        return Recipient(channel_id=source.channel_id)
    if source.user_id:
        return Recipient(user_id=source.user_id)
    return None


def to_outgoing(replies: list[Reply], default: Recipient | None, origin: str) -> list[OutgoingMessage]:
    """Group replies into outbox rows: one per recipient and delivery class, order kept."""
    rows: list[OutgoingMessage] = []
    for reply in replies:
        recipient = reply.to or default
        if recipient is None:
            log.warning("reply without a recipient dropped (origin=%s)", origin)
            continue
        priority = PRIORITY_INTERACTIVE if reply.to is None else PRIORITY_NOTICE
        contents = reply.content.contents()
        last = rows[-1] if rows else None
        if (last and last.recipient_kind == recipient.kind and last.recipient_id == recipient.id
                and last.must_deliver == reply.must_deliver and last.priority == priority):
            last.contents.extend(contents)
            continue
        rows.append(OutgoingMessage(
            recipient_kind=recipient.kind, recipient_id=recipient.id, contents=contents, priority=priority,
            urgent=reply.urgent, must_deliver=reply.must_deliver,
            ttl=MUST_DELIVER_TTL if reply.must_deliver else ANSWER_TTL, origin=origin,
        ))
    return rows


class OutboxSender:
    """Sends claimed outbox rows through the client and records each outcome on the row.

    `send_wait_seconds` bounds the client's own waiting; past it the row goes back to the outbox's
    durable retry. `resend_maybe_delivered=False` (the broadcast): a send with no response (read
    timeout, dropped connection) may have reached LINE WORKS, and the message API has no idempotency
    key, so it is recorded as `unknown` instead of being sent twice.
    """

    def __init__(self, store: Store, client, owner: str, send_wait_seconds: float = 2.0,
                 resend_maybe_delivered: bool = True, backoff: Backoff = DURABLE):
        self.store = store
        self.client = client
        self.owner = owner
        self.send_wait_seconds = send_wait_seconds
        self.resend_maybe_delivered = resend_maybe_delivered
        self.backoff = backoff

    def drain(self, limit: int = 10, max_priority: int | None = PRIORITY_NOTICE) -> int:
        """Send due rows. The web worker leaves broadcast rows to the clock process."""
        rows = self.store.claim_outbox(self.owner, limit, lease_seconds=120, max_priority=max_priority)
        for row in rows:
            self.send_row(row)
        return len(rows)

    def send_row(self, row: OutboxRow) -> SendOutcome:
        if row.expires_at < self.store.clock.now():
            level = logging.ERROR if row.must_deliver else logging.WARNING
            log.log(level, "outbox id=%s to %s %s expired undelivered after %d attempts", row.id,
                    row.recipient_kind, row.recipient_id, row.attempts - 1)
            self.store.mark_failed(row.id, self.owner, "expired", status=Status.EXPIRED)
            return SendOutcome.EXPIRED
        try:
            self._send_parts(row)
        except ApiError as exc:
            return self._failed(row, exc)
        self.store.mark_sent(row.id, self.owner)
        log.info("outbox id=%s sent to %s %s (%d parts)", row.id, row.recipient_kind, row.recipient_id,
                 len(row.contents))
        return SendOutcome.SENT

    def _send_parts(self, row: OutboxRow) -> None:
        sent = row.parts_sent
        for content in row.contents[row.parts_sent:]:
            self.client.send_message(row.recipient_kind, row.recipient_id, content,
                                     max_wait=self.send_wait_seconds)
            sent += 1
            if sent < len(row.contents):
                self.store.record_part_sent(row.id, self.owner, sent)

    def _failed(self, row: OutboxRow, exc: ApiError) -> SendOutcome:
        where = f"outbox id={row.id} to {row.recipient_kind} {row.recipient_id}"
        if exc.retryable and exc.maybe_done and not self.resend_maybe_delivered:
            log.warning("%s: %s %s, may have been delivered: not sent again", where, exc.code, exc.description)
            self.store.mark_failed(row.id, self.owner, f"{exc.code} {exc.description}: may have been delivered, "
                                                       "not sent again")
            return SendOutcome.UNKNOWN
        if exc.retryable:
            delay = self.backoff.after(exc, row.attempts)
            log.warning("%s: %s %s, retry in %.1fs", where, exc.status, exc.code, delay)
            self.store.reschedule(row.id, self.owner, f"{exc.status} {exc.code}", delay)
            return SendOutcome.RETRY
        log.error("%s refused: %s %s %s", where, exc.status, exc.code, exc.description)
        self.store.mark_failed(row.id, self.owner, f"{exc.status} {exc.code} {exc.description}")
        return SendOutcome.FAILED
