"""The reminders as the scheduler uses them: config/reminders.yaml (its schema is config/reminders.py)
with a trigger per reminder, the work calendar and the quiet hours. Loaded and checked once at start.

A mistake is refused with one line per problem that names the reminder and the field, e.g.
    reminders.yaml: reminder 'after-hours': field 'schedule.hour': Error validating expression '25' ...
Company values from config/company.yaml ({work_start}, {allowance_yen}...) may be used in texts, as in
faq.yaml; {date}, {next_working_day} and {days_off} are filled in for each occurrence.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.replies import Buttons, MessageAction, Text
from config.company import load_company, placeholders
from config.reminders import (  # noqa: F401  (ReminderConfigError: what loading raises)
    Policy,
    ReminderConfigError,
    ReminderFile,
    ReminderSpec,
    load_reminder_file,
)
from scheduler.triggers import CRON_FIELDS, ReminderTrigger, cron_trigger
from scheduler.workdays import WEEKDAYS, QuietHours, WorkCalendar

OCCURRENCE_FIELDS = ("date", "next_working_day", "days_off")


@dataclass
class Reminder:
    spec: ReminderSpec
    trigger: ReminderTrigger

    @property
    def id(self) -> str:
        return self.spec.id


@dataclass
class ReminderBook:
    """The loaded file: reminders with their triggers, the policy, the texts, the company values."""

    path: Path
    tz: ZoneInfo
    policy: Policy
    calendar: WorkCalendar
    quiet: QuietHours
    commands: dict[str, list[str]]
    texts: dict[str, Any]
    company: dict[str, str]
    reminders: list[Reminder] = field(default_factory=list)
    any_hour: bool = False  # a trial against the emulator: quiet hours and days off do not hold

    def get(self, reminder_id: str) -> Reminder | None:
        return next((r for r in self.reminders if r.id == reminder_id), None)

    def enabled(self) -> list[Reminder]:
        return [r for r in self.reminders if r.spec.enabled]

    def text(self, key: str, **values) -> str:
        template = self.texts[key]
        return template.format(**values) if values else template

    def format_date(self, day: date) -> str:
        return self.texts["date_format"].format(year=day.year, month=day.month, day=day.day,
                                                weekday=self.texts["weekday_names"][day.weekday()])

    def quiet_label(self) -> str:
        return self.text("quiet_hours", start=f"{self.quiet.start:%H:%M}", end=f"{self.quiet.end:%H:%M}")

    # -- delivery window --------------------------------------------------------------------------

    def deadline(self, reminder: Reminder, fire: datetime) -> datetime:
        """Nothing of this occurrence is delivered after the returned moment."""
        if reminder.spec.urgent:
            return fire + timedelta(hours=self.policy.urgent_delivery_hours)
        return self.quiet.next_start(fire.astimezone(self.tz))

    def may_send_now(self, reminder: Reminder, now: datetime) -> str | None:
        """None when the reminder may go out now; else why not ("quiet" or "day_off")."""
        if reminder.spec.urgent or self.any_hour:
            return None
        local = now.astimezone(self.tz)
        if self.quiet.contains(local.time()):
            return "quiet"
        if self.calendar.is_day_off(local.date()):
            return "day_off"
        return None

    # -- message ----------------------------------------------------------------------------------

    def occurrence_values(self, day: date) -> dict[str, str]:
        return {"date": self.format_date(day), "next_working_day": self.format_date(self.calendar.next_working_day(day)),
                "days_off": str(self.calendar.days_off_after(day))}

    def contents(self, reminder: Reminder, day: date, to_user: bool) -> list[dict]:
        """The message for one occurrence; users also get the opt-out chip."""
        spec = reminder.spec.message
        text = spec.text.format(**self.company, **self.occurrence_values(day))
        quick = tuple(a.action() for a in spec.quick_replies)
        if to_user:
            chip = self.texts["opt_out_chip"]
            quick += (MessageAction(chip, chip),)
        if spec.buttons:
            return Buttons(text, tuple(b.action() for b in spec.buttons), quick).contents()
        return Text(text, quick).contents()


def _placeholders(text: str) -> set[str]:
    return set(placeholders(text))


def _check_reminder(spec: ReminderSpec, book: ReminderBook, problems: list[str]) -> Reminder | None:
    where = f"reminder '{spec.id}'"
    fields = spec.schedule.model_dump(include=set(CRON_FIELDS))
    for name in CRON_FIELDS:
        if fields.get(name) is None:
            continue
        try:
            cron_trigger({name: fields[name]}, book.tz)
        except (ValueError, TypeError) as exc:
            problems.append(f"{where}: field 'schedule.{name}': {exc}")
            return None
    # One time of day: an occurrence is one reminder on one day (the delivery ledger's key).
    day_trigger = cron_trigger({"hour": fields["hour"], "minute": fields["minute"]}, book.tz)
    start = datetime(2026, 1, 5, tzinfo=book.tz)
    first = day_trigger.get_next_fire_time(None, start)
    second = day_trigger.get_next_fire_time(None, first + timedelta(microseconds=1))
    if second - first < timedelta(days=1):
        problems.append(f"{where}: field 'schedule.hour/minute': a reminder runs at most once a day; "
                        f"give one time (e.g. hour: 17, minute: 30)")
        return None
    if not spec.urgent:
        if book.quiet.contains(first.time()):
            problems.append(f"{where}: field 'schedule.hour': {first:%H:%M} is in quiet hours "
                            f"({book.quiet.start:%H:%M}-{book.quiet.end:%H:%M}); only urgent reminders may be sent then")
        if not spec.skip_holidays:
            problems.append(f"{where}: field 'skip_holidays': only urgent reminders may be sent on holidays "
                            f"(set skip_holidays: true or urgent: true)")
    allowed = set(book.company) | set(OCCURRENCE_FIELDS)
    unknown = _placeholders(spec.message.text) - allowed
    if unknown:
        problems.append(f"{where}: field 'message.text': unknown placeholder(s) "
                        + ", ".join("{" + u + "}" for u in sorted(unknown))
                        + "; known: " + ", ".join("{" + a + "}" for a in sorted(allowed)))
        return None
    if spec.audience.kind == "list":
        has_users = bool(spec.audience.users)
    else:
        has_users = True
    if len(spec.message.quick_replies) + (1 if has_users else 0) > 13:
        problems.append(f"{where}: field 'message.quick_replies': at most 12 (the opt-out chip is the 13th)")
        return None
    trigger = ReminderTrigger(fields, book.tz, book.calendar, observe_days_off=spec.skip_holidays,
                              on_day_off=spec.schedule.on_day_off, days=spec.schedule.days)
    reminder = Reminder(spec, trigger)
    try:
        book.contents(reminder, date(2026, 1, 5), to_user=True)
    except (ValueError, KeyError, IndexError) as exc:
        problems.append(f"{where}: field 'message': {exc}")
        return None
    return reminder


def _company_beside(path: Path, company_path: Path | None) -> dict[str, str]:
    company_path = Path(company_path or path.parent / "company.yaml")
    return load_company(company_path) if company_path.exists() else {}


def load_reminders(path: Path, tz: ZoneInfo, company_path: Path | None = None) -> ReminderBook:
    path = Path(path)
    return build_book(load_reminder_file(path), tz, _company_beside(path, company_path), path)


def book_from_config(config, tz: ZoneInfo, any_hour: bool = False) -> ReminderBook:
    """From the loaded config tree (config/tree.py)."""
    book = build_book(config.reminders, tz, config.company, config.directory / "reminders.yaml")
    book.any_hour = any_hour
    return book


def build_book(parsed: ReminderFile, tz: ZoneInfo, company: dict[str, str], path: Path) -> ReminderBook:
    """The reminders with their triggers; each reminder is checked against the calendar and the company
    values (ReminderConfigError names the reminder and the field)."""
    policy = parsed.policy
    book = ReminderBook(
        path=path, tz=tz, policy=policy,
        calendar=WorkCalendar(weekend=frozenset(WEEKDAYS.index(d) for d in policy.weekend),
                              company_holidays=frozenset(str(d) for d in policy.company_holidays)),
        quiet=QuietHours(policy.quiet_hours.start, policy.quiet_hours.end),
        commands=dict(parsed.commands), texts=dict(parsed.texts), company=company,
    )
    problems: list[str] = []
    for spec in parsed.reminders:
        reminder = _check_reminder(spec, book, problems)
        if reminder is not None:
            book.reminders.append(reminder)
    if problems:
        raise ReminderConfigError([f"{path.name}: {p}" for p in problems])
    return book
