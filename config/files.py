"""Reading config/ files: one error type and one style of message for every file.

Every problem is one line that names the file, the item and the field, e.g.

    faq.yaml: entry 'comm-cost': field 'answer': unknown placeholder {allowance} (company.yaml has: ...)
    reminders.yaml: reminder 'after-hours': field 'schedule.hour': 25 is not a valid hour

and all the problems found are reported together, so that one run of `python -m manage check` shows
everything to fix.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)


class ConfigError(ValueError):
    """One or more mistakes in config/ files, one line each."""

    def __init__(self, problems: list[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))

    @property
    def errors(self) -> list[str]:
        return self.problems


def read_yaml(path: str | Path, error: type[ConfigError] = ConfigError) -> Any:
    """The file's YAML data; a missing or malformed file raises `error` naming it."""
    name = Path(path).name
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except FileNotFoundError:
        raise error([f"{name}: file not found: {path}"]) from None
    except yaml.YAMLError as exc:
        raise error([f"{name}: not valid YAML: {exc}"]) from None


def field_path(loc: tuple) -> str:
    """'a.b.0' from a pydantic location, without pydantic's internal steps (function-after[...])."""
    return ".".join(str(p) for p in loc if not str(p).startswith(("function-", "literal[")))


def problems_of(where: str, exc: ValidationError, name_item: Callable[[tuple], tuple[str, tuple]] | None = None
                ) -> list[str]:
    """One line per pydantic error: "<where>: field '<path>': <message>".

    `name_item` may turn the start of a location into an item's name (e.g. ("entries", 3) -> "entry 'x'")
    and return the rest of the location."""
    lines = []
    for err in exc.errors():
        loc, item = tuple(err["loc"]), ""
        if name_item is not None:
            item, loc = name_item(loc)
        message = {"missing": "required", "extra_forbidden": "unknown field"}.get(err["type"], err["msg"])
        prefix = f"{where}: {item}: " if item else f"{where}: "
        lines.append(f"{prefix}field '{field_path(loc)}': {message}" if loc else f"{prefix}{message}")
    return lines


def validate(model: type[Model], raw: Any, where: str, error: type[ConfigError] = ConfigError,
             name_item: Callable[[tuple], tuple[str, tuple]] | None = None) -> Model:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise error(problems_of(where, exc, name_item)) from None
