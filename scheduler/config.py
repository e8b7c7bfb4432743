"""config/reminders.yaml: reminders as data, loaded and checked once at start.

A mistake is refused with one line per problem that names the reminder and the field, e.g.
    reminder 'after-hours', field schedule.hour: Error validating expression '25' ...
Company values from config/company.yaml ({work_start}, {allowance_yen}...) may be used in texts, as in
faq.yaml; {date}, {next_working_day} and {days_off} are filled in for each occurrence.
"""
from __future__ import annotations

import string
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.replies import Buttons, MessageAction, Text, UriAction
from scheduler.triggers import CRON_FIELDS, ReminderTrigger, cron_trigger
from scheduler.workdays import WEEKDAYS, QuietHours, WorkCalendar

OCCURRENCE_FIELDS = ("date", "next_working_day", "days_off")
REQUIRED_TEXTS = (
    "opt_out_chip", "opted_out", "already_opted_out", "opted_in", "already_opted_in", "date_format",
    "weekday_names", "admin_list_header", "admin_list_item", "admin_list_next", "admin_list_no_runs",
    "admin_list_today", "run_separator", "admin_send_accepted", "admin_send_running", "admin_unknown", "admin_usage",
    "admin_refused_quiet", "admin_refused_day_off", "help_list", "help_send", "audience_all", "audience_managers",
    "audience_list", "enabled", "disabled", "quiet_hours",
)


class ReminderConfigError(ValueError):
    def __init__(self, path: Path, problems: list[str]):
        self.problems = problems
        super().__init__(f"{path} cannot be used:\n" + "\n".join(f"  - {p}" for p in problems))


def _hhmm(value: Any) -> time:
    if isinstance(value, int) and not isinstance(value, bool):  # YAML reads 20:00 as sexagesimal 1200
        value = f"{value // 60:02d}:{value % 60:02d}"
    if not isinstance(value, str):
        raise ValueError("must be a time like \"20:00\"")
    try:
        return datetime.strptime(value.strip(), "%H:%M").time()
    except ValueError:
        raise ValueError(f"must be a time like \"20:00\" (got {value!r})") from None


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class QuietHoursSpec(Strict):
    start: time = time(20, 0)
    end: time = time(8, 0)

    @field_validator("start", "end", mode="before")
    @classmethod
    def _parse(cls, value):
        return _hhmm(value)


class Policy(Strict):
    quiet_hours: QuietHoursSpec = QuietHoursSpec()
    weekend: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = ["sat", "sun"]
    company_holidays: list[str] = []
    misfire_grace_minutes: int = Field(30, ge=1, le=600)
    urgent_delivery_hours: int = Field(6, ge=1, le=48)

    @field_validator("company_holidays")
    @classmethod
    def _dates(cls, values: list[str]) -> list[str]:
        for value in values:
            text = str(value)
            try:
                datetime.strptime(text, "%Y-%m-%d") if len(text) == 10 else datetime.strptime(f"2000-{text}",
                                                                                              "%Y-%m-%d")
            except ValueError:
                raise ValueError(f"{text!r} is not a date like \"12-31\" or \"2026-12-28\"") from None
        return values


class Schedule(Strict):
    month: str | int | None = None
    day: str | int | None = None
    day_of_week: str | int | None = None
    hour: str | int
    minute: str | int = 0
    on_day_off: Literal["skip", "next_working_day"] = "skip"
    days: Literal["any", "before_day_off", "not_before_day_off"] = "any"


class ActionSpec(Strict):
    label: str = Field(min_length=1, max_length=20)
    text: str | None = Field(None, min_length=1, max_length=300)
    url: str | None = None

    @model_validator(mode="after")
    def _one_target(self):
        if (self.text is None) == (self.url is None):
            raise ValueError("give either text (what the button sends) or url")
        if self.url is not None and not self.url.startswith(("https://", "http://")):
            raise ValueError("url must start with https://")
        return self

    def action(self):
        return UriAction(self.label, self.url) if self.url else MessageAction(self.label, self.text)


class MessageSpec(Strict):
    text: str = Field(min_length=1)
    buttons: list[ActionSpec] = Field(default_factory=list, max_length=10)
    quick_replies: list[ActionSpec] = Field(default_factory=list, max_length=12)


class Audience(Strict):
    """Who gets it: everyone active in the directory, the managers, or given users and/or rooms."""

    kind: Literal["all", "managers", "list"]
    users: list[str] = []
    rooms: list[str] = []

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value):
        if value in ("all", "managers"):
            return {"kind": value}
        if isinstance(value, dict) and "kind" not in value:
            if not value.get("users") and not value.get("rooms"):
                raise ValueError("give users: [...] and/or rooms: [...], or write all / managers")
            return {"kind": "list", **value}
        if isinstance(value, str):
            raise ValueError(f"must be all, managers, or {{users: [...], rooms: [...]}} (got {value!r})")
        return value


class ReminderSpec(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")
    title: str = Field(min_length=1, max_length=40)
    enabled: bool = True
    schedule: Schedule
    audience: Audience
    message: MessageSpec
    skip_holidays: bool = True
    urgent: bool = False


class ReminderFile(Strict):
    policy: Policy = Policy()
    commands: dict[Literal["stop", "resume"], list[str]]
    texts: dict[str, str | list[str]]
    reminders: list[ReminderSpec]


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
        if reminder.spec.urgent:
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


def _location(loc: tuple, raw: dict) -> str:
    """'reminder <id>, field a.b' from a pydantic error location."""
    if len(loc) >= 2 and loc[0] == "reminders" and isinstance(loc[1], int):
        items = raw.get("reminders") or []
        entry = items[loc[1]] if loc[1] < len(items) else {}
        rid = entry.get("id") if isinstance(entry, dict) else None
        who = f"reminder '{rid}'" if rid else f"reminder #{loc[1] + 1}"
        rest = ".".join(str(p) for p in loc[2:] if not str(p).startswith(("function-", "literal[")))
        return f"{who}, field {rest}" if rest else who
    return "field " + ".".join(str(p) for p in loc)


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def _check_reminder(spec: ReminderSpec, book: ReminderBook, problems: list[str]) -> Reminder | None:
    where = f"reminder '{spec.id}'"
    fields = spec.schedule.model_dump(include=set(CRON_FIELDS))
    for name in CRON_FIELDS:
        if fields.get(name) is None:
            continue
        try:
            cron_trigger({name: fields[name]}, book.tz)
        except (ValueError, TypeError) as exc:
            problems.append(f"{where}, field schedule.{name}: {exc}")
            return None
    # One time of day: an occurrence is one reminder on one day (the delivery ledger's key).
    day_trigger = cron_trigger({"hour": fields["hour"], "minute": fields["minute"]}, book.tz)
    start = datetime(2026, 1, 5, tzinfo=book.tz)
    first = day_trigger.get_next_fire_time(None, start)
    second = day_trigger.get_next_fire_time(None, first + timedelta(microseconds=1))
    if second - first < timedelta(days=1):
        problems.append(f"{where}, field schedule.hour/minute: a reminder runs at most once a day; "
                        f"give one time (e.g. hour: 17, minute: 30)")
        return None
    if not spec.urgent:
        if book.quiet.contains(first.time()):
            problems.append(f"{where}, field schedule.hour: {first:%H:%M} is in quiet hours "
                            f"({book.quiet.start:%H:%M}-{book.quiet.end:%H:%M}); only urgent reminders may be sent then")
        if not spec.skip_holidays:
            problems.append(f"{where}, field skip_holidays: only urgent reminders may be sent on holidays "
                            f"(set skip_holidays: true or urgent: true)")
    allowed = set(book.company) | set(OCCURRENCE_FIELDS)
    unknown = _placeholders(spec.message.text) - allowed
    if unknown:
        problems.append(f"{where}, field message.text: unknown placeholder(s) "
                        + ", ".join("{" + u + "}" for u in sorted(unknown))
                        + "; known: " + ", ".join("{" + a + "}" for a in sorted(allowed)))
        return None
    if spec.audience.kind == "list":
        has_users = bool(spec.audience.users)
    else:
        has_users = True
    if len(spec.message.quick_replies) + (1 if has_users else 0) > 13:
        problems.append(f"{where}, field message.quick_replies: at most 12 (the opt-out chip is the 13th)")
        return None
    trigger = ReminderTrigger(fields, book.tz, book.calendar, observe_days_off=spec.skip_holidays,
                              on_day_off=spec.schedule.on_day_off, days=spec.schedule.days)
    reminder = Reminder(spec, trigger)
    try:
        book.contents(reminder, date(2026, 1, 5), to_user=True)
    except (ValueError, KeyError, IndexError) as exc:
        problems.append(f"{where}, field message: {exc}")
        return None
    return reminder


def load_company(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(k): str(v) for k, v in data.items()}


def load_reminders(path: Path, tz: ZoneInfo, company_path: Path | None = None) -> ReminderBook:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ReminderConfigError(path, [f"cannot read the file: {exc}"]) from exc
    if not isinstance(raw, dict):
        raise ReminderConfigError(path, ["the file must be a mapping with policy, commands, texts and reminders"])
    try:
        parsed = ReminderFile.model_validate(raw)
    except ValidationError as exc:
        problems = [f"{_location(e['loc'], raw)}: {e['msg']}" for e in exc.errors()]
        raise ReminderConfigError(path, problems) from None

    problems: list[str] = []
    missing = [k for k in REQUIRED_TEXTS if k not in parsed.texts]
    if missing:
        problems.append("field texts: missing " + ", ".join(missing))
    if len(parsed.texts.get("weekday_names", [])) != 7:
        problems.append("field texts.weekday_names: give the seven names, Monday first")
    for key in ("stop", "resume"):
        if not parsed.commands.get(key):
            problems.append(f"field commands.{key}: give at least one phrase")
    if problems:
        raise ReminderConfigError(path, problems)

    policy = parsed.policy
    book = ReminderBook(
        path=path, tz=tz, policy=policy,
        calendar=WorkCalendar(weekend=frozenset(WEEKDAYS.index(d) for d in policy.weekend),
                              company_holidays=frozenset(str(d) for d in policy.company_holidays)),
        quiet=QuietHours(policy.quiet_hours.start, policy.quiet_hours.end),
        commands=dict(parsed.commands), texts=dict(parsed.texts),
        company=load_company(company_path or path.parent / "company.yaml"),
    )
    seen: set[str] = set()
    for spec in parsed.reminders:
        if spec.id in seen:
            problems.append(f"reminder '{spec.id}', field id: used twice")
            continue
        seen.add(spec.id)
        reminder = _check_reminder(spec, book, problems)
        if reminder is not None:
            book.reminders.append(reminder)
    if problems:
        raise ReminderConfigError(path, problems)
    return book
