"""The intake journal: on a SQLite file, verified callbacks are appended to a file per web process
before their 200, and the worker moves them into the inbox table.

Why: a SQLite transaction per callback cost more than the rest of the request (and its lock is
shared by all web processes), while one appended record costs a single write(2). The record is in the
page cache when write(2) returns, so an acknowledged callback survives the process being killed, as
a committed SQLite row does at synchronous=NORMAL; neither survives a power cut in the next moments.
PostgreSQL keeps the direct insert: its server may be the only durable storage a platform gives.

Files live in `<database file>-intake/`, named `<time ns>-<pid>.journal` (created as `.new` and
renamed once locked). A record is a header line, the JSON array [body_hash, event_type, received_at
(ISO, naive UTC), body length in bytes], then the body as received and a newline. The process
appending to a file holds an exclusive flock on it; any file nobody holds is finished (rotated, or
left by a process that died) and whoever takes its lock imports it: its complete records are inserted
into the inbox in one transaction (a body already stored is skipped by its hash), then the file is
deleted. Importing the same file twice, after a crash between commit and delete, therefore stores
nothing twice. A record cut short by a failed write was never acknowledged, and nothing is written
after it: it is dropped with a log line, as is a record whose body does not match its SHA-256.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import threading
import time
import weakref
from datetime import datetime
from pathlib import Path
from typing import Callable

from bot.status import Status

log = logging.getLogger("bot.intake")

SUFFIX, NEW_SUFFIX = ".journal", ".new"
ABANDONED_AFTER_SECONDS = 60
MAX_FILE_BYTES = 64 * 1024 * 1024  # then the next record starts a new file: imports stay a bounded read
FLOOD_FILE, FLOOD_MARK_SECONDS = "flood", 0.05
JournalRow = dict  # the inbox columns of one callback, as Store._insert_journal_rows takes them


class IntakeJournal:
    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self._lock = threading.Lock()  # one writer at a time: appends, and the swap of files
        self._fd: int | None = None
        self._name: str | None = None
        self._written = 0
        self._flood_marked = 0.0
        _forget_after_fork(self)

    def append(self, body_hash: str, body: str, event_type: str, received_at: datetime) -> None:
        """Keep one verified callback; returns once the record is written. Raises OSError otherwise."""
        data = body.encode("utf-8")
        header = json.dumps([body_hash, event_type, received_at.isoformat(), len(data)])
        record = b"%s\n%s\n" % (header.encode("ascii"), data)
        with self._lock:
            fd = self._current_file()
            try:
                written = os.write(fd, record)
            except OSError:
                self._close_current()  # a part of the record may be there: nothing more goes after it
                raise
            if written != len(record):  # disk full part-way: the cut record is dropped at import
                self._close_current()
                raise OSError(f"journal write cut short ({written} of {len(record)} bytes)")
            self._written += written
            if self._written >= MAX_FILE_BYTES:
                self._close_current()

    def import_into(self, store_rows: Callable[[list[JournalRow]], int]) -> int:
        """Move every finished file into the inbox through `store_rows` (one transaction per file,
        returning the rows it stored); this process's own file is finished first if it holds records.
        A file that cannot be imported now stays for the next pass and does not hold up the others.
        Returns the number of records read."""
        with self._lock:
            if self._written:
                self._close_current()
        try:
            names = sorted(os.listdir(self.directory))
        except FileNotFoundError:
            return 0
        records = 0
        for name in names:
            path = self.directory / name
            if name.endswith(SUFFIX) and name != self._name:
                try:
                    records += self._import_file(path, store_rows)
                except Exception as exc:  # the database busy or away: the file is kept, tried again
                    log.warning("intake journal %s not imported now (%s); kept for the next pass",
                                name, type(exc).__name__)
            elif name.endswith(NEW_SUFFIX):
                self._remove_if_abandoned(path)
        return records

    def mark_flood(self) -> None:
        """Tell every process on this machine that callbacks are flooding in (they share its CPU):
        the flood file's modification time, touched at most every FLOOD_MARK_SECONDS."""
        now = time.time()
        if now - self._flood_marked < FLOOD_MARK_SECONDS:
            return
        self._flood_marked = now
        path = self.directory / FLOOD_FILE
        try:
            try:
                os.utime(path)
            except FileNotFoundError:  # the first flood here
                self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        except OSError:  # only a hint: the worker of the flooded process still knows
            pass

    def flood_marked_within(self, seconds: float) -> bool:
        try:
            return time.time() - os.stat(self.directory / FLOOD_FILE).st_mtime < seconds
        except OSError:
            return False

    # -- files ------------------------------------------------------------------------------------

    def _current_file(self) -> int:
        if self._fd is None:
            # Created under a name importers ignore, locked, and only then given its importable name:
            # an importer can never take (and delete) a file before its owner holds it.
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            stem = f"{time.time_ns():020d}-{os.getpid()}"
            fd = os.open(self.directory / (stem + NEW_SUFFIX), os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL,
                         0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                os.rename(self.directory / (stem + NEW_SUFFIX), self.directory / (stem + SUFFIX))
            except OSError:
                os.close(fd)
                raise
            self._fd, self._name, self._written = fd, stem + SUFFIX, 0
        return self._fd

    def _close_current(self) -> None:
        fd, self._fd, self._name, self._written = self._fd, None, None, 0
        if fd is not None:
            os.close(fd)  # releases the lock: the file is finished and can be imported

    def _after_fork_in_child(self) -> None:
        """A forked child must not append to its parent's file, nor keep the parent's lock on it alive."""
        self._lock = threading.Lock()
        fd, self._fd, self._name, self._written = self._fd, None, None, 0
        if fd is not None:
            os.close(fd)  # the child's copy only: the parent still holds its own lock

    def _import_file(self, path: Path, store_rows: Callable[[list[JournalRow]], int]) -> int:
        fd = _take(path)
        if fd is None:
            return 0
        try:
            if os.fstat(fd).st_nlink == 0:  # another process imported and deleted it after we opened it
                return 0
            with os.fdopen(os.dup(fd), "rb") as file:
                data = file.read()
            rows = self._parse(path.name, data)
            stored = store_rows(rows) if rows else 0
            path.unlink()
            log.info("intake journal %s imported: %d callbacks, %d new", path.name, len(rows), stored)
            return len(rows)
        finally:
            os.close(fd)

    @staticmethod
    def _remove_if_abandoned(path: Path) -> None:
        """A file still under its first name a minute after its creation: its creator died before
        naming it, and nothing was appended to it."""
        try:
            if time.time() - path.stat().st_mtime < ABANDONED_AFTER_SECONDS:
                return
        except FileNotFoundError:
            return
        fd = _take(path)
        if fd is None:
            return
        try:
            path.unlink(missing_ok=True)
        finally:
            os.close(fd)

    @staticmethod
    def _parse(name: str, data: bytes) -> list[JournalRow]:
        rows, position = [], 0
        while position < len(data):
            try:
                header_end = data.index(b"\n", position)
                body_hash, event_type, received_at, length = json.loads(data[position:header_end])
                body_end = header_end + 1 + length
                if data[body_end:body_end + 1] != b"\n":
                    raise ValueError("record cut short")
                raw = data[header_end + 1:body_end]
                body = raw.decode("utf-8")
                received = datetime.fromisoformat(received_at)
            except (ValueError, TypeError) as exc:  # the last write failed part-way
                log.warning("intake journal %s: %d bytes at the end do not form a record (%s); dropped",
                            name, len(data) - position, type(exc).__name__)
                break
            position = body_end + 1
            if hashlib.sha256(raw).hexdigest() != body_hash:
                log.error("intake journal %s: a record whose body does not match its hash; dropped", name)
                continue
            rows.append({"body_hash": body_hash, "body": body, "event_type": event_type,
                         "received_at": received, "status": Status.PENDING, "attempts": 0,
                         "next_attempt_at": received})
        return rows


def _take(path: Path) -> int | None:
    """A descriptor of the file holding its exclusive lock; None when the file is gone or someone
    holds it (its owner still appending, or another process importing it)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _forget_after_fork(journal: IntakeJournal) -> None:
    reference = weakref.ref(journal)

    def after_fork_in_child() -> None:
        alive = reference()
        if alive is not None:
            alive._after_fork_in_child()

    os.register_at_fork(after_in_child=after_fork_in_child)
