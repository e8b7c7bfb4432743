"""The worker inside the web process: claims inbox rows, runs them through the dispatcher, and
drains the outbox through the client.

One inbox row is handled in one transaction: the handler's own writes, the outbox rows for its
replies and the row's "done" mark commit together, so a crash leaves either nothing (the row is
claimed again when its lease runs out) or everything. Sending happens afterwards, from the outbox,
with retries that survive a restart.
"""
from __future__ import annotations

import json
import logging
import random
import threading
import time
from datetime import timedelta
from typing import Callable

from sqlalchemy.exc import SQLAlchemyError

from bot.client import ApiError
from bot.directory import member_state, tenant_admin_flag
from bot.dispatcher import Context, Dispatcher
from bot.events import Event, describe, parse_event, parse_internal
from bot.replies import Recipient, Reply, Text
from bot import records
from bot.store import OutgoingMessage, OutboxRow, Store, as_aware
from bot.owners import lease_owner

log = logging.getLogger("bot.worker")

PRIORITY_INTERACTIVE = 0  # answers to the person who just wrote
PRIORITY_NOTICE = 1  # messages to others caused by an event (admin notices)
PRIORITY_BROADCAST = 9  # scheduled reminders: only what interactive traffic leaves

INBOX_MAX_ATTEMPTS = 3
ACCOUNT_STEPS = {"force_logout": "force_logout", "suspend": "suspend", "unsuspend": "unsuspend"}
SUSPENDED_AFTER = {"suspend": True, "unsuspend": False}  # the member's isSuspended once the step is done
ANSWER_TTL = timedelta(hours=1)  # a stale answer is worth less than silence
MUST_DELIVER_TTL = timedelta(days=3)
FLOOD_CHECK_SECONDS = 0.05


class LeaseLost(Exception):
    """Another process took the row (our lease ran out); our transaction must not commit."""


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


def backoff_seconds(attempts: int) -> float:
    """1, 2, 4 ... up to 5 minutes, with jitter so that retries do not arrive together."""
    base = min(2.0 ** max(attempts - 1, 0), 300.0)
    return base * random.uniform(0.8, 1.2)


class Worker:
    def __init__(self, store: Store, client, dispatcher: Dispatcher, make_context: Callable[..., Context],
                 clock, owner: str | None = None, poll_seconds: float = 0.5, lease_seconds: float = 60.0,
                 send_wait_seconds: float = 2.0, error_reply: Callable[[], Reply] | None = None,
                 periodic: list[Callable] | None = None, periodic_seconds: float = 15.0,
                 startup_calls: list[Callable] | None = None, resend_maybe_delivered: bool = True,
                 intake_flooded: Callable[[], bool] | None = None, flood_wait_seconds: float = 30.0,
                 flood_work_seconds: float = 3.0):
        self.store = store
        self.client = client
        self.dispatcher = dispatcher
        self.make_context = make_context
        self.clock = clock
        self.owner = owner or lease_owner("web")
        self.poll_seconds = poll_seconds
        self.lease_seconds = lease_seconds
        self.send_wait_seconds = send_wait_seconds
        self.error_reply = error_reply
        self.periodic = periodic or []
        self.periodic_seconds = periodic_seconds
        self._last_periodic = 0.0
        self.startup_calls = list(startup_calls or [])
        # False (the broadcast): a send that may have been delivered (no response: read timeout,
        # connection dropped) is not sent again, since the message API has no idempotency key.
        self.resend_maybe_delivered = resend_maybe_delivered
        # Callbacks come first: LINE WORKS never resends one we fail to acknowledge in time, while an
        # answer can wait. While callbacks flood in (intake_flooded), the worker waits, at most
        # `flood_wait_seconds` at a stretch, then works `flood_work_seconds`: a flood that never ends
        # (or a replayed body sent over and over) slows answers down but cannot stop them.
        self.intake_flooded = intake_flooded
        self.flood_wait_seconds = flood_wait_seconds
        self.flood_work_seconds = flood_work_seconds
        self._work_until = float("-inf")
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="bot-worker", daemon=True)
        self._thread.start()
        log.info("worker %s started", self.owner)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout)

    def wake(self) -> None:
        if not self._wake.is_set():  # called for every callback: setting an Event takes its lock
            self._wake.set()

    def wait_out_flood(self) -> float:
        """Wait while callbacks flood in (at most `flood_wait_seconds`); the seconds waited."""
        started = time.monotonic()
        if self.intake_flooded is None:
            return 0.0
        while (self.intake_flooded() and time.monotonic() - started < self.flood_wait_seconds
               and not self._stop.is_set()):
            self._stop.wait(FLOOD_CHECK_SECONDS)
        return time.monotonic() - started

    def give_way_to_intake(self) -> None:
        """Before each pass: wait out a flood of callbacks. One that outlasts `flood_wait_seconds` gets
        `flood_work_seconds` of answers all the same, then the worker gives way again."""
        if time.monotonic() < self._work_until:
            return
        if self.wait_out_flood() >= self.flood_wait_seconds:
            self._work_until = time.monotonic() + self.flood_work_seconds

    def _run(self) -> None:
        while not self._stop.is_set():
            self.give_way_to_intake()
            try:
                busy = self.run_once()
            except SQLAlchemyError as exc:
                # Database away for a moment: wait and try again; nothing is lost, rows stay claimed
                # or pending and leases run out.
                log.warning("worker pass failed: database error %s", type(exc).__name__)
                busy = 0
                self._stop.wait(2.0)
            except Exception:
                log.exception("worker pass failed")
                busy = 0
                self._stop.wait(1.0)
            if not busy:
                self._wake.wait(self.poll_seconds)
                self._wake.clear()

    def run_once(self) -> int:
        return self.run_periodic() + self.process_inbox() + self.run_account_actions() + self.drain_outbox()

    # -- periodic housekeeping (expiring idle conversations...) ----------------------------------

    def run_periodic(self, force: bool = False) -> int:
        """Run each periodic task (tx, context) -> replies, at most every `periodic_seconds`."""
        if not (self.periodic or self.startup_calls) or (not force and time.monotonic() - self._last_periodic < self.periodic_seconds):
            return 0
        self._last_periodic = time.monotonic()
        self._run_startup_calls()
        produced = 0
        for task in self.periodic:
            with self.store.transaction() as tx:
                replies = task(self.make_context(tx))
                self.store.enqueue(tx, to_outgoing(replies, None, f"periodic:{task.__name__}"))
                produced += len(replies)
        return produced

    def _run_startup_calls(self) -> None:
        """API set-up done once per process (the persistent menu); retried until it succeeds."""
        for call in list(self.startup_calls):
            try:
                call(self.client)
            except ApiError as exc:
                log.warning("start-up call %s failed (%s %s); will retry", call.__name__, exc.status, exc.code)
                continue
            self.startup_calls.remove(call)
            log.info("start-up call %s done", call.__name__)

    # -- account actions (force logout, suspend, unsuspend) --------------------------------------

    def run_account_actions(self, limit: int = 5) -> int:
        rows = self.store.claim(records.account_actions, self.owner, limit, lease_seconds=120)
        for row in rows:
            self._run_account_action(row)
        return len(rows)

    def _run_account_action(self, row) -> None:
        """Call each remaining step once; record each result; hand the outcome back as an event.

        A retryable failure (timeout, 5xx, 429) is retried with backoff until `give_up_at`; after that
        the step is recorded as "unknown", because a timed-out call may or may not have taken effect.
        """
        steps = json.loads(row.steps)
        results = json.loads(row.results)
        for step in steps[len(results):]:
            try:
                getattr(self.client, ACCOUNT_STEPS[step])(row.target_user_id)
            except ApiError as exc:
                if exc.retryable and self.clock.now() < as_aware(row.give_up_at):
                    delay = exc.retry_after if exc.status == 429 and exc.retry_after else backoff_seconds(row.attempts)
                    log.warning("account action id=%s %s: %s %s, retry in %.1fs", row.id, step, exc.status,
                                exc.code, delay)
                    with self.store.transaction() as tx:
                        records.save_action_progress(tx, row.id, self.owner, results,
                                                     self.clock.now() + timedelta(seconds=delay))
                    return
                results.append(self._account_step_refused(step, row.target_user_id, exc))
                if results[-1]["ok"] is not True:
                    break
                with self.store.transaction() as tx:
                    records.save_action_progress(tx, row.id, self.owner, results)
                continue
            results.append({"step": step, "ok": True})
            with self.store.transaction() as tx:
                records.save_action_progress(tx, row.id, self.owner, results)
        outcomes = [("already" if r.get("already") else "ok") if r["ok"] else r.get("status") or "unknown"
                    for r in results]
        log.info("account action id=%s %s finished: %s", row.id, row.kind,
                 ", ".join(f"{r['step']}={outcome}" for r, outcome in zip(results, outcomes)))
        with self.store.transaction() as tx:
            records.finish_account_action(tx, row.id, self.owner, results)
            self.store.add_internal_event(tx, "account_action_done", {"actionId": row.id}, f"action:{row.id}")
        self.wake()

    def _account_step_refused(self, step: str, user_id: str, exc: ApiError) -> dict:
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

    def run_until_idle(self, max_passes: int = 100) -> None:
        """For tests and tools: work until nothing is due."""
        for _ in range(max_passes):
            if not self.run_once():
                return

    # -- inbox ----------------------------------------------------------------------------------

    def process_inbox(self, limit: int = 10) -> int:
        rows = self.store.claim_inbox(self.owner, limit, self.lease_seconds)
        for row in rows:
            self._process_row(row)
        return len(rows)

    def _process_row(self, row) -> None:
        started = time.monotonic()
        try:
            body = json.loads(row.body)
            # Callbacks were verified and parsed once already at the webhook; internal events are ours.
            event = parse_internal(body) if row.internal else parse_event(body)
        except (ValueError, KeyError, RecursionError) as exc:
            # Stored by a version whose parser was less strict: it can never be handled. Failing it
            # here keeps it from being claimed again and again (and from stopping the rest of a batch).
            log.error("event id=%s cannot be parsed (%s); marked failed", row.id, type(exc).__name__)
            with self.store.transaction() as tx:
                self.store.finish_inbox(tx, row.id, self.owner, status="failed", error=type(exc).__name__)
            return
        origin = f"inbox:{row.id}"
        try:
            with self.dispatcher.prepared(event), self.store.transaction() as tx:
                ctx = self.make_context(tx)
                route, replies = self.dispatcher.dispatch(event, ctx)
                self.store.enqueue(tx, to_outgoing(replies, reply_target(event), origin))
                if not self.store.finish_inbox(tx, row.id, self.owner):
                    raise LeaseLost()
        except LeaseLost:
            log.warning("event id=%s lease lost; left to the process that holds it", row.id)
            return
        except Exception as exc:
            self._handler_failed(row, event, exc)
            return
        log.info("event id=%s type=%s user=%s channel=%s route=%s replies=%d in %dms", row.id, describe(event),
                 event.source.user_id or "-", event.source.channel_id or "-", route, len(replies),
                 (time.monotonic() - started) * 1000)
        self.wake()

    def _handler_failed(self, row, event: Event, exc: Exception) -> None:
        error = f"{type(exc).__name__}"
        if row.attempts < INBOX_MAX_ATTEMPTS:
            log.warning("event id=%s failed (attempt %d): %s; will retry", row.id, row.attempts, error,
                        exc_info=not isinstance(exc, SQLAlchemyError))
            self.store.retry_inbox(row.id, self.owner, error, backoff_seconds(row.attempts) * 2)
            return
        log.error("event id=%s failed %d times: %s; giving up and telling the sender", row.id, row.attempts, error,
                  exc_info=True)
        with self.store.transaction() as tx:
            replies = [self.error_reply()] if self.error_reply else []
            self.store.enqueue(tx, to_outgoing(replies, reply_target(event), f"inbox:{row.id}"))
            self.store.finish_inbox(tx, row.id, self.owner, status="failed", error=error)

    # -- outbox ---------------------------------------------------------------------------------

    def drain_outbox(self, limit: int = 10, max_priority: int | None = PRIORITY_NOTICE) -> int:
        """Send due outbox rows. The web worker leaves broadcast rows to the clock process."""
        rows = self.store.claim_outbox(self.owner, limit, lease_seconds=120, max_priority=max_priority)
        for row in rows:
            self.send_row(row)
        return len(rows)

    def send_row(self, row: OutboxRow) -> str:
        now = self.clock.now()
        if row.expires_at < now:
            level = logging.ERROR if row.must_deliver else logging.WARNING
            log.log(level, "outbox id=%s to %s %s expired undelivered after %d attempts", row.id,
                    row.recipient_kind, row.recipient_id, row.attempts - 1)
            self.store.mark_failed(row.id, self.owner, "expired", status="expired")
            return "expired"
        sent = row.parts_sent
        try:
            for content in row.contents[row.parts_sent:]:
                self.client.send_message(row.recipient_kind, row.recipient_id, content,
                                         max_wait=self.send_wait_seconds)
                sent += 1
                if sent < len(row.contents):
                    self.store.record_part_sent(row.id, self.owner, sent)
        except ApiError as exc:
            if exc.retryable and exc.maybe_done and not self.resend_maybe_delivered:
                log.warning("outbox id=%s to %s %s: %s %s, may have been delivered: not sent again", row.id,
                            row.recipient_kind, row.recipient_id, exc.code, exc.description)
                self.store.mark_failed(row.id, self.owner, f"{exc.code} {exc.description}: may have been delivered, "
                                                           "not sent again")
                return "unknown"
            if exc.retryable:
                delay = exc.retry_after if exc.status == 429 and exc.retry_after else backoff_seconds(row.attempts)
                log.warning("outbox id=%s to %s %s: %s %s, retry in %.1fs", row.id, row.recipient_kind,
                            row.recipient_id, exc.status, exc.code, delay)
                self.store.reschedule(row.id, self.owner, f"{exc.status} {exc.code}", delay)
                return "retry"
            log.error("outbox id=%s to %s %s refused: %s %s %s", row.id, row.recipient_kind, row.recipient_id,
                      exc.status, exc.code, exc.description)
            self.store.mark_failed(row.id, self.owner, f"{exc.status} {exc.code} {exc.description}")
            return "failed"
        self.store.mark_sent(row.id, self.owner)
        log.info("outbox id=%s sent to %s %s (%d parts)", row.id, row.recipient_kind, row.recipient_id,
                 len(row.contents))
        return "sent"


def error_reply_from(texts) -> Callable[[], Reply]:
    return lambda: Reply(Text(texts("platform.error")))
