"""Storage: SQLAlchemy tables and the queries the platform runs on them.

SQLite file by default, PostgreSQL through DATABASE_URL. The schema itself is created and upgraded
by the Alembic migrations in migrations/; the Table objects here describe it for queries.

Times are stored as naive UTC. Rows are claimed with a lease: a claim is a compare-and-set UPDATE
(only a pending row, or one whose lease has run out, can be taken), and on PostgreSQL the candidate
rows are first selected FOR UPDATE SKIP LOCKED so that several processes do not queue on each other.
"""
from __future__ import annotations

import hashlib
import json
import logging
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    create_engine,
    delete,
    event,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine

from bot.inbox_writer import InboxWriter
from bot.intake import InboxIntake, Intake, JournalIntake
from bot.intake_journal import IntakeJournal, JournalRow
from bot.owners import is_dead_here
from bot.private_files import sqlite_path
from bot.status import Status

log = logging.getLogger("bot.store")

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
Id = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData()

inbox = Table(
    "inbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("body_hash", String(64), nullable=False, unique=True),
    Column("body", Text, nullable=False),
    Column("event_type", String(32), nullable=False),
    Column("received_at", DateTime, nullable=False),
    Column("status", String(16), nullable=False, index=True),  # pending, processing, done, failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime, nullable=False),
    Column("lease_owner", String(64)),
    Column("lease_until", DateTime),
    Column("finished_at", DateTime),
    Column("last_error", String(300)),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("created_at", DateTime, nullable=False),
    Column("recipient_kind", String(8), nullable=False),  # user | channel
    Column("recipient_id", String(200), nullable=False),
    Column("contents", Text, nullable=False),  # JSON list of message contents, sent in order
    Column("parts_sent", Integer, nullable=False, default=0),
    Column("priority", Integer, nullable=False, default=0),  # lower is sent first
    Column("urgent", Boolean, nullable=False, default=False),
    Column("must_deliver", Boolean, nullable=False, default=False),
    Column("status", String(16), nullable=False, index=True),  # pending, sending, sent, failed, expired
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Column("lease_owner", String(64)),
    Column("lease_until", DateTime),
    Column("sent_at", DateTime),
    Column("last_error", String(300)),
    Column("origin", String(100)),
    Column("dedup_key", String(200), unique=True),
)


def fit(value: str, column) -> str:
    """A value cut to what its column holds (PostgreSQL refuses a longer one; the write would fail on
    every retry)."""
    return value[:column.type.length]


def release(conn: Connection, table: Table, row_id: int, owner: str, status: Status, working: Status | None = None,
            **values) -> bool:
    """End our lease on a claimed row (compare-and-set on the owner, and on the working state when
    given), leaving it in `status` with `values` written. False when the lease was lost to another
    process: the caller's work must then not count."""
    condition = [table.c.id == row_id, table.c.lease_owner == owner]
    if working is not None:
        condition.append(table.c.status == working)
    result = conn.execute(update(table).where(*condition)
                          .values(status=status, lease_owner=None, lease_until=None, **values))
    return result.rowcount == 1


def retry_at(conn: Connection, table: Table, row_id: int, owner: str, when: datetime, **values) -> bool:
    """Hand a claimed row back, to be claimed again from `when` (aware or naive UTC)."""
    due = utc_naive(when) if when.tzinfo else when
    return release(conn, table, row_id, owner, Status.PENDING, next_attempt_at=due, **values)


def utc_naive(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def as_aware(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.replace(tzinfo=timezone.utc)


class _NoResultRows(logging.Filter):
    """SQLAlchemy's engine logger at DEBUG prints every result row ("Row (...)"): report details."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.startswith("Row "))


def _hide_result_rows() -> None:
    engine_logger = logging.getLogger("sqlalchemy.engine.Engine")
    if not any(isinstance(f, _NoResultRows) for f in engine_logger.filters):
        engine_logger.addFilter(_NoResultRows())


def make_engine(url: str) -> Engine:
    _hide_result_rows()  # whoever turns SQL logging on later
    # hide_parameters: statement parameters are report details and FAQ questions; they must not reach
    # the logs, neither through SQLAlchemy's own (INFO/DEBUG) logging nor in a logged exception's text.
    if url.startswith("sqlite"):
        # Pooled connections, each used by one thread at a time; the file handles concurrency itself
        # (WAL + busy timeout, set below). Reusing connections matters: opening one per transaction
        # (and checkpointing the WAL when the last closes) tripled the cost of storing a callback.
        engine = create_engine(url, pool_size=8, max_overflow=8, pool_timeout=30, hide_parameters=True,
                               connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5, pool_timeout=5, hide_parameters=True)


@dataclass(frozen=True)
class InboxRow:
    id: int
    body: str
    event_type: str
    attempts: int
    received_at: datetime

    @property
    def internal(self) -> bool:
        return self.event_type.startswith("internal/")


@dataclass(frozen=True)
class OutboxRow:
    id: int
    recipient_kind: str
    recipient_id: str
    contents: list[dict]
    parts_sent: int
    priority: int
    urgent: bool
    must_deliver: bool
    attempts: int
    expires_at: datetime
    origin: str | None


@dataclass(frozen=True)
class OutgoingMessage:
    """One outbox row to be written: one recipient, its contents in order."""

    recipient_kind: str
    recipient_id: str
    contents: list[dict]
    priority: int = 0
    urgent: bool = False
    must_deliver: bool = False
    not_before: datetime | None = None
    ttl: timedelta = timedelta(hours=1)
    origin: str | None = None
    dedup_key: str | None = None


def journal_directory(database_url: str) -> Path | None:
    """Where a SQLite file's intake journal lives (beside the file); None for any other database."""
    database = sqlite_path(database_url)
    return database.with_name(database.name + "-intake") if database else None


class Store:
    """The platform's tables and the one lease primitive (`claim`). `journal`: the intake journal
    callbacks are appended to (SQLite file); without one, each callback is inserted into the inbox
    directly (PostgreSQL). Either way `intake` (bot/intake.py) keeps them."""

    def __init__(self, engine: Engine, clock, journal: IntakeJournal | None = None):
        self.engine = engine
        self.clock = clock
        self.is_postgres = engine.dialect.name == "postgresql"
        self.journal = journal
        self.inbox_writer = InboxWriter(engine, inbox, self.now)
        self.intake: Intake = (JournalIntake(journal, self._insert_journal_rows, self.now) if journal is not None
                               else InboxIntake(self.inbox_writer))

    def now(self) -> datetime:
        return utc_naive(self.clock.now())

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception as exc:  # any driver error means "not available"
            log.warning("database ping failed: %s", type(exc).__name__)
            return False

    # -- claiming -------------------------------------------------------------------------------

    def claim(self, table: Table, owner: str, limit: int, lease_seconds: float, working: str = Status.PROCESSING,
              ready=True, order_by=None) -> list:
        """Claim up to `limit` due rows of a table with status/lease columns; returns the rows."""
        now = self.now()
        order_by = order_by or (table.c.id,)
        with self.transaction() as conn:
            # rows held by a process of this machine that has died are taken at once (bot/owners.py)
            dead = [o for (o,) in conn.execute(select(table.c.lease_owner).distinct().where(
                table.c.status == working, table.c.lease_until >= now)) if is_dead_here(o)]
            claimable = or_(
                and_(table.c.status == Status.PENDING, table.c.next_attempt_at <= now),
                and_(table.c.status == working, table.c.lease_until < now),
                and_(table.c.status == working, table.c.lease_owner.in_(dead)),
            )
            if dead:
                log.warning("taking over %s rows of %d dead process(es) on this machine", table.name, len(dead))
            query = select(table.c.id).where(claimable, ready).order_by(*order_by).limit(limit)
            if self.is_postgres:
                query = query.with_for_update(skip_locked=True)
            ids = [row.id for row in conn.execute(query)]
            claimed = []
            for row_id in ids:
                # Compare-and-set: only succeeds while the row is still claimable.
                result = conn.execute(
                    update(table)
                    .where(table.c.id == row_id, claimable)
                    .values(status=working, lease_owner=owner, lease_until=now + timedelta(seconds=lease_seconds),
                            attempts=table.c.attempts + 1)
                )
                if result.rowcount == 1:
                    claimed.append(row_id)
            if not claimed:
                return []
            return list(conn.execute(select(table).where(table.c.id.in_(claimed)).order_by(*order_by)))

    # -- inbox ----------------------------------------------------------------------------------

    def add_inbox(self, body_hash: str, body: str, event_type: str) -> bool:
        """Keep a verified callback before it is acknowledged (see bot/intake.py)."""
        return self.intake.keep(body_hash, body, event_type)

    def intake_flooded(self) -> bool:
        return self.intake.flooded()

    def import_journal(self) -> int:
        """Move journalled callbacks into the inbox; the number of callbacks read."""
        return self.intake.collect()

    def _insert_journal_rows(self, rows: list[JournalRow]) -> int:
        # Journals exist on SQLite only. A body already stored (a replay, or a file imported twice
        # after a crash between commit and delete) is skipped, not an error.
        statement = sqlite_insert(inbox).on_conflict_do_nothing(index_elements=[inbox.c.body_hash])
        with self.transaction() as conn:
            return conn.execute(statement, rows).rowcount

    def add_internal_event(self, conn: Connection, kind: str, payload: dict, key: str) -> None:
        """An event the bot raises itself (e.g. an account action finished), handled like a callback.

        Stored as event_type "internal/<kind>", which no callback can produce: the webhook only stores
        the documented event types.
        """
        body = json.dumps({"type": kind, **payload}, ensure_ascii=False)
        digest = hashlib.sha256(f"internal:{key}".encode()).hexdigest()
        now = self.now()
        exists = conn.execute(select(inbox.c.id).where(inbox.c.body_hash == digest)).first()
        if not exists:
            conn.execute(insert(inbox).values(body_hash=digest, body=body, event_type=f"internal/{kind}",
                                              received_at=now, status=Status.PENDING, attempts=0, next_attempt_at=now))

    def claim_inbox(self, owner: str, limit: int = 10, lease_seconds: float = 60) -> list[InboxRow]:
        self.import_journal()  # callbacks acknowledged since the last claim, from every finished file
        rows = self.claim(inbox, owner, limit, lease_seconds)
        return [InboxRow(r.id, r.body, r.event_type, r.attempts, as_aware(r.received_at)) for r in rows]

    def finish_inbox(self, conn: Connection, row_id: int, owner: str, status: str = Status.DONE,
                     error: str | None = None) -> bool:
        """Close a claimed row inside the caller's transaction; False if our lease was lost."""
        return release(conn, inbox, row_id, owner, status, working=Status.PROCESSING, finished_at=self.now(),
                       last_error=error[:300] if error else None)

    def retry_inbox(self, row_id: int, owner: str, error: str, delay_seconds: float) -> None:
        with self.transaction() as conn:
            retry_at(conn, inbox, row_id, owner, self.now() + timedelta(seconds=delay_seconds), last_error=error[:300])

    def inbox_counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(inbox.c.status, func.count()).group_by(inbox.c.status))
            return {status: count for status, count in rows}

    # -- outbox ---------------------------------------------------------------------------------

    def enqueue(self, conn: Connection, messages: list[OutgoingMessage]) -> list[int]:
        """Write outbox rows in the caller's transaction. A repeated dedup_key is skipped."""
        now = self.now()
        ids = []
        for message in messages:
            values = dict(
                created_at=now, recipient_kind=message.recipient_kind, recipient_id=message.recipient_id,
                contents=json.dumps(message.contents, ensure_ascii=False), parts_sent=0,
                priority=message.priority, urgent=message.urgent, must_deliver=message.must_deliver,
                status=Status.PENDING, attempts=0,
                next_attempt_at=utc_naive(message.not_before) if message.not_before else now,
                expires_at=now + message.ttl, origin=message.origin, dedup_key=message.dedup_key,
            )
            if message.dedup_key is not None:
                exists = conn.execute(select(outbox.c.id).where(outbox.c.dedup_key == message.dedup_key)).first()
                if exists:
                    continue
            ids.append(int(conn.execute(insert(outbox).values(**values)).inserted_primary_key[0]))
        return ids

    def claim_outbox(self, owner: str, limit: int = 10, lease_seconds: float = 120,
                     max_priority: int | None = None, min_priority: int | None = None) -> list[OutboxRow]:
        ready = True if max_priority is None else outbox.c.priority <= max_priority
        if min_priority is not None:  # the clock process takes only broadcast rows
            ready = and_(ready, outbox.c.priority >= min_priority)
        rows = self.claim(outbox, owner, limit, lease_seconds, working=Status.SENDING, ready=ready,
                          order_by=(outbox.c.priority, outbox.c.id))
        return [
            OutboxRow(r.id, r.recipient_kind, r.recipient_id, json.loads(r.contents), r.parts_sent, r.priority,
                      r.urgent, r.must_deliver, r.attempts, as_aware(r.expires_at), r.origin)
            for r in rows
        ]


    def record_part_sent(self, row_id: int, owner: str, parts_sent: int) -> None:
        """Progress within a multi-part row, so a crash does not resend the parts already sent."""
        with self.transaction() as conn:
            conn.execute(update(outbox).where(outbox.c.id == row_id, outbox.c.lease_owner == owner)
                         .values(parts_sent=parts_sent))

    def mark_sent(self, row_id: int, owner: str) -> bool:
        with self.transaction() as conn:
            return release(conn, outbox, row_id, owner, Status.SENT, sent_at=self.now(), last_error=None)

    def reschedule(self, row_id: int, owner: str, error: str, delay_seconds: float) -> bool:
        with self.transaction() as conn:
            return retry_at(conn, outbox, row_id, owner, self.now() + timedelta(seconds=delay_seconds),
                            last_error=error[:300])

    def mark_failed(self, row_id: int, owner: str, error: str, status: Status = Status.FAILED) -> bool:
        with self.transaction() as conn:
            return release(conn, outbox, row_id, owner, status, last_error=error[:300])

    def outbox_counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status))
            return {status: count for status, count in rows}

    def outbox_waiting(self, max_priority: int) -> int:
        """Messages of at least this priority that are due now (interactive traffic waiting)."""
        with self.engine.connect() as conn:
            return conn.execute(
                select(func.count()).select_from(outbox).where(
                    outbox.c.status.in_((Status.PENDING, Status.SENDING)), outbox.c.priority <= max_priority,
                    outbox.c.next_attempt_at <= self.now())
            ).scalar_one()

    # -- retention ------------------------------------------------------------------------------

    def purge_before(self, cutoff: datetime) -> dict[str, int]:
        """Delete finished inbox and outbox rows older than the cutoff (personal data retention)."""
        cutoff = utc_naive(cutoff)
        with self.transaction() as conn:
            gone_in = conn.execute(delete(inbox).where(inbox.c.received_at < cutoff,
                                                       inbox.c.status.in_((Status.DONE, Status.FAILED)))).rowcount
            gone_out = conn.execute(delete(outbox).where(outbox.c.created_at < cutoff,
                                                         outbox.c.status.in_((Status.SENT, Status.FAILED, Status.EXPIRED)))).rowcount
        return {"inbox": gone_in, "outbox": gone_out}
