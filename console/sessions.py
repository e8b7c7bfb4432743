"""Signed-in console sessions, kept in the database so that several web processes share them and a
sign-out ends one everywhere. The browser holds a random id in the signed session cookie; the table
holds only its SHA-256, the member and the expiry (8 hours)."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Column, DateTime, String, Table, delete, insert, select

from bot.store import Store, metadata, utc_naive

LIFETIME = timedelta(hours=8)

console_sessions = Table(
    "console_sessions", metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("user_id", String(200), nullable=False),
    Column("name", String(200)),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
)


@dataclass(frozen=True)
class Admin:
    user_id: str
    name: str


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def open_session(store: Store, admin: Admin, now: datetime) -> str:
    """A new session for the administrator; returns the id the browser keeps."""
    session_id = secrets.token_urlsafe(32)
    with store.transaction() as tx:
        tx.execute(delete(console_sessions).where(console_sessions.c.expires_at < utc_naive(now)))
        tx.execute(insert(console_sessions).values(id_hash=_hash(session_id), user_id=admin.user_id,
                                                   name=admin.name[:200], created_at=utc_naive(now),
                                                   expires_at=utc_naive(now + LIFETIME)))
    return session_id


def signed_in(store: Store, session_id: str | None, now: datetime) -> Admin | None:
    if not session_id:
        return None
    with store.engine.connect() as conn:
        row = conn.execute(select(console_sessions).where(console_sessions.c.id_hash == _hash(session_id),
                                                          console_sessions.c.expires_at > utc_naive(now))).first()
    return Admin(row.user_id, row.name or row.user_id) if row else None


def close_session(store: Store, session_id: str | None) -> None:
    if session_id:
        with store.transaction() as tx:
            tx.execute(delete(console_sessions).where(console_sessions.c.id_hash == _hash(session_id)))
