"""Writing verified callbacks to the inbox: the only write on the path to a callback's 200.

What keeps it cheap without weakening "stored before acknowledged":
- Group commit. Callbacks arriving together in one process share a transaction: the first thread to
  find no write under way writes every row queued so far and commits once; the others wait for that
  commit. Each caller still returns only after its own row is committed.
- A connection of its own, detached from the pool, and the statement compiled once. The pool's
  per-checkout work cost more than the insert. A kept connection the server has closed is replaced and
  the batch written once more; after any other error the connection is dropped and the next write
  opens a new one, so a database that comes back is used again at once.
- On SQLite, a file lock taken around the write. Web processes writing at the same moment otherwise
  meet SQLite's busy handler, which sleeps 1, 2, 5... ms between retries; flock hands the lock to the
  next waiter as soon as it is free. Durability is the engine's (WAL, synchronous=NORMAL): a committed
  row survives the process being killed, not a power cut of the machine in the next moments; see the
  README (PostgreSQL syncs every commit).

A body already stored (same SHA-256) is not inserted again (ON CONFLICT DO NOTHING): None is returned.
A database error reaches every caller of the batch as an SQLAlchemy error (the driver's own errors
wrapped in OperationalError): the webhook answers 503.
"""
from __future__ import annotations

import collections
import contextlib
import fcntl
import logging
import os
import threading
import time
from datetime import datetime
from typing import Callable

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError

log = logging.getLogger("bot.inbox")

_INSERT_BY_DIALECT = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}
STREAM_CALLBACKS, STREAM_SECONDS = 20, 0.1
_COLUMNS = ("body_hash", "body", "event_type", "received_at", "status", "attempts", "next_attempt_at")


class _Pending:
    __slots__ = ("params", "row_id", "error", "done")

    def __init__(self, params):
        self.params = params
        self.row_id: int | None = None
        self.error: Exception | None = None
        self.done = False


class _FileLock:
    """An exclusive flock on a file beside the SQLite database, shared by the processes that use it.

    Opened on first use in each process: a descriptor inherited through fork would share its lock
    with the parent instead of excluding it.
    """

    def __init__(self, path: str):
        self._path = path
        self._fd: int | None = None
        self._pid: int | None = None

    @contextlib.contextmanager
    def held(self):
        if self._pid != os.getpid():
            self._pid = os.getpid()
            try:
                self._fd = os.open(self._path, os.O_CREAT | os.O_RDWR, 0o600)
            except OSError as exc:  # SQLite still serialises the writers, only less promptly
                log.warning("no intake lock file (%s); SQLite's own locking alone", type(exc).__name__)
                self._fd = None
        if self._fd is None:
            yield
            return
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)


class InboxWriter:
    """One per process (built by the Store); `add` is called by the webhook's request threads."""

    def __init__(self, engine: Engine, table: Table, now: Callable[[], datetime]):
        self._engine = engine
        self._now = now
        # SQLite: an autocommit connection, so that a lone row is one statement (no BEGIN/COMMIT),
        # and the new id from lastrowid. PostgreSQL: RETURNING and a commit.
        self._is_sqlite = engine.dialect.name == "sqlite"
        statement = _INSERT_BY_DIALECT[engine.dialect.name](table).on_conflict_do_nothing(
            index_elements=[table.c.body_hash])
        if not self._is_sqlite:
            statement = statement.returning(table.c.id)
        compiled = statement.compile(dialect=engine.dialect, column_keys=list(_COLUMNS))
        self._sql = compiled.string
        self._positions = compiled.positiontup if compiled.positional else None
        # The column types' own conversions, so rows look exactly as SQLAlchemy writes them.
        processors = {key: table.c[key].type.bind_processor(engine.dialect) for key in _COLUMNS}
        self._processors = {key: fn for key, fn in processors.items() if fn is not None}
        database = engine.url.database
        self._file_lock = (_FileLock(f"{database}-intake.lock")
                           if self._is_sqlite and database and database != ":memory:" else None)
        self._lock = threading.Condition()  # guards the queue and `_writing`; waiters wait on it
        self._queue: list[_Pending] = []
        self._writing = False
        self._connection = None
        self._connection_pid: int | None = None
        self._arrivals: collections.deque[float] = collections.deque(maxlen=STREAM_CALLBACKS)

    def add(self, body_hash: str, body: str, event_type: str) -> int | None:
        """Store one verified callback; its row id once committed, None for a body already stored."""
        self._arrivals.append(time.monotonic())
        now = self._now()
        item = _Pending(self._bind({"body_hash": body_hash, "body": body, "event_type": event_type,
                                    "received_at": now, "status": "pending", "attempts": 0, "next_attempt_at": now}))
        with self._lock:
            self._queue.append(item)
            while self._writing and not item.done:
                self._lock.wait()
            if item.done:  # written by another thread's batch
                return self._result(item)
            self._writing, batch, self._queue = True, self._queue, []
        try:
            self._write(batch)
        finally:
            with self._lock:
                self._writing = False
                self._lock.notify_all()
        return self._result(item)

    def busy(self) -> bool:
        """Are callbacks streaming into this process: STREAM_CALLBACKS of them within the last
        STREAM_SECONDS (200 a second)? Far above what a company's employees send: a flood."""
        arrivals = self._arrivals
        return len(arrivals) == STREAM_CALLBACKS and time.monotonic() - arrivals[0] < STREAM_SECONDS

    def _bind(self, params: dict):
        for key, process in self._processors.items():
            params[key] = process(params[key])
        return params if self._positions is None else tuple(params[key] for key in self._positions)

    @staticmethod
    def _result(item: _Pending) -> int | None:
        if item.error is not None:
            raise item.error
        return item.row_id

    def _write(self, batch: list[_Pending]) -> None:
        try:
            kept = self._connection is not None and self._connection_pid == os.getpid()
            try:
                self._write_on(self._connection if kept else self._connect(), batch)
            except Exception as exc:
                if not (kept and self._engine.dialect.is_disconnect(exc, self._connection, None)):
                    raise
                # The server closed our kept connection (restart, idle timeout): once more on a new one.
                # Safe: a row that did commit comes back as None (already stored), never twice.
                log.info("inbox connection lost (%s); writing on a new one", type(exc).__name__)
                self._drop_connection()
                self._write_on(self._connect(), batch)
        except BaseException as exc:  # the driver's own errors are not SQLAlchemy's: wrap them
            self._drop_connection()
            error = exc if isinstance(exc, SQLAlchemyError) else OperationalError(None, None, exc)
            for item in batch:
                item.row_id, item.error = None, error
            if not isinstance(exc, Exception):
                raise  # (after the finally) the waiting callers still get their error, never a silent None
        finally:
            for item in batch:
                item.done = True

    def _write_on(self, connection, batch: list[_Pending]) -> None:
        with self._file_lock.held() if self._file_lock else contextlib.nullcontext():
            cursor = connection.cursor()
            try:
                self._insert(cursor, connection, batch)
            finally:
                cursor.close()

    def _insert(self, cursor, connection, batch: list[_Pending]) -> None:
        if not self._is_sqlite:
            for item in batch:
                cursor.execute(self._sql, item.params)
                row = cursor.fetchone()
                item.row_id = int(row[0]) if row else None
            connection.commit()
            return
        if len(batch) > 1:
            cursor.execute("BEGIN")
        for item in batch:
            cursor.execute(self._sql, item.params)
            item.row_id = cursor.lastrowid if cursor.rowcount == 1 else None  # 0 rows: already stored
        if len(batch) > 1:
            cursor.execute("COMMIT")

    def _connect(self):
        if self._connection_pid != os.getpid():
            self._connection = None  # inherited through fork: the parent's, not ours to close
        pooled = self._engine.raw_connection()  # the engine's connect arguments and pragmas apply
        pooled.detach()  # ours for good: neither returned to nor counted by the pool
        connection = pooled.dbapi_connection
        if self._is_sqlite:
            connection.isolation_level = None  # autocommit; batches say BEGIN/COMMIT
        self._connection, self._connection_pid = connection, os.getpid()
        return connection

    def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and self._connection_pid == os.getpid():
            try:
                connection.close()
            except Exception:  # already broken; nothing to keep
                pass
