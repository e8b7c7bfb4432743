"""Reply values that handlers return, and their LINE WORKS content JSON.

Handlers build these plain values; only the worker turns them into API bodies. The documented limits
are enforced here, once: long text is split into several messages, and structures the platform would
refuse (too many quick replies or buttons, a postback where it is not allowed) raise ValueError at
build time instead of failing later at the API.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

TEXT_LIMIT = 2000
QUICK_REPLY_LIMIT = 13
BUTTON_LIMIT = 10
CAROUSEL_COLUMN_LIMIT = 10
CAROUSEL_ACTION_LIMIT = 3
LABEL_LIMIT = 20
ACTION_TEXT_LIMIT = 300
POSTBACK_DATA_LIMIT = 300
MESSAGE_POSTBACK_LIMIT = 1000
BUTTON_TEXT_LIMIT = 1000


def _fit(value: str, limit: int) -> str:
    """Shorten a label-like string to the platform's limit (labels come from editable config)."""
    return value if len(value) <= limit else value[: limit - 1] + "…"


@dataclass(frozen=True)
class MessageAction:
    """Sends `text` as if the user typed it (with an optional hidden postback string)."""

    label: str
    text: str | None = None
    postback: str | None = None

    def to_json(self, where: str) -> dict:
        action = {"type": "message", "label": _fit(self.label, LABEL_LIMIT)}
        # In button/list templates the label is what the user sends; elsewhere text is required.
        text = self.text or self.label
        if where not in ("button_template",):
            action["text"] = _fit(text, ACTION_TEXT_LIMIT)
        if self.postback:
            if len(self.postback) > MESSAGE_POSTBACK_LIMIT:
                raise ValueError("message action postback is longer than 1000 characters")
            action["postback"] = self.postback
        return action


@dataclass(frozen=True)
class PostbackAction:
    """Sends a postback event with `data`; shows `display_text` as the user's message."""

    label: str
    data: str
    display_text: str

    def to_json(self, where: str) -> dict:
        if where == "button_template":
            raise ValueError("postback actions are not allowed in a button template")
        if len(self.data) > POSTBACK_DATA_LIMIT:
            raise ValueError("postback data is longer than 300 characters")
        return {
            "type": "postback",
            "label": _fit(self.label, LABEL_LIMIT),
            "data": self.data,
            "displayText": _fit(self.display_text or self.label, ACTION_TEXT_LIMIT),
        }


@dataclass(frozen=True)
class UriAction:
    label: str
    uri: str

    def to_json(self, where: str) -> dict:
        if not self.uri.startswith(("https://", "http://")) or len(self.uri) > 1000:
            raise ValueError(f"not an http(s) URI of at most 1000 characters: {self.uri!r}")
        return {"type": "uri", "label": _fit(self.label, LABEL_LIMIT), "uri": self.uri}


Action = Union[MessageAction, PostbackAction, UriAction]


def _quick_reply_json(items: tuple[Action, ...]) -> dict | None:
    if not items:
        return None
    if len(items) > QUICK_REPLY_LIMIT:
        raise ValueError(f"{len(items)} quick-reply items; the limit is {QUICK_REPLY_LIMIT}")
    return {"items": [{"action": item.to_json("quick_reply")} for item in items]}


@dataclass(frozen=True)
class Text:
    text: str
    quick_replies: tuple[Action, ...] = ()

    def contents(self) -> list[dict]:
        chunks = split_text(self.text)
        out = [{"type": "text", "text": chunk} for chunk in chunks]
        quick = _quick_reply_json(self.quick_replies)
        if quick:
            out[-1]["quickReply"] = quick
        return out

    def plain_text(self) -> str:
        return self.text


@dataclass(frozen=True)
class Buttons:
    """A button template: text with up to 10 message/uri buttons."""

    text: str
    actions: tuple[Action, ...]
    quick_replies: tuple[Action, ...] = ()

    def contents(self) -> list[dict]:
        if not 1 <= len(self.actions) <= BUTTON_LIMIT:
            raise ValueError(f"{len(self.actions)} buttons; a button template takes 1 to {BUTTON_LIMIT}")
        if len(self.text) > BUTTON_TEXT_LIMIT:
            # Too long for a template: send the text on its own, then the buttons.
            head = Text(self.text).contents()
            return head + Buttons("↓", self.actions, self.quick_replies).contents()
        content = {
            "type": "button_template",
            "contentText": self.text,
            "actions": [a.to_json("button_template") for a in self.actions],
        }
        quick = _quick_reply_json(self.quick_replies)
        if quick:
            content["quickReply"] = quick
        return [content]

    def plain_text(self) -> str:
        return self.text


@dataclass(frozen=True)
class Column:
    title: str
    text: str
    actions: tuple[Action, ...]


@dataclass(frozen=True)
class Carousel:
    columns: tuple[Column, ...]
    quick_replies: tuple[Action, ...] = ()

    def contents(self) -> list[dict]:
        if not 1 <= len(self.columns) <= CAROUSEL_COLUMN_LIMIT:
            raise ValueError(f"{len(self.columns)} carousel columns; the limit is {CAROUSEL_COLUMN_LIMIT}")
        columns = []
        for column in self.columns:
            if not 1 <= len(column.actions) <= CAROUSEL_ACTION_LIMIT:
                raise ValueError("a carousel column takes 1 to 3 actions")
            columns.append(
                {
                    "title": _fit(column.title, 40),
                    "text": _fit(column.text, 60),
                    "actions": [a.to_json("carousel") for a in column.actions],
                }
            )
        content = {"type": "carousel", "columns": columns}
        quick = _quick_reply_json(self.quick_replies)
        if quick:
            content["quickReply"] = quick
        return [content]

    def plain_text(self) -> str:
        return "\n".join(f"{c.title}\n{c.text}" for c in self.columns)


Content = Union[Text, Buttons, Carousel]


@dataclass(frozen=True)
class Recipient:
    """Where a message goes: a user (1:1 talk) or a channel (talk room)."""

    user_id: str | None = None
    channel_id: str | None = None

    def __post_init__(self):
        if bool(self.user_id) == bool(self.channel_id):
            raise ValueError("a recipient is either a user or a channel")

    @property
    def kind(self) -> str:
        return "channel" if self.channel_id else "user"

    @property
    def id(self) -> str:
        return self.channel_id or self.user_id  # type: ignore[return-value]


@dataclass(frozen=True)
class Reply:
    """One message a handler wants sent.

    `to=None` means "answer where the event came from". `urgent` marks messages that may be sent at
    night (lost-device notices); `must_deliver` ones are retried until delivered, others may expire.
    """

    content: Content
    to: Recipient | None = None
    urgent: bool = False
    must_deliver: bool = False
    meta: dict = field(default_factory=dict)


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Split text into chunks of at most `limit` characters, preferring line breaks."""
    if not text:
        return [" "]
    chunks: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit)
        if cut <= 0:
            cut = limit
        chunks.append(rest[:cut])
        rest = rest[cut:].lstrip("\n")
    if rest:
        chunks.append(rest)
    return chunks
