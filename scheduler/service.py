"""ReminderService: what the web process, the admin chat commands and the CLI ask of reminders.

It only reads the loaded reminders.yaml and writes broadcast requests; it never sends. The web
process puts one in `ctx.services.reminders` (see `build_reminder_service`), so that
`/reminder send <id>` returns at once: the clock process picks the request up and does the sending.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Connection

from handlers import reminder_records as rr
from scheduler.config import Reminder, ReminderBook, book_from_config

_NOISE = re.compile(r"[\s。、．.！!？?「」『』]+")


def normalise_phrase(text: str) -> str:
    """Width, case and spacing variants of a phrase compare equal ("リマインダー　停止。" == "リマインダー停止")."""
    return _NOISE.sub("", unicodedata.normalize("NFKC", text)).lower()


@dataclass(frozen=True)
class SendRequest:
    outcome: str  # accepted, running, unknown, quiet, day_off
    reminder: Reminder | None = None
    occurrence: str | None = None
    broadcast_id: int | None = None


class ReminderService:
    def __init__(self, book: ReminderBook):
        self.book = book
        self._stop = {normalise_phrase(p) for p in book.commands["stop"]}
        self._resume = {normalise_phrase(p) for p in book.commands["resume"]}

    @classmethod
    def from_config(cls, config, tz, any_hour: bool = False) -> "ReminderService":
        return cls(book_from_config(config, tz, any_hour))

    # -- employees ------------------------------------------------------------------------------

    def command_of(self, text: str) -> str | None:
        """"stop", "resume" or None for a message text."""
        phrase = normalise_phrase(text)
        if phrase in self._stop:
            return "stop"
        if phrase in self._resume:
            return "resume"
        return None

    def text(self, key: str, **values) -> str:
        return self.book.text(key, **values)

    # -- administrators -------------------------------------------------------------------------

    def next_runs(self, reminder: Reminder, now: datetime, count: int = 3) -> list[datetime]:
        return reminder.trigger.next_runs(now.astimezone(self.book.tz), count)

    def request_send(self, conn: Connection, reminder_id: str, now: datetime, requested_by: str,
                     scheduled_for: datetime | None = None) -> SendRequest:
        """Ask for an occurrence to be sent (today's, or the scheduled run's day). Never sends itself."""
        reminder = self.book.get(reminder_id)
        if reminder is None:
            return SendRequest("unknown")
        fire = (scheduled_for or now).astimezone(self.book.tz)
        refusal = self.book.may_send_now(reminder, now)
        if refusal:
            return SendRequest(refusal, reminder)
        occurrence = fire.date().isoformat()
        broadcast_id, outcome = rr.request_broadcast(conn, reminder.id, occurrence, requested_by, fire,
                                                     self.book.deadline(reminder, fire), now)
        return SendRequest("running" if outcome == "running" else "accepted", reminder, occurrence, broadcast_id)

    def latest(self, conn: Connection) -> dict:
        """reminder id -> (broadcast row, delivery counts) of its most recent occurrence."""
        out = {}
        for rid, row in rr.latest_broadcasts(conn, [r.id for r in self.book.reminders]).items():
            out[rid] = (row, rr.delivery_counts(conn, rr.origin_of(rid, row.occurrence)))
        return out


def build_reminder_service(config, tz, any_hour: bool = False) -> ReminderService:
    """For the composition root: `Services(reminders=build_reminder_service(runtime.config, tz), ...)`."""
    return ReminderService.from_config(config, tz, any_hour)
