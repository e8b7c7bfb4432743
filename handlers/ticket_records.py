"""Records of the ask-a-person loop: tickets (an employee's question for the person in charge, and the
answer) and what the FAQ learned from them (entries and example questions kept in the database, on
top of the baseline config/faq.yaml).

Questions and answers are personal data: they live here and in messages to the asker and the
administrators, never in logs. Closed tickets are deleted after the retention period.
"""
from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, DateTime, Index, String, Table, Text, func, insert, select, update
from sqlalchemy.engine import Connection

from bot.store import Id, as_aware, metadata, utc_naive
from handlers import faq_records


class TicketStatus(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    DISMISSED = "dismissed"  # an administrator decided no answer is needed


class LearnedKind(StrEnum):
    ENTRY = "entry"  # a new FAQ entry made from a ticket's question and answer
    EXAMPLE = "example"  # a question added as an example of an existing entry


tickets = Table(
    "tickets", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("asker_id", String(200), nullable=False),
    Column("asker_name", String(200)),
    Column("question", Text, nullable=False),
    Column("guesses", Text, nullable=False),  # JSON list of the FAQ's closest entry ids
    Column("status", String(16), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("handled_by", String(200)),
    Column("answer", Text),
    Column("reminded_on", String(10)),  # the last day the administrators were reminded of it
    Index("ix_tickets_status", "status"),
    sqlite_autoincrement=True,  # a ticket number is never given twice
)

faq_learned = Table(
    "faq_learned", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(8), nullable=False),
    Column("entry_id", String(60), nullable=False),  # the new entry's id, or the entry the example joins
    Column("category", String(60)),
    Column("title", String(100)),
    Column("question", Text, nullable=False),
    Column("answer", Text),
    Column("ticket_id", Id),
    Column("created_by", String(200), nullable=False),
    Column("created_at", DateTime, nullable=False),
    sqlite_autoincrement=True,
)


def ticket_number(ticket_id: int) -> str:
    return f"Q-{ticket_id:04d}"


def parse_number(text: str, prefix: str) -> int | None:
    """'Q-0001', 'q1', '1' -> 1 for prefix 'Q'; None for anything else (ASCII digits only, at most 9)."""
    value = unicodedata.normalize("NFKC", text).strip().upper().removeprefix(f"{prefix}-").removeprefix(prefix)
    if not (value.isascii() and value.isdigit() and len(value) <= 9) or int(value) == 0:
        return None
    return int(value)


def parse_ticket_number(text: str) -> int | None:
    return parse_number(text, "Q")


@dataclass(frozen=True)
class Ticket:
    id: int
    asker_id: str
    asker_name: str | None
    question: str
    guesses: tuple[str, ...]
    status: TicketStatus
    created_at: datetime  # aware UTC
    handled_by: str | None
    answer: str | None

    @property
    def number(self) -> str:
        return ticket_number(self.id)


def _ticket(row) -> Ticket | None:
    if row is None:
        return None
    return Ticket(row.id, row.asker_id, row.asker_name, row.question, tuple(json.loads(row.guesses)),
                  TicketStatus(row.status), as_aware(row.created_at), row.handled_by, row.answer)


def open_ticket(tx: Connection, asker_id: str, asker_name: str | None, question: str, guesses: list[str],
                now: datetime) -> Ticket:
    result = tx.execute(insert(tickets).values(
        asker_id=asker_id, asker_name=asker_name, question=question, guesses=json.dumps(guesses),
        status=TicketStatus.OPEN, created_at=utc_naive(now), updated_at=utc_naive(now)))
    return get_ticket(tx, int(result.inserted_primary_key[0]))


def get_ticket(tx: Connection, ticket_id: int) -> Ticket | None:
    return _ticket(tx.execute(select(tickets).where(tickets.c.id == ticket_id)).first())


def open_tickets(tx: Connection, limit: int = 20) -> list[Ticket]:
    rows = tx.execute(select(tickets).where(tickets.c.status == TicketStatus.OPEN)
                      .order_by(tickets.c.id).limit(limit))
    return [_ticket(row) for row in rows]


def asked_since(tx: Connection, asker_id: str, since: datetime) -> int:
    return tx.execute(select(func.count()).select_from(tickets).where(
        tickets.c.asker_id == asker_id, tickets.c.created_at >= utc_naive(since))).scalar_one()


def close_ticket(tx: Connection, ticket_id: int, status: TicketStatus, by: str, now: datetime,
                 answer: str | None = None) -> bool:
    """Answer or dismiss an open ticket; False when it was already closed (a second press)."""
    result = tx.execute(update(tickets).where(tickets.c.id == ticket_id, tickets.c.status == TicketStatus.OPEN)
                        .values(status=status, handled_by=by, answer=answer, updated_at=utc_naive(now)))
    return result.rowcount == 1


def take_due_reminders(tx: Connection, opened_before: datetime, today: str) -> list[Ticket]:
    """Open tickets older than `opened_before` not yet reminded today; marks them reminded today."""
    rows = list(tx.execute(select(tickets).where(
        tickets.c.status == TicketStatus.OPEN, tickets.c.created_at < utc_naive(opened_before),
        (tickets.c.reminded_on.is_(None)) | (tickets.c.reminded_on != today)).order_by(tickets.c.id)))
    taken = []
    for row in rows:
        marked = tx.execute(update(tickets).where(tickets.c.id == row.id, tickets.c.reminded_on.is_not_distinct_from(
            row.reminded_on)).values(reminded_on=today))
        if marked.rowcount == 1:
            taken.append(_ticket(row))
    return taken


def purge_closed_tickets(tx: Connection, cutoff: datetime) -> int:
    return tx.execute(tickets.delete().where(tickets.c.updated_at < utc_naive(cutoff),
                                             tickets.c.status != TicketStatus.OPEN)).rowcount


# -- learned --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Learned:
    id: int
    kind: LearnedKind
    entry_id: str
    category: str | None
    title: str | None
    question: str
    answer: str | None
    ticket_id: int | None
    created_by: str
    created_at: datetime


def _learned(row) -> Learned:
    return Learned(row.id, LearnedKind(row.kind), row.entry_id, row.category, row.title, row.question, row.answer,
                   row.ticket_id, row.created_by, as_aware(row.created_at))


def learn(tx: Connection, kind: LearnedKind, entry_id: str, question: str, by: str, now: datetime,
          answer: str | None = None, title: str | None = None, category: str | None = None,
          ticket_id: int | None = None) -> int:
    result = tx.execute(insert(faq_learned).values(
        kind=kind, entry_id=entry_id, question=question, answer=answer, title=title, category=category,
        ticket_id=ticket_id, created_by=by, created_at=utc_naive(now)))
    faq_records.bump(tx)
    return int(result.inserted_primary_key[0])


def all_learned(tx: Connection) -> list[Learned]:
    return [_learned(row) for row in tx.execute(select(faq_learned).order_by(faq_learned.c.id))]


def forget(tx: Connection, learned_id: int) -> Learned | None:
    row = tx.execute(select(faq_learned).where(faq_learned.c.id == learned_id)).first()
    if row is None:
        return None
    tx.execute(faq_learned.delete().where(faq_learned.c.id == learned_id))
    faq_records.bump(tx)
    return _learned(row)


