"""Business records kept by the bot: conversations, lost-device reports, confirmations, the audit
log and the FAQ's questions and feedback. Functions take the caller's connection, so a handler's writes commit
together with its replies (see bot/inbox.py).

Report details are personal data: they live here and in messages to the reporter and the
administrators, never in logs.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import (
    Column,
    DateTime,
    Float,
    Integer,
    String,
    Table,
    Text,
    and_,
    desc,
    func,
    insert,
    not_,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection

from bot.account_actions import account_actions
from bot.directory import USER_REF_MAX_LENGTH
from bot.status import Status
from bot.store import Id, as_aware, fit, metadata, utc_naive  # noqa: F401  (as_aware re-exported)
from handlers import ticket_records


class ReportStatus(StrEnum):
    OPEN = "open"
    LOCKED_OUT = "locked_out"  # the reporter's account was locked out; the report stays open
    RESOLVED = "resolved"
    FOUND = "found"


OPEN_STATUSES = (ReportStatus.OPEN, ReportStatus.LOCKED_OUT, ReportStatus.FOUND)  # listed as open
ACTIVE_STATUSES = (ReportStatus.OPEN, ReportStatus.LOCKED_OUT)  # the device is still missing


conversations = Table(
    "conversations", metadata,
    Column("user_id", String(200), primary_key=True),
    Column("flow", String(32), nullable=False),
    Column("step", String(32), nullable=False),
    Column("data", Text, nullable=False),
    Column("channel_id", String(200)),
    Column("updated_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
)

reports = Table(
    "reports", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("reporter_id", String(200), nullable=False),
    Column("reporter_name", String(200)),
    Column("device", String(100), nullable=False),
    Column("lost_when_where", Text, nullable=False),
    Column("screen_lock", String(32), nullable=False),
    Column("notes", Text, nullable=False),
    Column("status", String(16), nullable=False),  # open, locked_out, found, resolved
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("closed_by", String(200)),
    Column("close_note", Text),
)

confirmations = Table(
    "confirmations", metadata,
    Column("token", String(64), primary_key=True),
    Column("action", String(16), nullable=False),
    Column("admin_id", String(200), nullable=False),
    Column("target_user_id", String(USER_REF_MAX_LENGTH), nullable=False),
    Column("target_label", String(300), nullable=False),
    Column("reason", Text),
    Column("report_id", Id),
    Column("reply_kind", String(8), nullable=False),
    Column("reply_id", String(200), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Column("used_at", DateTime),
)

audit_log = Table(
    "audit_log", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", DateTime, nullable=False),
    Column("actor_id", String(200), nullable=False),
    Column("action", String(40), nullable=False),
    Column("target", String(300)),
    Column("report_id", Id),
    Column("result", String(300), nullable=False),
)


faq_questions = Table(
    "faq_questions", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", DateTime, nullable=False),
    Column("user_id", String(200), nullable=False),
    Column("text", Text, nullable=False),
    Column("outcome", String(16), nullable=False),  # answer, suggest, fallback, greeting, thanks
    Column("entry_id", String(100)),
    Column("score", Float, nullable=False),
)

faq_feedback = Table(
    "faq_feedback", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", DateTime, nullable=False),
    Column("user_id", String(200), nullable=False),
    Column("entry_id", String(100), nullable=False),
    Column("vote", String(8), nullable=False),
)


def report_number(report_id: int) -> str:
    return f"R-{report_id:04d}"


def parse_report_number(text: str) -> int | None:
    value = text.strip().upper().removeprefix("R-").removeprefix("R")
    return int(value) if value.isdigit() and int(value) > 0 else None


# -- conversations ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Conversation:
    user_id: str
    flow: str
    step: str
    data: dict
    channel_id: str | None
    expires_at: datetime


def _conversation(row) -> Conversation:
    return Conversation(row.user_id, row.flow, row.step, json.loads(row.data), row.channel_id,
                        as_aware(row.expires_at))


def get_conversation(tx: Connection, user_id: str) -> Conversation | None:
    row = tx.execute(select(conversations).where(conversations.c.user_id == user_id)).first()
    return None if row is None else _conversation(row)


def save_conversation(tx: Connection, user_id: str, flow: str, step: str, data: dict, now: datetime,
                      idle: timedelta, channel_id: str | None = None) -> None:
    values = dict(flow=flow, step=step, data=json.dumps(data, ensure_ascii=False), channel_id=channel_id,
                  updated_at=utc_naive(now), expires_at=utc_naive(now + idle))
    changed = tx.execute(update(conversations).where(conversations.c.user_id == user_id).values(**values))
    if changed.rowcount == 0:
        tx.execute(insert(conversations).values(user_id=user_id, **values))


def end_conversation(tx: Connection, user_id: str) -> None:
    tx.execute(conversations.delete().where(conversations.c.user_id == user_id))


def take_expired_conversations(tx: Connection, now: datetime, limit: int = 50) -> list[Conversation]:
    rows = list(tx.execute(select(conversations).where(conversations.c.expires_at < utc_naive(now)).limit(limit)))
    taken = []
    for row in rows:
        gone = tx.execute(conversations.delete().where(conversations.c.user_id == row.user_id,
                                                       conversations.c.expires_at == row.expires_at))
        if gone.rowcount == 1:
            taken.append(_conversation(row))
    return taken


# -- reports ------------------------------------------------------------------------------------

def create_report(tx: Connection, reporter_id: str, reporter_name: str | None, device: str, when_where: str,
                  screen_lock: str, notes: str, now: datetime) -> int:
    result = tx.execute(insert(reports).values(
        reporter_id=reporter_id, reporter_name=reporter_name, device=device, lost_when_where=when_where,
        screen_lock=screen_lock, notes=notes, status=ReportStatus.OPEN, created_at=utc_naive(now), updated_at=utc_naive(now)))
    return int(result.inserted_primary_key[0])


def reports_filed_since(tx: Connection, reporter_id: str, since: datetime) -> int:
    return tx.execute(select(func.count()).select_from(reports).where(
        reports.c.reporter_id == reporter_id, reports.c.created_at >= utc_naive(since))).scalar_one()


def get_report(tx: Connection, report_id: int):
    return tx.execute(select(reports).where(reports.c.id == report_id)).first()


def list_reports(tx: Connection, only_open: bool, limit: int = 20) -> list:
    query = select(reports).order_by(desc(reports.c.id)).limit(limit)
    if only_open:
        query = query.where(reports.c.status.in_(OPEN_STATUSES))
    return list(tx.execute(query))


def open_report_for(tx: Connection, user_id: str):
    return tx.execute(select(reports).where(reports.c.reporter_id == user_id,
                                            reports.c.status.in_(ACTIVE_STATUSES))
                      .order_by(desc(reports.c.id))).first()


def set_report_status(tx: Connection, report_id: int, status: str, now: datetime, by: str | None = None,
                      note: str | None = None) -> None:
    values = dict(status=status, updated_at=utc_naive(now))
    if by is not None:
        values.update(closed_by=by, close_note=note)
    tx.execute(update(reports).where(reports.c.id == report_id).values(**values))


# -- confirmations --------------------------------------------------------------------------------

def create_confirmation(tx: Connection, token: str, action: str, admin_id: str, target_user_id: str,
                        target_label: str, reason: str | None, report_id: int | None, reply_kind: str,
                        reply_id: str, now: datetime, ttl: timedelta) -> None:
    tx.execute(insert(confirmations).values(
        token=token, action=action, admin_id=admin_id, target_user_id=target_user_id,
        target_label=fit(target_label, confirmations.c.target_label),
        reason=reason, report_id=report_id, reply_kind=reply_kind, reply_id=reply_id,
        created_at=utc_naive(now), expires_at=utc_naive(now + ttl)))


def get_confirmation(tx: Connection, token: str):
    return tx.execute(select(confirmations).where(confirmations.c.token == token)).first()


def use_confirmation(tx: Connection, token: str, now: datetime) -> bool:
    """Mark a confirmation used; False when it was already used (a second press)."""
    result = tx.execute(update(confirmations).where(confirmations.c.token == token,
                                                    confirmations.c.used_at.is_(None))
                        .values(used_at=utc_naive(now)))
    return result.rowcount == 1


# -- account actions (the queue itself is the platform's: bot/account_actions.py) ---------------

def suspended_by_bot(tx: Connection, user_id: str) -> bool:
    """Was the member's suspension made through the bot? True when, among the bot's finished actions
    on them, the latest step that changed the suspension is a suspend the bot made (not one found
    already in place, nor one whose outcome is unknown)."""
    rows = tx.execute(select(account_actions.c.results)
                      .where(account_actions.c.target_user_id == user_id, account_actions.c.status == Status.DONE)
                      .order_by(desc(account_actions.c.id)).limit(50))
    for row in rows:
        for result in reversed(json.loads(row.results)):
            if result.get("ok") is True and not result.get("already") and result.get("step") in ("suspend",
                                                                                                  "unsuspend"):
                return result["step"] == "suspend"
    return False


# -- audit ----------------------------------------------------------------------------------------

def audit(tx: Connection, now: datetime, actor_id: str, action: str, result: str, target: str | None = None,
          report_id: int | None = None) -> None:
    tx.execute(insert(audit_log).values(at=utc_naive(now), actor_id=actor_id, action=action,
                                        target=target[:300] if target else None, report_id=report_id,
                                        result=result[:300]))


# Refused attempts (a member who is not an administrator, a bad target, a confirmation not theirs):
# kept in the log, but counted apart in /audit, so that sixty of them do not hide what was done.
REFUSED = or_(audit_log.c.action.like("refused:%"), audit_log.c.action == "confirm_refused",
              audit_log.c.result.like("refused%"), audit_log.c.result.like("invalid target%"),
              audit_log.c.result == "target not resolved")


def audit_label(texts, action: str) -> str:
    """An audit action in Japanese (config/messages.yaml `audit_labels`); unknown ones as recorded."""
    kind, _, name = action.partition(":")
    if name and texts.has(f"audit_labels.{kind}"):
        return texts(f"audit_labels.{kind}", name=name.lstrip("@"))
    return texts(f"audit_labels.{action}") if texts.has(f"audit_labels.{action}") else action


def audit_result(texts, result: str) -> str:
    return texts(f"audit_results.{result}") if texts.has(f"audit_results.{result}") else result


def recent_audit(tx: Connection, limit: int) -> list:
    """The latest entries that are not refusals, newest first."""
    return list(tx.execute(select(audit_log).where(not_(REFUSED)).order_by(desc(audit_log.c.id)).limit(limit)))


def refusals_by_actor(tx: Connection, since_id: int = 0) -> list:
    """(actor_id, count) of refused attempts after entry `since_id`, most first."""
    n = func.count().label("n")
    return list(tx.execute(select(audit_log.c.actor_id, n).where(REFUSED, audit_log.c.id > since_id)
                           .group_by(audit_log.c.actor_id).order_by(desc(n), audit_log.c.actor_id)))


def count_reports(tx: Connection) -> int:
    return tx.execute(select(func.count()).select_from(reports)).scalar_one()


# -- FAQ ------------------------------------------------------------------------------------------

def record_question(tx: Connection, now: datetime, user_id: str, text: str, outcome: str,
                    entry_id: str | None, score: float) -> None:
    tx.execute(insert(faq_questions).values(at=utc_naive(now), user_id=user_id, text=text[:1000], outcome=outcome,
                                            entry_id=entry_id, score=float(score)))


def last_question(tx: Connection, user_id: str, since: datetime):
    """The member's latest question to the FAQ (answered or not) after `since`, or None."""
    return tx.execute(select(faq_questions).where(faq_questions.c.user_id == user_id,
                                                  faq_questions.c.at >= utc_naive(since))
                      .order_by(desc(faq_questions.c.id)).limit(1)).first()


def record_feedback(tx: Connection, now: datetime, user_id: str, entry_id: str, vote: str) -> None:
    """One vote per member and entry: pressing 👎 thirty times counts once, and a change of mind
    replaces the earlier vote."""
    tx.execute(faq_feedback.delete().where(faq_feedback.c.user_id == user_id, faq_feedback.c.entry_id == entry_id))
    tx.execute(insert(faq_feedback).values(at=utc_naive(now), user_id=user_id, entry_id=entry_id, vote=vote))


def unanswered_questions(tx: Connection, limit: int) -> list:
    """Questions to review, newest first: not answered, answered with 「もしかして」 candidates, or
    answered and then given 👎 by the one who asked."""
    voted_down = select(faq_feedback.c.id).where(
        faq_feedback.c.user_id == faq_questions.c.user_id, faq_feedback.c.entry_id == faq_questions.c.entry_id,
        faq_feedback.c.vote == "down", faq_feedback.c.at >= faq_questions.c.at).exists()
    return list(tx.execute(select(faq_questions).where(or_(
        faq_questions.c.outcome.in_(("fallback", "not_ours", "suggest")),
        and_(faq_questions.c.outcome == "answer", voted_down))).order_by(desc(faq_questions.c.id)).limit(limit)))


def get_question(tx: Connection, question_id: int):
    return tx.execute(select(faq_questions).where(faq_questions.c.id == question_id)).first()


def feedback_summary(tx: Connection, limit: int) -> list:
    """Entries by 👎 count (most first), with their 👍 count."""
    down = func.sum(func.cast(faq_feedback.c.vote == "down", Integer))
    up = func.sum(func.cast(faq_feedback.c.vote == "up", Integer))
    return list(tx.execute(select(faq_feedback.c.entry_id, down.label("down"), up.label("up"))
                           .group_by(faq_feedback.c.entry_id).order_by(desc("down"), faq_feedback.c.entry_id)
                           .limit(limit)))


# -- retention ------------------------------------------------------------------------------------

def purge_personal_data(tx: Connection, cutoff: datetime) -> dict[str, int]:
    """Delete what is older than the retention cutoff: FAQ questions and feedback, closed reports and
    tickets, expired confirmations and finished account actions. Open reports and the audit log (ids and
    results only, no report details) are kept."""
    cut = utc_naive(cutoff)
    return {
        "faq_questions": tx.execute(faq_questions.delete().where(faq_questions.c.at < cut)).rowcount,
        "faq_feedback": tx.execute(faq_feedback.delete().where(faq_feedback.c.at < cut)).rowcount,
        "reports": tx.execute(reports.delete().where(reports.c.updated_at < cut,
                                                     reports.c.status.in_((ReportStatus.RESOLVED, ReportStatus.FOUND)))).rowcount,
        "confirmations": tx.execute(confirmations.delete().where(confirmations.c.expires_at < cut)).rowcount,
        "account_actions": tx.execute(account_actions.delete().where(account_actions.c.created_at < cut,
                                                                     account_actions.c.status == Status.DONE)).rowcount,
        "tickets": ticket_records.purge_closed_tickets(tx, cutoff),
    }


def purge_older_than(store, now: datetime, days: int) -> dict[str, int]:
    """The retention job (run daily by the clock): everything finished and older than `days`."""
    cutoff = now - timedelta(days=days)
    with store.transaction() as tx:
        gone = purge_personal_data(tx, cutoff)
    gone.update(store.purge_before(cutoff))
    return gone
