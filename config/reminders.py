"""config/reminders.yaml: the file's schema (policy, commands, texts, reminders), checked field by field.

What needs the calendar and the triggers (a valid cron time, once a day, not in quiet hours, known
placeholders) is checked when the scheduler builds its ReminderBook (scheduler/config.py).
"""
from __future__ import annotations

from datetime import datetime, time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.replies import MessageAction, UriAction
from config.files import ConfigError, problems_of, read_yaml

REQUIRED_TEXTS = (
    "opt_out_chip", "opted_out", "already_opted_out", "opted_in", "already_opted_in", "date_format",
    "weekday_names", "admin_list_header", "admin_list_item", "admin_list_next", "admin_list_no_runs",
    "admin_list_today", "run_separator", "admin_send_accepted", "admin_send_running", "admin_unknown", "admin_usage",
    "admin_refused_quiet", "admin_refused_day_off", "help_list", "help_send", "audience_all", "audience_managers",
    "audience_list", "enabled", "disabled", "quiet_hours",
)


class ReminderConfigError(ConfigError):
    pass


def _in_file(path: Path, problems: list[str]) -> list[str]:
    return [f"{path.name}: {p}" for p in problems]


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


def _reminder_named(raw: dict):
    """Names the reminder a pydantic error location points into: ("reminders", 2, ...) -> "reminder 'x'"."""
    def name_item(loc: tuple) -> tuple[str, tuple]:
        if len(loc) >= 2 and loc[0] == "reminders" and isinstance(loc[1], int):
            items = raw.get("reminders") or []
            entry = items[loc[1]] if loc[1] < len(items) else {}
            rid = entry.get("id") if isinstance(entry, dict) else None
            return (f"reminder '{rid}'" if rid else f"reminder #{loc[1] + 1}"), loc[2:]
        return "", loc
    return name_item


def file_problems(parsed: ReminderFile) -> list[str]:
    """What the schema alone does not say: every text the bot needs, seven weekday names, commands."""
    problems: list[str] = []
    missing = [k for k in REQUIRED_TEXTS if k not in parsed.texts]
    if missing:
        problems.append("field 'texts': missing " + ", ".join(missing))
    if len(parsed.texts.get("weekday_names", [])) != 7:
        problems.append("field 'texts.weekday_names': give the seven names, Monday first")
    for key in ("stop", "resume"):
        if not parsed.commands.get(key):
            problems.append(f"field 'commands.{key}': give at least one phrase")
    seen: set[str] = set()
    for spec in parsed.reminders:
        if spec.id in seen:
            problems.append(f"reminder '{spec.id}': field 'id': used twice")
        seen.add(spec.id)
    return problems


def load_reminder_file(path: str | Path) -> ReminderFile:
    path = Path(path)
    raw = read_yaml(path, ReminderConfigError) or {}
    if not isinstance(raw, dict):
        raise ReminderConfigError([f"{path.name}: must be a mapping with policy, commands, texts and reminders"])
    try:
        parsed = ReminderFile.model_validate(raw)
    except ValidationError as exc:
        raise ReminderConfigError(problems_of(path.name, exc, _reminder_named(raw))) from None
    problems = file_problems(parsed)
    if problems:
        raise ReminderConfigError([f"{path.name}: {p}" for p in problems])
    return parsed
