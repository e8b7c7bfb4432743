"""Rooms: what the bot says when it joins a room or a member opens a talk with it, and when it speaks
in a group room at all.

In the administrators' room and in a 1:1 talk the bot answers everything. In any other group room it
receives every line of the conversation (the callback does not say whether the bot was addressed), so
it answers only a message that begins with "/" or with its name (BOT_NAME, e.g. 「ボット 通信費は？」),
or a press on one of its own buttons; everything else there is left alone.
"""
from __future__ import annotations

import dataclasses
import re
import unicodedata

from bot.events import MessageEvent, RoomEvent, TextContent
from bot.replies import Recipient, Reply, Text

START_POSTBACK = "start"  # the 利用開始 button of a 1:1 talk
_SEPARATORS = " 　、,，:：!！さん"


def handle(event, ctx):
    if isinstance(event, RoomEvent):
        if event.type == "join":
            return [Reply(Text(ctx.texts("platform.joined_room", bot_name=ctx.settings.bot_name))),
                    *_room_id_for_admins(event, ctx)]
        if event.type == "begin":
            return [Reply(Text(ctx.texts("platform.welcome")))] if event.source.user_id else []
        return []
    if isinstance(event, MessageEvent) and isinstance(event.content, TextContent) \
            and event.content.postback == START_POSTBACK and not event.source.channel_id:
        return [Reply(Text(ctx.texts("platform.welcome")))]
    return None


def _room_id_for_admins(event, ctx) -> list[Reply]:
    """Until an administrators' room is set, each administrator learns the id of a room the bot joins
    (LINE WORKS' app does not show it), so that it can become BOT_ADMIN_CHANNEL_ID."""
    channel = event.source.channel_id
    if ctx.settings.admin_channel_id or not channel:
        return []
    text = Text(ctx.texts("platform.room_id_for_admins", channel_id=channel))
    return [Reply(text, to=Recipient(user_id=admin)) for admin in ctx.settings.admin_user_ids]


def in_group_room(event, settings) -> bool:
    channel = event.source.channel_id
    return bool(channel) and channel != settings.admin_channel_id


def addressed(event, ctx):
    """The event to route, or None when it was said in a group room and not to the bot. A message
    addressed by name is routed without the name (「@ボット 通信費は？」 -> 「通信費は？」)."""
    if not isinstance(event, MessageEvent) or not in_group_room(event, ctx.settings):
        return event
    content = event.content
    if not isinstance(content, TextContent):
        return None  # a sticker or a photo in a team room is not for the bot
    if content.postback or content.text.lstrip().startswith("/"):
        return event  # one of its buttons, or a command
    rest = after_name(content.text, ctx.settings.bot_name, ctx.settings.bot_id)
    if rest is None:
        return None
    return dataclasses.replace(event, content=dataclasses.replace(content, text=rest or "メニュー"))


def after_name(text: str, name: str, bot_id: str) -> str | None:
    """The text after a leading 「@name」, 「name」 or mention of the bot; None when it does not begin so."""
    folded = unicodedata.normalize("NFKC", text).lstrip()
    mention = re.match(r'<m\s+userId="([^"]*)"\s*/?>(?:</m>)?', folded)
    if mention and mention.group(1) == bot_id:
        return folded[mention.end():].lstrip(_SEPARATORS)
    bare = folded[1:] if folded.startswith("@") else folded
    key = unicodedata.normalize("NFKC", name).casefold()
    if key and bare.casefold().startswith(key):
        return bare[len(key):].lstrip(_SEPARATORS)
    return None
