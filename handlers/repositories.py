"""The records the talk's flows keep (conversations, lost-device reports, the audit trail), behind
small repositories.

`Records.sql(tx)` is the one in service: every write goes into the handler's transaction, so it
commits together with the replies or not at all (bot/inbox.py). `Records.memory()` keeps the same
records in dictionaries, for unit tests of a flow without a database. Both keep one contract, checked
by the same tests (tests/lost_device/test_repositories.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.engine import Connection

from bot.store import utc_naive
from handlers import records
from handlers.records import ACTIVE_STATUSES, OPEN_STATUSES, Conversation, ReportStatus


@dataclass(frozen=True)
class Report:
    id: int
    reporter_id: str
    reporter_name: str | None
    device: str
    lost_when_where: str
    screen_lock: str
    notes: str
    status: str
    created_at: datetime  # naive UTC, as stored
    updated_at: datetime
    closed_by: str | None = None
    close_note: str | None = None


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    actor_id: str
    action: str
    result: str
    target: str | None = None
    report_id: int | None = None


class Conversations(Protocol):
    def get(self, user_id: str) -> Conversation | None: ...
    def save(self, user_id: str, flow: str, step: str, data: dict, now: datetime, idle: timedelta,
             channel_id: str | None = None) -> None: ...
    def end(self, user_id: str) -> None: ...
    def take_expired(self, now: datetime, limit: int = 50) -> list[Conversation]: ...


class Reports(Protocol):
    def create(self, reporter_id: str, reporter_name: str | None, device: str, when_where: str, screen_lock: str,
               notes: str, now: datetime) -> int: ...
    def filed_since(self, reporter_id: str, since: datetime) -> int: ...
    def get(self, report_id: int) -> Report | None: ...
    def open_for(self, user_id: str) -> Report | None: ...
    def listing(self, only_open: bool, limit: int = 20) -> list[Report]: ...
    def set_status(self, report_id: int, status: str, now: datetime, by: str | None = None,
                   note: str | None = None) -> None: ...


class AuditTrail(Protocol):
    def add(self, now: datetime, actor_id: str, action: str, result: str, target: str | None = None,
            report_id: int | None = None) -> None: ...


@dataclass(frozen=True)
class Records:
    conversations: Conversations
    reports: Reports
    audit: AuditTrail

    @classmethod
    def sql(cls, tx: Connection) -> "Records":
        return cls(SqlConversations(tx), SqlReports(tx), SqlAudit(tx))

    @classmethod
    def memory(cls) -> "Records":
        return cls(MemoryConversations(), MemoryReports(), MemoryAudit())


# -- in the database ------------------------------------------------------------------------------

@dataclass(frozen=True)
class SqlConversations:
    tx: Connection

    def get(self, user_id):
        return records.get_conversation(self.tx, user_id)

    def save(self, user_id, flow, step, data, now, idle, channel_id=None):
        records.save_conversation(self.tx, user_id, flow, step, data, now, idle, channel_id)

    def end(self, user_id):
        records.end_conversation(self.tx, user_id)

    def take_expired(self, now, limit=50):
        return records.take_expired_conversations(self.tx, now, limit)


def _report(row) -> Report | None:
    return None if row is None else Report(**row._mapping)


@dataclass(frozen=True)
class SqlReports:
    tx: Connection

    def create(self, reporter_id, reporter_name, device, when_where, screen_lock, notes, now):
        return records.create_report(self.tx, reporter_id, reporter_name, device, when_where, screen_lock, notes, now)

    def filed_since(self, reporter_id, since):
        return records.reports_filed_since(self.tx, reporter_id, since)

    def get(self, report_id):
        return _report(records.get_report(self.tx, report_id))

    def open_for(self, user_id):
        return _report(records.open_report_for(self.tx, user_id))

    def listing(self, only_open, limit=20):
        return [_report(row) for row in records.list_reports(self.tx, only_open, limit)]

    def set_status(self, report_id, status, now, by=None, note=None):
        records.set_report_status(self.tx, report_id, status, now, by, note)


@dataclass(frozen=True)
class SqlAudit:
    tx: Connection

    def add(self, now, actor_id, action, result, target=None, report_id=None):
        records.audit(self.tx, now, actor_id, action, result, target=target, report_id=report_id)


# -- in memory (tests) ----------------------------------------------------------------------------

@dataclass
class MemoryConversations:
    by_user: dict[str, Conversation] = field(default_factory=dict)

    def get(self, user_id):
        return self.by_user.get(user_id)

    def save(self, user_id, flow, step, data, now, idle, channel_id=None):
        self.by_user[user_id] = Conversation(user_id, flow, step, dict(data), channel_id, now + idle)

    def end(self, user_id):
        self.by_user.pop(user_id, None)

    def take_expired(self, now, limit=50):
        expired = [c for c in self.by_user.values() if c.expires_at < now][:limit]
        for conversation in expired:
            del self.by_user[conversation.user_id]
        return expired


@dataclass
class MemoryReports:
    by_id: dict[int, Report] = field(default_factory=dict)

    def create(self, reporter_id, reporter_name, device, when_where, screen_lock, notes, now):
        report_id = len(self.by_id) + 1
        self.by_id[report_id] = Report(report_id, reporter_id, reporter_name, device, when_where, screen_lock, notes,
                                       ReportStatus.OPEN, utc_naive(now), utc_naive(now))
        return report_id

    def filed_since(self, reporter_id, since):
        return sum(1 for r in self.by_id.values() if r.reporter_id == reporter_id and r.created_at >= utc_naive(since))

    def get(self, report_id):
        return self.by_id.get(report_id)

    def open_for(self, user_id):
        mine = [r for r in self.by_id.values() if r.reporter_id == user_id and r.status in ACTIVE_STATUSES]
        return max(mine, key=lambda r: r.id, default=None)

    def listing(self, only_open, limit=20):
        chosen = [r for r in self.by_id.values() if not only_open or r.status in OPEN_STATUSES]
        return sorted(chosen, key=lambda r: r.id, reverse=True)[:limit]

    def set_status(self, report_id, status, now, by=None, note=None):
        closing = {"closed_by": by, "close_note": note} if by is not None else {}
        self.by_id[report_id] = replace(self.by_id[report_id], status=status, updated_at=utc_naive(now), **closing)


@dataclass
class MemoryAudit:
    entries: list[AuditEntry] = field(default_factory=list)

    def add(self, now, actor_id, action, result, target=None, report_id=None):
        self.entries.append(AuditEntry(utc_naive(now), actor_id, action, result[:300], target[:300] if target else None,
                                       report_id))
