"""The reminder broadcast: enumerate the audience into the outbox, then send it with a shared budget.

Enumeration pages the directory (100 members a page), drops suspended, deleted and pending members
and those who opted out, and writes one outbox row per recipient with the dedup key
reminder:<id>:<date>:<kind>:<recipient> (the delivery ledger: a row that exists is never written
twice, so enumerating again after a crash, or from a second clock, adds nothing already there).

Sending takes broadcast rows (priority 9) with a lease and sends them through `Worker.send_row`
(expiry, 429/5xx rescheduling, permanent failures), paced by `Pacer`:
- at most `rate_per_min` messages a minute in total, counting what the bot sent interactively
  (outbox rows of every priority sent in the last 60 seconds), evenly spaced;
- nothing while interactive rows (priority <= 1) are waiting, so answers go first;
- after a 429 (ours, or one an interactive row got), nothing until rateLimit-reset has passed.
Time is injected (`monotonic`, `sleep`, the store's clock), so tests run without waiting.
"""
from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections import Counter, deque
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Callable, Iterator

from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bot.errors import ApiError
from bot.outbox import PRIORITY_BROADCAST, PRIORITY_NOTICE, OutboxSender, SendOutcome
from bot.owners import lease_owner
from bot.status import Status
from bot.store import OutgoingMessage, Store, as_aware
from handlers import faq_records
from handlers import reminder_records as rr
from scheduler.config import Reminder, ReminderBook
from scheduler.service import ReminderService

log = logging.getLogger("scheduler.broadcast")

PAGE_SIZE = 100
KEY_LIMIT = 200


def is_active(user: dict) -> bool:
    """A member who can read a message: not suspended, deleted, invited (pending) or not yet started
    (awaiting)."""
    return not any(user.get(flag) for flag in ("isSuspended", "isDeleted", "isPending", "isAwaiting"))


def is_manager(user: dict) -> bool:
    return any(unit.get("isManager") for org in user.get("organizations") or []
               for unit in org.get("orgUnits") or [])


def _key(reminder_id: str, occurrence: str, kind: str, recipient: str) -> str:
    key = rr.dedup_key(reminder_id, occurrence, kind, recipient)
    if len(key) > KEY_LIMIT:  # very long ids: keep the key unique and within the column
        key = rr.dedup_key(reminder_id, occurrence, kind, "sha256-" + hashlib.sha256(recipient.encode()).hexdigest())
    return key


class Audience:
    """Pages of (kind, id) recipients for a reminder, with counts of who was left out and why."""

    def __init__(self, client, store: Store, reads_members: bool = True):
        self.client = client
        self.store = store
        self.reads_members = reads_members  # False without a user scope (the Free plan)

    def pages(self, reminder: Reminder, skipped: Counter) -> Iterator[list[tuple[str, str]]]:
        spec = reminder.spec.audience
        honour_opt_out = not reminder.spec.urgent
        if spec.kind in ("all", "managers") and not self.reads_members:
            log.warning("reminder %s goes to the whole directory, which needs the `user` scope (a paid plan); "
                        "not sent", reminder.id)
            return
        if spec.kind in ("all", "managers"):
            cursor = None
            while True:
                users, cursor = self.client.list_users(cursor, PAGE_SIZE)
                page = []
                for user in users:
                    if not is_active(user):
                        skipped["inactive"] += 1
                    elif spec.kind == "managers" and not is_manager(user):
                        continue
                    else:
                        page.append(user["userId"])
                yield [("user", uid) for uid in self._drop_opted_out(page, honour_opt_out, skipped)]
                if not cursor:
                    return
        else:
            for start in range(0, len(spec.users), PAGE_SIZE):
                page = spec.users[start:start + PAGE_SIZE]
                yield [("user", uid) for uid in self._drop_opted_out(page, honour_opt_out, skipped)]
            for start in range(0, len(spec.rooms), PAGE_SIZE):
                yield [("channel", room) for room in spec.rooms[start:start + PAGE_SIZE]]

    def _drop_opted_out(self, user_ids: list[str], honour: bool, skipped: Counter) -> list[str]:
        if not honour or not user_ids:
            return user_ids
        with self.store.engine.connect() as conn:
            out = rr.opted_out_among(conn, user_ids)
        skipped["opted_out"] += len(out)
        return [u for u in user_ids if u not in out]


class Pacer:
    """The shared send budget. Thread-safe; one per clock process."""

    def __init__(self, store: Store, rate_per_min: int, monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, check_seconds: float = 0.05,
                 window_refresh_seconds: float = 1.0):
        self.store = store
        self.rate = rate_per_min
        self.interval = 60.0 / rate_per_min
        self.monotonic = monotonic
        self.sleep = sleep
        self.check_seconds = check_seconds
        self.window_refresh_seconds = window_refresh_seconds
        self.catch_up = max(self.interval, 0.25)
        self._lock = threading.Lock()
        self._next_slot = 0.0
        self._paused_until = 0.0
        self._checked_at = -math.inf
        self._interactive = 0
        self._window_at = -math.inf
        self._window = 0
        self._local = 0
        self.yields = 0  # times the broadcast stood back for interactive traffic
        self.pauses = 0  # 429 pauses

    def rate_limited(self, seconds: float | None) -> None:
        wait = max(seconds or 0.0, 1.0)
        with self._lock:
            self._paused_until = max(self._paused_until, self.monotonic() + wait)
            self.pauses += 1
        log.warning("broadcast rate limited (429): pausing for %.1fs", wait)

    def _hold(self) -> float:
        """Seconds to stand back before sending now (0: go)."""
        now = self.monotonic()
        with self._lock:
            if now < self._paused_until:
                return self._paused_until - now
            if now - self._checked_at >= self.check_seconds:
                with self.store.engine.connect() as conn:
                    self._interactive, limited_until = rr.interactive_hold(conn, self.store.clock.now(),
                                                                           PRIORITY_NOTICE)
                self._checked_at = now
                if limited_until is not None:
                    wait = (as_aware(limited_until) - self.store.clock.now()).total_seconds()
                    if wait > 0:
                        self._paused_until = now + wait
                        self.pauses += 1
                        log.warning("an answer was rate limited: broadcast pauses for %.1fs", wait)
                        return wait
            if self._interactive:
                self.yields += 1
                return self.check_seconds
            if now - self._window_at >= self.window_refresh_seconds:
                with self.store.engine.connect() as conn:
                    self._window = rr.sent_since(conn, self.store.clock.now() - timedelta(seconds=60))
                self._window_at, self._local = now, 0
            if self._window + self._local >= self.rate:
                return max(self.window_refresh_seconds - (now - self._window_at), self.interval)
            self._local += 1
            return 0.0

    def acquire(self, stop: threading.Event | None = None) -> bool:
        """Block until one broadcast message may be sent; False if asked to stop."""
        while stop is None or not stop.is_set():
            with self._lock:
                now = self.monotonic()
                # A sender a little late (a slow call) may catch up its slot; after a longer gap
                # (idle, paused) the spacing starts again from now, so there is no burst.
                slot = self._next_slot if now - self._next_slot <= self.catch_up else now
                self._next_slot = slot + self.interval
            if slot > now:
                self.sleep(slot - now)
            hold = self._hold()
            if hold <= 0:
                return True
            self.sleep(hold)
        return False

    def refund(self) -> None:
        """A slot that sent nothing (no row, or the row had expired)."""
        with self._lock:
            self._next_slot = max(self.monotonic(), self._next_slot - self.interval)
            self._local = max(0, self._local - 1)


class _RateLimitAware:
    """The client, telling the pacer about every 429 the broadcast gets."""

    def __init__(self, client, on_limited: Callable[[float | None], None]):
        self._client = client
        self._on_limited = on_limited

    def send_message(self, *args, **kwargs):
        try:
            return self._client.send_message(*args, **kwargs)
        except ApiError as exc:
            if exc.status == 429:
                self._on_limited(exc.retry_after)
            raise


class Broadcaster:
    lease_seconds = 120.0
    progress_seconds = 10.0  # how often a running broadcast logs and records its progress

    def __init__(self, store: Store, client, book: ReminderBook, rate_per_min: int, reads_members: bool = True,
                 owner: str | None = None, timer=time, senders: int | None = None):
        """`timer` gives `monotonic()` and `sleep(seconds)` for pacing (the time module; a fake in tests)."""
        self.store = store
        self.book = book
        self.clock = store.clock
        self.owner = owner or lease_owner("clock")
        self.monotonic = timer.monotonic
        self.sleep = timer.sleep
        self.pacer = Pacer(store, rate_per_min, timer.monotonic, timer.sleep)
        self.audience = Audience(client, store, reads_members)
        # send_wait_seconds=0: a 429 or 5xx goes straight back to the outbox's durable retry.
        # resend_maybe_delivered=False: a send with no response (read timeout, dropped connection) may
        # have reached LINE WORKS; sending it again could deliver it twice, so it is recorded instead.
        self.sender = OutboxSender(store, _RateLimitAware(client, self.pacer.rate_limited), self.owner,
                                   send_wait_seconds=0, resend_maybe_delivered=False)
        # Rows are claimed a couple of seconds' worth at a time, just before they are sent.
        self.batch = max(1, min(100, math.ceil(rate_per_min / 60 * 2)))
        self.senders = senders or max(1, min(8, math.ceil(rate_per_min / 60 / 15)))
        self._rows: deque = deque()
        self._rows_lock = threading.Lock()
        self._work = threading.Event()
        self._logged: dict[int, float] = {}
        self.service = ReminderService(book)

    # -- requests ---------------------------------------------------------------------------------

    def request_scheduled(self, reminder: Reminder, fire: datetime) -> None:
        """The clock's job for one reminder: write the occurrence down; the loop does the rest."""
        with self.store.transaction() as tx:
            result = self.service.request_send(tx, reminder.id, self.clock.now(), "schedule",
                                                             scheduled_for=fire)
        log.info("reminder %s run at %s: %s%s", reminder.id, fire.isoformat(), result.outcome,
                 f" (occurrence {result.occurrence})" if result.occurrence else "")
        self._work.set()

    # -- enumeration ------------------------------------------------------------------------------

    def take_requests(self, limit: int = 1) -> int:
        """Claim requested occurrences (or ones whose clock died) and enumerate them."""
        rows = self.store.claim(rr.broadcasts, self.owner, limit, self.lease_seconds, working=Status.RUNNING)
        for row in rows:
            self.enumerate(row)
        return len(rows)

    def enumerate(self, row) -> None:
        reminder = self.book.get(row.reminder_id)
        origin = rr.origin_of(row.reminder_id, row.occurrence)
        now = self.clock.now()
        deadline = as_aware(row.deadline)
        if reminder is None or now >= deadline:
            reason = "unknown reminder" if reminder is None else "delivery window closed before it started"
            log.warning("reminder %s occurrence %s not sent: %s", row.reminder_id, row.occurrence, reason)
            self._finish(row.id, origin)
            return
        with self.store.transaction() as tx:
            rr.set_phase(tx, row.id, self.owner, rr.BroadcastPhase.ENUMERATING, now, self.lease_seconds)
            changed = faq_records.company_overrides(tx)  # company values changed in the console
        day = datetime.fromisoformat(row.occurrence).date()
        book = replace(self.book, company={**self.book.company, **{k: v for k, v in changed.items()
                                                                   if k in self.book.company}})
        contents = {"user": book.contents(reminder, day, to_user=True),
                    "channel": book.contents(reminder, day, to_user=False)}
        skipped: Counter = Counter()
        queued = total = 0
        for page in self.audience.pages(reminder, skipped):
            # send_row expires a row only once strictly past expires_at: end a second early, so that
            # nothing goes out at the very first second of quiet hours either.
            ttl = deadline - timedelta(seconds=1) - self.clock.now()
            messages = [OutgoingMessage(kind, rid, contents[kind], priority=PRIORITY_BROADCAST,
                                        urgent=reminder.spec.urgent, ttl=ttl, origin=origin,
                                        dedup_key=_key(reminder.id, row.occurrence, kind, rid))
                        for kind, rid in page]
            total += len(messages)
            queued += self._enqueue(messages)
            with self.store.transaction() as tx:
                if not rr.set_phase(tx, row.id, self.owner, rr.BroadcastPhase.ENUMERATING, self.clock.now(), self.lease_seconds,
                                    recipients=total, skipped=sum(skipped.values())):
                    log.warning("reminder %s %s: lease lost while enumerating", reminder.id, row.occurrence)
                    return
            self._work.set()
        with self.store.transaction() as tx:
            rr.set_phase(tx, row.id, self.owner, rr.BroadcastPhase.QUEUED, self.clock.now(), self.lease_seconds,
                         recipients=total, skipped=sum(skipped.values()))
        log.info("reminder %s %s: %d recipients (%d new in the outbox), skipped %d inactive, %d opted out",
                 reminder.id, row.occurrence, total, queued, skipped["inactive"], skipped["opted_out"])

    def _enqueue(self, messages: list[OutgoingMessage]) -> int:
        for attempt in range(5):
            try:
                with self.store.transaction() as tx:
                    return len(self.store.enqueue(tx, messages))
            except IntegrityError:
                # Another clock wrote some of the same keys at the same moment: the keys it wrote
                # are now visible, so the next attempt skips them.
                log.info("dedup race while enqueueing (attempt %d); retrying the page", attempt + 1)
        raise RuntimeError("could not enqueue a page after 5 attempts")

    # -- progress ---------------------------------------------------------------------------------

    def watch(self) -> int:
        """Log progress of the occurrences we hold, close the delivery window, finish what is done.
        Returns how many are still being delivered."""
        with self.store.engine.connect() as conn:
            held = rr.held_broadcasts(conn, self.owner)
        running = 0
        for row in held:
            origin = rr.origin_of(row.reminder_id, row.occurrence)
            now = self.clock.now()
            if now >= as_aware(row.deadline):
                with self.store.transaction() as tx:
                    expired = rr.expire_undelivered(tx, origin)
                if expired:
                    log.warning("reminder %s %s: delivery window closed; %d messages not sent", row.reminder_id,
                                row.occurrence, expired)
            with self.store.engine.connect() as conn:
                counts = rr.delivery_counts(conn, origin)
            left = counts.get(Status.PENDING, 0) + counts.get(Status.SENDING, 0)
            if left == 0:
                self._finish(row.id, origin, counts)
                continue
            running += 1
            with self.store.transaction() as tx:
                rr.set_phase(tx, row.id, self.owner, rr.BroadcastPhase.QUEUED, now, self.lease_seconds)
            if self.monotonic() - self._logged.get(row.id, -math.inf) >= self.progress_seconds:
                self._logged[row.id] = self.monotonic()
                log.info("reminder %s %s: sent %d / left %d / failed %d / expired %d", row.reminder_id,
                         row.occurrence, counts.get(Status.SENT, 0), left, counts.get(Status.FAILED, 0),
                         counts.get(Status.EXPIRED, 0))
        return running

    def _finish(self, broadcast_id: int, origin: str, counts: dict | None = None) -> None:
        with self.store.transaction() as tx:
            if counts is None:
                rr.expire_undelivered(tx, origin)
                counts = rr.delivery_counts(tx, origin)
            rr.finish_broadcast(tx, broadcast_id, self.owner, self.clock.now(), sent=counts.get(Status.SENT, 0),
                                failed=counts.get(Status.FAILED, 0), expired=counts.get(Status.EXPIRED, 0))
        log.info("%s finished: sent %d / failed %d / expired %d", origin, counts.get(Status.SENT, 0),
                 counts.get(Status.FAILED, 0), counts.get(Status.EXPIRED, 0))

    # -- sending ----------------------------------------------------------------------------------

    def _next_row(self):
        with self._rows_lock:
            if not self._rows:
                self._rows.extend(self.store.claim_outbox(self.owner, self.batch, self.lease_seconds,
                                                          min_priority=PRIORITY_BROADCAST))
            return self._rows.popleft() if self._rows else None

    def send_one(self, stop: threading.Event | None = None) -> str | None:
        """One paced send. Returns send_row's outcome, or None when nothing was due."""
        if not self.pacer.acquire(stop):
            return None
        row = self._next_row()
        if row is None:
            self.pacer.refund()
            return None
        result = self.sender.send_row(row)
        if result == SendOutcome.EXPIRED:
            self.pacer.refund()
        return result

    def drain(self, stop: threading.Event | None = None, max_messages: int | None = None) -> Counter:
        """Send until nothing is due (one thread; tests and the `send` command use it)."""
        results: Counter = Counter()
        while max_messages is None or sum(results.values()) < max_messages:
            result = self.send_one(stop)
            if result is None:
                break
            results[result] += 1
        return results

    def release(self) -> None:
        """Give back rows claimed but not sent (on a clean stop), so another clock need not wait."""
        with self._rows_lock:
            ids = [row.id for row in self._rows]
            self._rows.clear()
        if ids:
            with self.store.transaction() as tx:
                rr.release_rows(tx, ids, self.owner, self.clock.now())

    # -- loops ------------------------------------------------------------------------------------

    def step(self) -> int:
        """Enumerate what was requested, then report progress; returns occurrences still running."""
        self.take_requests()
        return self.watch()

    def run_until_done(self, broadcast_id: int, stop: threading.Event | None = None,
                       poll_seconds: float = 1.0) -> None:
        """Help send one occurrence until it is finished (by us, or by the clock that holds it)."""
        stop = stop or threading.Event()
        threads = self._start_senders(stop)
        try:
            while not stop.is_set():
                self.step()
                with self.store.engine.connect() as conn:
                    row = rr.get_broadcast(conn, broadcast_id)
                if row is None or row.status == Status.DONE:
                    return
                stop.wait(poll_seconds)
        finally:
            stop.set()
            for thread in threads:
                thread.join(10)
            self.release()

    def run_forever(self, stop: threading.Event, poll_seconds: float = 2.0) -> None:
        threads = self._start_senders(stop)
        log.info("broadcaster %s: %d sender(s), %d messages/min in total", self.owner, self.senders,
                 self.pacer.rate)
        try:
            while not stop.is_set():
                try:
                    self.step()
                except SQLAlchemyError as exc:
                    log.warning("broadcast pass failed: database error %s", type(exc).__name__)
                except Exception:
                    log.exception("broadcast pass failed")
                self._work.wait(poll_seconds)
                self._work.clear()
        finally:
            for thread in threads:
                thread.join(10)
            self.release()

    def _start_senders(self, stop: threading.Event) -> list[threading.Thread]:
        def loop():
            while not stop.is_set():
                try:
                    result = self.send_one(stop)
                except SQLAlchemyError as exc:
                    log.warning("broadcast send failed: database error %s", type(exc).__name__)
                    result = None
                except Exception:
                    log.exception("broadcast send failed")
                    result = None
                if result is None:
                    stop.wait(0.5)
        threads = [threading.Thread(target=loop, name=f"broadcast-sender-{i}", daemon=True)
                   for i in range(self.senders)]
        for thread in threads:
            thread.start()
        return threads
