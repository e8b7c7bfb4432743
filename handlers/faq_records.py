"""What administrators changed in the console on top of the shipped files: FAQ entries edited, added
or hidden (`faq_edits`, a whole entry per row) and company values (`company_values`). Read by every web
process before each event (handlers/faq_chat.py FaqLibrary.refresh), so a change is used at once.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import Boolean, Column, DateTime, String, Table, Text, delete, false, func, insert, select, update
from sqlalchemy.engine import Connection

from bot.store import Id, as_aware, metadata, utc_naive

faq_changes = Table(  # one row per change to the FAQ (taught, edited, company value): its id is the revision
    "faq_changes", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", DateTime, nullable=False),
    sqlite_autoincrement=True,  # an id is never used twice, even after old rows are deleted
)

faq_edits = Table(
    "faq_edits", metadata,
    Column("entry_id", String(60), primary_key=True),
    Column("category", String(60), nullable=False),
    Column("title", String(100), nullable=False),
    Column("questions", Text, nullable=False),  # JSON list
    Column("answer", Text, nullable=False),
    Column("hidden", Boolean, nullable=False, server_default=false()),  # a shipped entry taken out of service
    Column("updated_by", String(200), nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

faq_categories = Table(  # a category renamed (same id) or added in the console
    "faq_categories", metadata,
    Column("category_id", String(60), primary_key=True),
    Column("title", String(100), nullable=False),
    Column("updated_by", String(200), nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

company_values = Table(
    "company_values", metadata,
    Column("name", String(60), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_by", String(200), nullable=False),
    Column("updated_at", DateTime, nullable=False),
)


@dataclass(frozen=True)
class EntryEdit:
    entry_id: str
    category: str
    title: str
    questions: tuple[str, ...]
    answer: str
    hidden: bool
    updated_by: str
    updated_at: datetime


def _edit(row) -> EntryEdit:
    return EntryEdit(row.entry_id, row.category, row.title, tuple(json.loads(row.questions)), row.answer,
                     bool(row.hidden), row.updated_by, as_aware(row.updated_at))


def all_edits(conn: Connection) -> list[EntryEdit]:
    return [_edit(row) for row in conn.execute(select(faq_edits).order_by(faq_edits.c.entry_id))]


def save_edit(tx: Connection, entry_id: str, category: str, title: str, questions: list[str], answer: str,
              by: str, now: datetime, hidden: bool = False) -> None:
    values = dict(category=category, title=title, questions=json.dumps(list(questions), ensure_ascii=False),
                  answer=answer, hidden=hidden, updated_by=by, updated_at=utc_naive(now))
    if tx.execute(update(faq_edits).where(faq_edits.c.entry_id == entry_id).values(**values)).rowcount == 0:
        tx.execute(insert(faq_edits).values(entry_id=entry_id, **values))
    bump(tx)


def drop_edit(tx: Connection, entry_id: str) -> bool:
    gone = tx.execute(delete(faq_edits).where(faq_edits.c.entry_id == entry_id)).rowcount == 1
    bump(tx)
    return gone


@dataclass(frozen=True)
class CategoryEdit:
    category_id: str
    title: str


def all_category_edits(conn: Connection) -> list[CategoryEdit]:
    rows = conn.execute(select(faq_categories).order_by(faq_categories.c.updated_at, faq_categories.c.category_id))
    return [CategoryEdit(row.category_id, row.title) for row in rows]


def save_category(tx: Connection, category_id: str, title: str, by: str, now: datetime) -> None:
    values = dict(title=title, updated_by=by, updated_at=utc_naive(now))
    if tx.execute(update(faq_categories).where(faq_categories.c.category_id == category_id)
                  .values(**values)).rowcount == 0:
        tx.execute(insert(faq_categories).values(category_id=category_id, **values))
    bump(tx)


def company_overrides(conn: Connection) -> dict[str, str]:
    return {row.name: row.value for row in conn.execute(select(company_values))}


def set_company_value(tx: Connection, name: str, value: str, by: str, now: datetime) -> None:
    values = dict(value=value, updated_by=by, updated_at=utc_naive(now))
    if tx.execute(update(company_values).where(company_values.c.name == name).values(**values)).rowcount == 0:
        tx.execute(insert(company_values).values(name=name, **values))
    bump(tx)


def revision(conn: Connection) -> int:
    """The FAQ's revision: it changes with every change made in the talk or the console."""
    return conn.execute(select(func.max(faq_changes.c.id))).scalar_one() or 0


def bump(tx: Connection) -> None:
    """Count a change, in the transaction that makes it."""
    tx.execute(insert(faq_changes).values(at=utc_naive(datetime.now(timezone.utc))))
