"""User-visible texts of the platform and flows, kept in config/messages.yaml.

Loaded and checked once at start: a missing key is a start-up error, not a surprise in a chat.

The values put into a text are data: whatever a person typed (a report's fields, a command's argument,
a name from the directory) goes through `bot.text.inert` here, so it can never become a LINE WORKS
mention (`<m userId="all">`) in a message the bot sends. Markup the bot means to send belongs in the
template in messages.yaml, never in a value.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

from bot.text import inert
from config.files import ConfigError, read_yaml


class TextsError(ConfigError):
    pass


class Texts:
    def __init__(self, entries: Mapping[str, str]):
        self._entries = dict(entries)

    def __call__(self, key: str, **values) -> str:
        try:
            template = self._entries[key]
        except KeyError:
            raise TextsError(f"messages.yaml has no text '{key}'") from None
        if not values:
            return template
        return template.format(**{name: inert(v) if isinstance(v, str) else v for name, v in values.items()})

    def has(self, key: str) -> bool:
        return key in self._entries

    def require(self, keys) -> None:
        missing = [k for k in keys if k not in self._entries]
        if missing:
            raise TextsError([f"messages.yaml: field '{key}': required" for key in sorted(missing)])


def _flatten(prefix: str, node, out: dict) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), value, out)
    elif isinstance(node, str):
        out[prefix] = node.rstrip("\n")
    else:
        raise TextsError(f"messages.yaml: field '{prefix}': must be text")


def load_texts(path: Path) -> Texts:
    data = read_yaml(path, TextsError) or {}
    flat: dict[str, str] = {}
    _flatten("", data, flat)
    return Texts(flat)
