"""The worker inside the web process: one thread that runs the loops, nothing else.

Each pass: housekeeping when due (start-up API calls, periodic tasks), then the inbox
(`InboxProcessor`), account actions (`AccountActionRunner`) and the outbox (`OutboxSender`). The
work itself lives in those pieces; this module decides only when they run: at once when woken (a
callback arrived, a row finished), every `poll_seconds` otherwise, and after callbacks while they
flood in (`IntakeGate`).
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from sqlalchemy.exc import SQLAlchemyError

from bot.account_actions import AccountActionRunner
from bot.dispatcher import Context, Dispatcher
from bot.errors import ApiError
from bot.inbox import InboxProcessor
from bot.outbox import OutboxSender, to_outgoing
from bot.owners import lease_owner
from bot.replies import Reply, Text
from bot.store import Store

log = logging.getLogger("bot.worker")

FLOOD_CHECK_SECONDS = 0.05


class IntakeGate:
    """Callbacks come first: LINE WORKS never resends one we fail to acknowledge in time, while an
    answer can wait. While callbacks flood in, the worker waits, at most `wait_seconds` at a stretch,
    then works `work_seconds`: a flood that never ends (or a replayed body sent over and over) slows
    answers down but cannot stop them."""

    def __init__(self, flooded: Callable[[], bool], wait_seconds: float = 30.0, work_seconds: float = 3.0):
        self.flooded = flooded
        self.wait_seconds = wait_seconds
        self.work_seconds = work_seconds
        self._work_until = float("-inf")

    def wait_out_flood(self, stop: threading.Event) -> float:
        """Wait while callbacks flood in (at most `wait_seconds`); the seconds waited."""
        started = time.monotonic()
        while self.flooded() and time.monotonic() - started < self.wait_seconds and not stop.is_set():
            stop.wait(FLOOD_CHECK_SECONDS)
        return time.monotonic() - started

    def give_way(self, stop: threading.Event) -> None:
        """Before each pass: wait out a flood. One that outlasts `wait_seconds` gets `work_seconds` of
        answers all the same, then the worker gives way again."""
        if time.monotonic() < self._work_until:
            return
        if self.wait_out_flood(stop) >= self.wait_seconds:
            self._work_until = time.monotonic() + self.work_seconds


class Housekeeping:
    """API set-up done once per process (the persistent menu), retried until it succeeds, and periodic
    tasks (tx, context) -> replies (expiring idle conversations...), at most every `every_seconds`."""

    def __init__(self, store: Store, client, make_context: Callable[..., Context], tasks: list[Callable] = (),
                 startup_calls: list[Callable] = (), every_seconds: float = 15.0):
        self.store = store
        self.client = client
        self.make_context = make_context
        self.tasks = list(tasks)
        self.startup_calls = list(startup_calls)
        self.every_seconds = every_seconds
        self._last_run = float("-inf")

    def run_due(self, force: bool = False) -> int:
        if not (self.tasks or self.startup_calls):
            return 0
        if not force and time.monotonic() - self._last_run < self.every_seconds:
            return 0
        self._last_run = time.monotonic()
        self._run_startup_calls()
        produced = 0
        for task in self.tasks:
            with self.store.transaction() as tx:
                replies = task(self.make_context(tx))
                self.store.enqueue(tx, to_outgoing(replies, None, f"periodic:{task.__name__}"))
                produced += len(replies)
        return produced

    def _run_startup_calls(self) -> None:
        for call in list(self.startup_calls):
            try:
                call(self.client)
            except ApiError as exc:
                log.warning("start-up call %s failed (%s %s); will retry", call.__name__, exc.status, exc.code)
                continue
            self.startup_calls.remove(call)
            log.info("start-up call %s done", call.__name__)


class Worker:
    def __init__(self, inbox: InboxProcessor, outbox: OutboxSender, actions: AccountActionRunner,
                 housekeeping: Housekeeping, gate: IntakeGate | None = None, poll_seconds: float = 0.5):
        self.inbox = inbox
        self.outbox = outbox
        self.actions = actions
        self.housekeeping = housekeeping
        self.gate = gate
        self.poll_seconds = poll_seconds
        # A finished row may have made more work (a reply to send, an outcome to handle): look again
        # at once instead of after `poll_seconds`.
        inbox.on_done = actions.on_finished = self.wake
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="bot-worker", daemon=True)
        self._thread.start()
        log.info("worker %s started", self.inbox.owner)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout)

    def wake(self) -> None:
        if not self._wake.is_set():  # called for every callback: setting an Event takes its lock
            self._wake.set()

    def run_once(self) -> int:
        return (self.housekeeping.run_due() + self.inbox.process_due() + self.actions.run_due()
                + self.outbox.drain())

    def run_until_idle(self, max_passes: int = 100) -> None:
        """For tests and tools: work until nothing is due."""
        for _ in range(max_passes):
            if not self.run_once():
                return

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.gate:
                self.gate.give_way(self._stop)
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


def web_worker(store: Store, client, dispatcher: Dispatcher, make_context: Callable[..., Context],
               error_reply: Callable[[], Reply] | None = None, periodic: list[Callable] = (),
               startup_calls: list[Callable] = (), owner: str | None = None) -> Worker:
    """The web process's worker: answers events, runs account actions, sends all but broadcasts."""
    owner = owner or lease_owner("web")
    return Worker(
        inbox=InboxProcessor(store, dispatcher, make_context, owner, error_reply=error_reply),
        outbox=OutboxSender(store, client, owner),
        actions=AccountActionRunner(store, client, owner),
        housekeeping=Housekeeping(store, client, make_context, periodic, startup_calls),
        gate=IntakeGate(store.intake_flooded),
    )


def error_reply_from(texts) -> Callable[[], Reply]:
    return lambda: Reply(Text(texts("platform.error")))
