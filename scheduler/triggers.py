"""When a reminder runs: cron fields in the bot's time zone, then the working-day rules.

`ReminderTrigger` is an APScheduler 3 trigger, so the clock schedules reminders with it, and
`python -m scheduler list` and the admin commands compute next runs with the very same code.

On top of the cron fields:
- a run that falls on a day off (weekend, public holiday, company holiday) is skipped, or moved
  to the next working day at the same time (`on_day_off: next_working_day`, e.g. monthly ones);
- `days: before_day_off` keeps only runs on the last working day before days off (the "before the
  weekend / public holiday" reminder); `days: not_before_day_off` keeps the others.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterator
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger

from scheduler.workdays import WorkCalendar

CRON_FIELDS = ("month", "day", "day_of_week", "hour", "minute")
LOOKBACK = timedelta(days=21)  # a moved run comes from at most this far back (longest run of days off)
MAX_STEPS = 3000


def cron_trigger(fields: dict, tz: ZoneInfo) -> CronTrigger:
    values = {name: str(fields[name]) for name in CRON_FIELDS if fields.get(name) is not None}
    return CronTrigger(second="0", timezone=tz, start_date=datetime(2000, 1, 1, tzinfo=tz), **values)


class ReminderTrigger(BaseTrigger):
    def __init__(self, fields: dict, tz: ZoneInfo, calendar: WorkCalendar, observe_days_off: bool = True,
                 on_day_off: str = "skip", days: str = "any"):
        self.cron = cron_trigger(fields, tz)
        self.tz = tz
        self.calendar = calendar
        self.observe_days_off = observe_days_off
        self.on_day_off = on_day_off
        self.days = days

    def __str__(self) -> str:
        return f"reminder[{self.cron}, on_day_off={self.on_day_off}, days={self.days}]"

    def _raw(self, start: datetime) -> Iterator[datetime]:
        moment = start
        for _ in range(MAX_STEPS):
            fire = self.cron.get_next_fire_time(None, moment)
            if fire is None:
                return
            yield fire
            moment = fire + timedelta(microseconds=1)

    def _day_off(self, day) -> bool:
        return self.observe_days_off and self.calendar.is_day_off(day)

    def effective(self, raw: datetime) -> datetime | None:
        """Where a cron run lands after the working-day rules (None: it does not run)."""
        local = raw.astimezone(self.tz)
        day = local.date()
        if self._day_off(day):
            if self.on_day_off != "next_working_day":
                return None
            day = self.calendar.next_working_day(day)
        if self.days != "any":
            before_off = self.calendar.is_day_off(day + timedelta(days=1))
            if before_off != (self.days == "before_day_off"):
                return None
        return datetime.combine(day, local.timetz().replace(tzinfo=None), tzinfo=self.tz)

    def next_after(self, start: datetime, after: datetime | None = None) -> datetime | None:
        """The first run at or after `start` (and strictly after `after`, when given)."""
        best = None
        for raw in self._raw(start - LOOKBACK if self.on_day_off == "next_working_day" else start):
            if best is not None and raw > best:
                break  # runs only move later, so no later cron run can land earlier
            fire = self.effective(raw)
            if fire is None or fire < start or (after is not None and fire <= after):
                continue
            if best is None or fire < best:
                best = fire
        return best

    def get_next_fire_time(self, previous_fire_time, now):
        if previous_fire_time is not None:
            start = min(now, previous_fire_time + timedelta(microseconds=1))
            return self.next_after(start, after=previous_fire_time)
        return self.next_after(now)

    def next_runs(self, now: datetime, count: int) -> list[datetime]:
        runs: list[datetime] = []
        previous = None
        moment = now
        while len(runs) < count:
            fire = self.next_after(moment, after=previous)
            if fire is None:
                break
            runs.append(fire)
            previous, moment = fire, fire
        return runs

    def last_run_at_or_before(self, now: datetime, within: timedelta) -> datetime | None:
        """The latest run in (now - within, now], for catching up a run missed while the clock was down."""
        fire = self.next_after(now - within)
        last = None
        while fire is not None and fire <= now:
            last = fire
            fire = self.next_after(fire, after=fire)
        return last
