"""Reminder records: broadcast occurrences and opt-outs, plus the outbox queries the broadcast
pacing needs. Functions take the caller's connection (see handlers/records.py for the same habit).

A broadcast row is one occurrence of one reminder (reminder id + local date, unique). Its status
follows the claim protocol of `Store.claim` (pending -> running under a lease -> done), so a clock
that dies mid-broadcast leaves a row that the next clock claims again once the lease runs out; its
phase says how far it got (requested, enumerating, queued, finished). Deliveries themselves are
outbox rows whose dedup key names reminder, occurrence and recipient: the delivery ledger.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import Column, DateTime, Integer, String, Table, UniqueConstraint, delete, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from bot.status import Status
from bot.store import Id, metadata, outbox, release, utc_naive


class BroadcastPhase(StrEnum):
    """How far an occurrence got; its `status` (bot/status.py) says whether a clock holds it."""

    REQUESTED = "requested"
    ENUMERATING = "enumerating"  # the audience is being read and its outbox rows written
    QUEUED = "queued"  # every delivery is in the outbox
    FINISHED = "finished"


broadcasts = Table(
    "broadcasts", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("reminder_id", String(40), nullable=False),
    Column("occurrence", String(10), nullable=False),  # local date, YYYY-MM-DD
    Column("status", String(16), nullable=False, index=True),  # pending, running, done
    Column("phase", String(16), nullable=False),  # requested, enumerating, queued, finished
    Column("requested_by", String(200), nullable=False),  # "schedule", "cli", or an admin's user id
    Column("scheduled_for", DateTime, nullable=False),
    Column("deadline", DateTime, nullable=False),  # nothing of it is delivered after this
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("finished_at", DateTime),
    Column("recipients", Integer, nullable=False, default=0),
    Column("skipped", Integer, nullable=False, default=0),
    Column("sent", Integer, nullable=False, default=0),
    Column("failed", Integer, nullable=False, default=0),
    Column("expired", Integer, nullable=False, default=0),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime, nullable=False),
    Column("lease_owner", String(64)),
    Column("lease_until", DateTime),
    Column("last_error", String(300)),
    UniqueConstraint("reminder_id", "occurrence", name="uq_broadcasts_occurrence"),
)

reminder_opt_outs = Table(
    "reminder_opt_outs", metadata,
    Column("user_id", String(200), primary_key=True),
    Column("at", DateTime, nullable=False),
)

ORIGIN_PREFIX = "reminder:"


def origin_of(reminder_id: str, occurrence: str) -> str:
    return f"{ORIGIN_PREFIX}{reminder_id}:{occurrence}"


def dedup_key(reminder_id: str, occurrence: str, kind: str, recipient_id: str) -> str:
    return f"{ORIGIN_PREFIX}{reminder_id}:{occurrence}:{kind}:{recipient_id}"


# -- opt-outs ------------------------------------------------------------------------------------

def opt_out(conn: Connection, user_id: str, at: datetime) -> bool:
    """Record an opt-out; False when the user had already opted out."""
    if conn.execute(select(reminder_opt_outs.c.user_id).where(reminder_opt_outs.c.user_id == user_id)).first():
        return False
    try:
        with conn.begin_nested():
            conn.execute(insert(reminder_opt_outs).values(user_id=user_id, at=utc_naive(at)))
    except IntegrityError:  # the same user, twice at the same moment
        return False
    return True


def opt_in(conn: Connection, user_id: str) -> bool:
    """Remove an opt-out; False when there was none."""
    return conn.execute(delete(reminder_opt_outs).where(reminder_opt_outs.c.user_id == user_id)).rowcount > 0


def is_opted_out(conn: Connection, user_id: str) -> bool:
    return conn.execute(select(reminder_opt_outs.c.user_id)
                        .where(reminder_opt_outs.c.user_id == user_id)).first() is not None


def opted_out_among(conn: Connection, user_ids: list[str]) -> set[str]:
    if not user_ids:
        return set()
    rows = conn.execute(select(reminder_opt_outs.c.user_id).where(reminder_opt_outs.c.user_id.in_(user_ids)))
    return {r.user_id for r in rows}


# -- broadcasts ----------------------------------------------------------------------------------

def request_broadcast(conn: Connection, reminder_id: str, occurrence: str, requested_by: str,
                      scheduled_for: datetime, deadline: datetime, now: datetime) -> tuple[int, str]:
    """Ask for one occurrence to be sent. Returns (id, outcome): "created", "reopened" (it had
    finished: run it again, the dedup keys keep each delivery single) or "running" (already under way).
    """
    now_n = utc_naive(now)
    row = conn.execute(select(broadcasts).where(broadcasts.c.reminder_id == reminder_id,
                                                broadcasts.c.occurrence == occurrence)).first()
    if row is None:
        try:
            with conn.begin_nested():
                result = conn.execute(insert(broadcasts).values(
                    reminder_id=reminder_id, occurrence=occurrence, status=Status.PENDING, phase=BroadcastPhase.REQUESTED,
                    requested_by=requested_by[:200], scheduled_for=utc_naive(scheduled_for),
                    deadline=utc_naive(deadline), created_at=now_n, updated_at=now_n, recipients=0, skipped=0,
                    sent=0, failed=0, expired=0, attempts=0, next_attempt_at=now_n))
                return int(result.inserted_primary_key[0]), "created"
        except IntegrityError:  # another process asked at the same moment
            row = conn.execute(select(broadcasts).where(broadcasts.c.reminder_id == reminder_id,
                                                        broadcasts.c.occurrence == occurrence)).first()
            return int(row.id), "running"
    if row.status == Status.DONE:
        conn.execute(update(broadcasts).where(broadcasts.c.id == row.id, broadcasts.c.status == Status.DONE).values(
            status=Status.PENDING, phase=BroadcastPhase.REQUESTED, requested_by=requested_by[:200], deadline=utc_naive(deadline),
            updated_at=now_n, finished_at=None, next_attempt_at=now_n))
        return int(row.id), "reopened"
    return int(row.id), "running"


def get_broadcast(conn: Connection, broadcast_id: int):
    return conn.execute(select(broadcasts).where(broadcasts.c.id == broadcast_id)).first()


def find_broadcast(conn: Connection, reminder_id: str, occurrence: str):
    return conn.execute(select(broadcasts).where(broadcasts.c.reminder_id == reminder_id,
                                                 broadcasts.c.occurrence == occurrence)).first()


def set_phase(conn: Connection, broadcast_id: int, owner: str, phase: str, now: datetime, lease_seconds: float,
              **counts) -> bool:
    """Move a broadcast we hold to a phase and renew our lease; False if the lease was lost."""
    now_n = utc_naive(now)
    result = conn.execute(update(broadcasts).where(broadcasts.c.id == broadcast_id,
                                                   broadcasts.c.lease_owner == owner,
                                                   broadcasts.c.status == Status.RUNNING)
                          .values(phase=phase, updated_at=now_n,
                                  lease_until=now_n + timedelta(seconds=lease_seconds), **counts))
    return result.rowcount == 1


def finish_broadcast(conn: Connection, broadcast_id: int, owner: str, now: datetime, **counts) -> bool:
    now_n = utc_naive(now)
    return release(conn, broadcasts, broadcast_id, owner, Status.DONE, phase=BroadcastPhase.FINISHED, updated_at=now_n,
                   finished_at=now_n, **counts)


def held_broadcasts(conn: Connection, owner: str) -> list:
    return list(conn.execute(select(broadcasts).where(broadcasts.c.lease_owner == owner,
                                                      broadcasts.c.status == Status.RUNNING,
                                                      broadcasts.c.phase == BroadcastPhase.QUEUED)))


def unfinished_broadcasts(conn: Connection) -> list:
    return list(conn.execute(select(broadcasts).where(broadcasts.c.status != Status.DONE).order_by(broadcasts.c.id)))


def latest_broadcasts(conn: Connection, reminder_ids: list[str]) -> dict:
    """The most recent occurrence row of each reminder."""
    out = {}
    for rid in reminder_ids:
        row = conn.execute(select(broadcasts).where(broadcasts.c.reminder_id == rid)
                           .order_by(broadcasts.c.occurrence.desc()).limit(1)).first()
        if row is not None:
            out[rid] = row
    return out


# -- deliveries (outbox rows of an occurrence) ---------------------------------------------------

def delivery_counts(conn: Connection, origin: str) -> dict[str, int]:
    rows = conn.execute(select(outbox.c.status, func.count()).where(outbox.c.origin == origin)
                        .group_by(outbox.c.status))
    return {status: count for status, count in rows}


def expire_undelivered(conn: Connection, origin: str) -> int:
    """Past the deadline: what has not gone out is not sent at all (no night or next-morning delivery)."""
    return conn.execute(update(outbox).where(outbox.c.origin == origin, outbox.c.status == Status.PENDING)
                        .values(status=Status.EXPIRED, last_error="delivery window closed")).rowcount


def sent_since(conn: Connection, cutoff: datetime) -> int:
    """Messages of every priority sent since the cutoff: the shared send budget's usage."""
    return conn.execute(select(func.count()).select_from(outbox)
                        .where(outbox.c.sent_at >= utc_naive(cutoff))).scalar_one()


def interactive_hold(conn: Connection, now: datetime, max_priority: int) -> tuple[int, datetime | None]:
    """(interactive rows due now, the latest time an interactive row was told to wait after a 429)."""
    now_n = utc_naive(now)
    waiting = conn.execute(select(func.count()).select_from(outbox).where(
        outbox.c.status.in_((Status.PENDING, Status.SENDING)), outbox.c.priority <= max_priority,
        outbox.c.next_attempt_at <= now_n)).scalar_one()
    limited = conn.execute(select(func.max(outbox.c.next_attempt_at)).where(
        outbox.c.status == Status.PENDING, outbox.c.priority <= max_priority, outbox.c.next_attempt_at > now_n,
        outbox.c.last_error.like("429%"))).scalar_one()
    return waiting, limited


def release_rows(conn: Connection, row_ids: list[int], owner: str, at: datetime) -> int:
    """Give back claimed but unsent rows (a pause longer than their lease)."""
    if not row_ids:
        return 0
    return conn.execute(update(outbox).where(outbox.c.id.in_(row_ids), outbox.c.lease_owner == owner,
                                             outbox.c.status == Status.SENDING)
                        .values(status=Status.PENDING, lease_owner=None, lease_until=None,
                                next_attempt_at=utc_naive(at))).rowcount

