"""Inserting verified callbacks into the inbox, one transaction per group: the path to a callback's
200 on PostgreSQL (a SQLite file appends to the intake journal instead, see intake_journal.py).

What keeps it cheap without weakening "stored before acknowledged":
- Group commit. Callbacks arriving together in one process share a transaction: the first thread to
  find no write under way writes every row queued so far and commits once; the others wait for that
  commit. Each caller still returns only after its own row is committed.
- A connection of its own, detached from the pool, and the statement compiled once. The pool's
  per-checkout work cost more than the insert. A kept connection the server has closed is replaced and
  the batch written once more; after any other error the connection is dropped and the next write
  opens a new one, so a database that comes back is used again at once.

A body already stored (same SHA-256) is not inserted again (ON CONFLICT DO NOTHING): None is returned.
A database error reaches every caller of the batch as an SQLAlchemy error (the driver's own errors
wrapped in OperationalError): the webhook answers 503.
"""
from __future__ import annotations

import logging
import os
import threading
from datetime import datetime
from typing import Callable

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from bot.status import Status

log = logging.getLogger("bot.inbox")

_INSERT_BY_DIALECT = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}
_COLUMNS = ("body_hash", "body", "event_type", "received_at", "status", "attempts", "next_attempt_at")


class _Pending:
    __slots__ = ("params", "row_id", "error", "done")

    def __init__(self, params):
        self.params = params
        self.row_id: int | None = None
        self.error: Exception | None = None
        self.done = False


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
        self._lock = threading.Condition()  # guards the queue and `_writing`; waiters wait on it
        self._queue: list[_Pending] = []
        self._writing = False
        self._connection = None
        self._connection_pid: int | None = None

    def add(self, body_hash: str, body: str, event_type: str) -> int | None:
        """Store one verified callback; its row id once committed, None for a body already stored."""
        now = self._now()
        item = _Pending(self._bind({"body_hash": body_hash, "body": body, "event_type": event_type,
                                    "received_at": now, "status": Status.PENDING, "attempts": 0, "next_attempt_at": now}))
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
