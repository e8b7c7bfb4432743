"""Intake: keeping a verified callback before its 200. LINE WORKS never resends one we acknowledged,
so `keep` returns only once the callback is durable (or raises, and the webhook answers 503).

Two ways to keep, one interface:
- `JournalIntake` (SQLite): append to this process's intake journal file (bot/intake_journal.py);
  the worker moves finished records into the inbox (`collect`), one short transaction for many.
- `InboxIntake` (PostgreSQL): insert into the inbox through the group-commit writer
  (bot/inbox_writer.py).

Both own the same two guards: a replay of a body this process kept lately is answered "duplicate"
at once (and counts towards nothing), and a flood (FLOOD_CALLBACKS within FLOOD_SECONDS) is noted so
that the worker gives way to callbacks (bot/worker.py's IntakeGate). Internal events (an account
action finished) are not callbacks: the platform writes them inside its own transaction
(`Store.add_internal_event`).
"""
from __future__ import annotations

import collections
import threading
import time
from abc import ABC, abstractmethod
from datetime import datetime
from typing import Callable

from cachetools import LRUCache

from bot.inbox_writer import InboxWriter
from bot.intake_journal import IntakeJournal, JournalRow

# A flood: 20 callbacks within 0.1 s (200 a second) into one process. It counts as over 1 s after the
# last one was seen, so that a flood with short pauses does not set the worker going at each pause.
FLOOD_CALLBACKS, FLOOD_SECONDS, FLOOD_LINGER_SECONDS = 20, 0.1, 1.0
# Bodies this process kept lately: a replay of one is answered "duplicate" at once and, being no new
# event, does not count towards a flood. The oldest are forgotten first; the inbox still skips them.
RECENTLY_KEPT = 10_000


class Intake(ABC):
    def __init__(self) -> None:
        self._arrivals: collections.deque[float] = collections.deque(maxlen=FLOOD_CALLBACKS)
        self._flood_seen = float("-inf")
        self._recently_kept: LRUCache = LRUCache(RECENTLY_KEPT)
        self._lock = threading.Lock()

    def keep(self, body_hash: str, body: str, event_type: str) -> bool:
        """True once kept; False when the same raw body is known to be kept already (a duplicate).
        Raises SQLAlchemyError or OSError when it could not be kept."""
        with self._lock:
            if body_hash in self._recently_kept:
                return False
        self._count_arrival()
        kept = self._keep(body_hash, body, event_type)
        if kept:
            with self._lock:
                self._recently_kept[body_hash] = True
        return kept

    def flooded(self) -> bool:
        """Are callbacks flooding in, or did they within the last FLOOD_LINGER_SECONDS?"""
        return time.monotonic() - self._flood_seen < FLOOD_LINGER_SECONDS

    def collect(self) -> int:
        """Move kept callbacks into the inbox, where the worker claims them; how many were read."""
        return 0

    def _count_arrival(self) -> None:
        arrived = time.monotonic()
        self._arrivals.append(arrived)
        if len(self._arrivals) == FLOOD_CALLBACKS and arrived - self._arrivals[0] < FLOOD_SECONDS:
            self._flood_seen = arrived
            self._flood_noted()

    def _flood_noted(self) -> None:
        """Hook: tell other processes about the flood."""

    @abstractmethod
    def _keep(self, body_hash: str, body: str, event_type: str) -> bool:
        """Make the callback durable; False for a known duplicate."""


class InboxIntake(Intake):
    """PostgreSQL: one inbox row per callback, inserted by the group-commit writer."""

    def __init__(self, writer: InboxWriter):
        super().__init__()
        self.writer = writer

    def _keep(self, body_hash: str, body: str, event_type: str) -> bool:
        return self.writer.add(body_hash, body, event_type) is not None


class JournalIntake(Intake):
    """SQLite: appended to this process's journal; `collect` imports every finished journal file
    (this process's and those left by one that died) with `insert_rows`, which skips bodies already
    stored. A flood is marked in the journal directory, so every web process on the machine sees it."""

    def __init__(self, journal: IntakeJournal, insert_rows: Callable[[list[JournalRow]], int],
                 now: Callable[[], datetime]):
        super().__init__()
        self.journal = journal
        self.insert_rows = insert_rows
        self.now = now

    def _keep(self, body_hash: str, body: str, event_type: str) -> bool:
        self.journal.append(body_hash, body, event_type, self.now())  # older duplicates: skipped at import
        return True

    def flooded(self) -> bool:
        return super().flooded() or self.journal.flood_marked_within(FLOOD_LINGER_SECONDS)

    def collect(self) -> int:
        return self.journal.import_into(self.insert_rows)

    def _flood_noted(self) -> None:
        self.journal.mark_flood()
