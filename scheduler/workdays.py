"""Working days and quiet hours: when the bot may send something on its own.

Days off are the configured weekend days, Japanese public holidays (from jpholiday, which tracks
substitute and newly enacted holidays, not a hand-kept list) and the company's own holidays
(e.g. the year-end break). Quiet hours are the night: nothing that is not urgent is delivered then.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import jpholiday

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class WorkCalendar:
    weekend: frozenset[int] = frozenset({5, 6})  # date.weekday() numbers
    company_holidays: frozenset[str] = frozenset()  # "MM-DD" (every year) or "YYYY-MM-DD"

    def public_holiday(self, day: date) -> str | None:
        return jpholiday.is_holiday_name(day)

    def is_day_off(self, day: date) -> bool:
        return (day.weekday() in self.weekend or jpholiday.is_holiday(day)
                or day.strftime("%m-%d") in self.company_holidays or day.isoformat() in self.company_holidays)

    def next_working_day(self, day: date) -> date:
        """The first working day after `day`."""
        candidate = day + timedelta(days=1)
        for _ in range(60):
            if not self.is_day_off(candidate):
                return candidate
            candidate += timedelta(days=1)
        raise ValueError(f"no working day within 60 days after {day}")

    def days_off_after(self, day: date) -> int:
        """How many days off follow `day` (0 when the next day is a working day)."""
        return (self.next_working_day(day) - day).days - 1


@dataclass(frozen=True)
class QuietHours:
    """The night, e.g. 20:00-08:00 (it may wrap past midnight)."""

    start: time
    end: time

    def contains(self, moment: time) -> bool:
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end

    def next_start(self, moment: datetime) -> datetime:
        """The next moment quiet hours begin, at or after `moment` (aware, in its time zone)."""
        tz = moment.tzinfo
        start_today = datetime.combine(moment.date(), self.start, tzinfo=tz)
        if start_today > moment:
            return start_today
        return datetime.combine(moment.date() + timedelta(days=1), self.start, tzinfo=tz)


def local_day(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()
