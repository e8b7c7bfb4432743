"""Typed callback events, parsed from the documented LINE WORKS JSON.

`parse_event` raises EventError only when the body is not an event object at all (the webhook
answers 400). Unknown event types and unknown message content types parse into Unknown* values, so
that the webhook can acknowledge and ignore them with a log line.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Union


class EventError(ValueError):
    """The body is not a LINE WORKS event object."""


@dataclass(frozen=True)
class Source:
    user_id: str | None
    channel_id: str | None
    domain_id: str | None

    @property
    def in_channel(self) -> bool:
        return bool(self.channel_id)


@dataclass(frozen=True)
class TextContent:
    text: str
    postback: str | None = None


@dataclass(frozen=True)
class LocationContent:
    address: str | None
    latitude: float | None
    longitude: float | None


@dataclass(frozen=True)
class StickerContent:
    package_id: str | None
    sticker_id: str | None


@dataclass(frozen=True)
class FileContent:
    """image, file, audio or video: all carry a fileId to download."""

    kind: str
    file_id: str | None


@dataclass(frozen=True)
class UnknownContent:
    kind: str


MessageContent = Union[TextContent, LocationContent, StickerContent, FileContent, UnknownContent]


@dataclass(frozen=True)
class MessageEvent:
    source: Source
    issued_time: str | None
    content: MessageContent
    type: str = field(default="message", init=False)


@dataclass(frozen=True)
class PostbackEvent:
    source: Source
    issued_time: str | None
    data: str
    type: str = field(default="postback", init=False)


@dataclass(frozen=True)
class RoomEvent:
    """join / leave (the bot), joined / left (members), and begin (a member opened a 1:1 talk with
    the bot; it carries the member's userId)."""

    type: str
    source: Source
    issued_time: str | None
    members: tuple[str, ...] = ()


@dataclass(frozen=True)
class UnknownEvent:
    type: str
    source: Source
    issued_time: str | None


@dataclass(frozen=True)
class InternalEvent:
    """Raised by the bot itself (never parsed from a callback), e.g. an account action finished."""

    type: str
    payload: dict
    source: Source = Source(None, None, None)
    issued_time: str | None = None


Event = Union[MessageEvent, PostbackEvent, RoomEvent, UnknownEvent, InternalEvent]

ROOM_EVENT_TYPES = ("join", "leave", "joined", "left", "begin")
FILE_KINDS = ("image", "file", "audio", "video")


def _storable(value: str, key: str) -> str:
    """Text the database can keep: no NUL (PostgreSQL refuses it) and no lone surrogate (not UTF-8).

    Both are legal JSON escapes but never typed by a person; accepted, they made every database write
    of the event fail (a report lost, a row retried and then failed) instead of a clean 400.
    """
    if "\x00" in value:
        raise EventError(f"'{key}' must not contain NUL")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise EventError(f"'{key}' must be valid Unicode text") from None
    return value


def _opt_str(obj: dict, key: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return _storable(str(value), key)
    raise EventError(f"'{key}' must be a string")


def _opt_float(obj: dict, key: str, limit: float) -> float | None:
    """A number within ±limit (a latitude or a longitude), or None when absent. A 400-digit integer,
    1e999 or NaN is refused like any other malformed field."""
    value = obj.get(key)
    if value is None:
        return None
    number = None
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        try:
            number = float(value)
        except (ValueError, OverflowError):
            number = None
    if number is None or not math.isfinite(number) or abs(number) > limit:
        raise EventError(f"'{key}' must be a number between -{limit:g} and {limit:g}")
    return number


def _source(body: dict) -> Source:
    source = body.get("source", {})
    if not isinstance(source, dict):
        raise EventError("'source' must be an object")
    return Source(
        user_id=_opt_id(source, "userId"),
        channel_id=_opt_id(source, "channelId"),
        domain_id=_opt_id(source, "domainId"),
    )


MAX_ID_CHARS = 200  # the id columns' size: a longer id could never be stored, so it is refused here


def _opt_id(obj: dict, key: str) -> str | None:
    value = _opt_str(obj, key)
    if value is not None and len(value) > MAX_ID_CHARS:
        raise EventError(f"'{key}' is longer than {MAX_ID_CHARS} characters")
    return value


def _content(body: dict) -> MessageContent:
    content = body.get("content")
    if not isinstance(content, dict):
        raise EventError("a message event needs a 'content' object")
    kind = content.get("type")
    if not isinstance(kind, str):
        raise EventError("'content.type' must be a string")
    if kind == "text":
        text = content.get("text")
        if not isinstance(text, str):
            raise EventError("'content.text' must be a string")
        return TextContent(text=_storable(text, "content.text"), postback=_opt_str(content, "postback"))
    if kind == "location":
        return LocationContent(
            address=_opt_str(content, "address"),
            latitude=_opt_float(content, "latitude", 90),
            longitude=_opt_float(content, "longitude", 180),
        )
    if kind == "sticker":
        return StickerContent(package_id=_opt_str(content, "packageId"), sticker_id=_opt_str(content, "stickerId"))
    if kind in FILE_KINDS:
        return FileContent(kind=kind, file_id=_opt_str(content, "fileId"))
    return UnknownContent(kind=kind)


def parse_event(body: Any) -> Event:
    if not isinstance(body, dict):
        raise EventError("the body must be a JSON object")
    kind = body.get("type")
    if not isinstance(kind, str) or not kind:
        raise EventError("'type' must be a non-empty string")
    source = _source(body)
    issued = _opt_str(body, "issuedTime")
    if kind == "message":
        if not source.user_id:
            raise EventError("a message event needs 'source.userId'")
        return MessageEvent(source=source, issued_time=issued, content=_content(body))
    if kind == "postback":
        if not source.user_id:
            raise EventError("a postback event needs 'source.userId'")
        data = body.get("data")
        if not isinstance(data, str):
            raise EventError("'data' must be a string")
        return PostbackEvent(source=source, issued_time=issued, data=_storable(data, "data"))
    if kind in ROOM_EVENT_TYPES:
        members = body.get("members", [])
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            raise EventError("'members' must be a list of user ids")
        return RoomEvent(type=kind, source=source, issued_time=issued,
                         members=tuple(_storable(m, "members") for m in members))
    return UnknownEvent(type=kind, source=source, issued_time=issued)


def parse_internal(body: dict) -> InternalEvent:
    payload = {k: v for k, v in body.items() if k != "type"}
    return InternalEvent(type=str(body["type"]), payload=payload)


def issued_at(event: Event) -> datetime | None:
    """The event's `issuedTime` (ISO-8601, e.g. 2022-01-04T05:16:05.716Z) as an aware datetime, or None
    when it is missing or not a time. A time without a zone is taken as UTC."""
    try:
        moment = datetime.fromisoformat((event.issued_time or "").replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def is_ignorable(event: Event) -> bool:
    """Unknown events and unknown message contents are acknowledged and dropped."""
    if isinstance(event, UnknownEvent):
        return True
    return isinstance(event, MessageEvent) and isinstance(event.content, UnknownContent)


def describe(event: Event) -> str:
    """A short, non-personal label for log lines (no message text)."""
    if isinstance(event, MessageEvent):
        kind = getattr(event.content, "kind", None) or type(event.content).__name__.replace("Content", "").lower()
        return f"message/{kind}"
    return event.type
