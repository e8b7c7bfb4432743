"""config/company.yaml: the company's own values ({allowance_yen}, {admin_name}, {work_start}...).

One flat mapping of lower_case names to texts or numbers, used as placeholders by faq.yaml and
reminders.yaml. Read and checked here once for both.
"""
from __future__ import annotations

import re
import string
from pathlib import Path
from typing import Any

from config.files import ConfigError, read_yaml

NAME = re.compile(r"[a-z_][a-z0-9_]*")
_FORMATTER = string.Formatter()


def company_values(raw: Any, name: str = "company.yaml") -> tuple[dict[str, str], list[str]]:
    """The values and the problems found (one line each)."""
    if raw is None:
        return {}, []
    if not isinstance(raw, dict):
        return {}, [f"{name}: must be a mapping of name: value"]
    values: dict[str, str] = {}
    problems: list[str] = []
    for key, value in raw.items():
        if not isinstance(key, str) or not NAME.fullmatch(key):
            problems.append(f"{name}: key {key!r}: use lower_case_with_underscores")
        elif value is None or isinstance(value, (dict, list)):
            problems.append(f"{name}: key '{key}': must be a text or number")
        else:
            values[key] = str(value)
    return values, problems


def load_company(path: str | Path) -> dict[str, str]:
    values, problems = company_values(read_yaml(path), Path(path).name)
    if problems:
        raise ConfigError(problems)
    return values


def placeholders(template: str) -> list[str]:
    """The {names} a text uses; raises ValueError on a stray brace."""
    return [name for _, name, _, _ in _FORMATTER.parse(template) if name is not None]


def fill(template: str, values: dict[str, str], where: str, problems: list[str]) -> str:
    """The text with {name} replaced by the company's value; an unknown name is a problem."""
    try:
        names = placeholders(template)
    except ValueError as exc:
        problems.append(f"{where}: bad placeholder syntax ({exc}); write {{{{ and }}}} for braces")
        return template
    bad = [n for n in names if n not in values or not NAME.fullmatch(n)]
    if bad:
        known = ", ".join(sorted(values)) or "none"
        problems.append(f"{where}: unknown placeholder {{{bad[0]}}} (company.yaml has: {known})")
        return template
    return template.format_map(values)
