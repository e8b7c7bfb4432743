"""Room events: greet a room the bot was added to; members joining or leaving need no answer."""
from __future__ import annotations

from bot.events import RoomEvent
from bot.replies import Reply, Text


def handle(event, ctx):
    if not isinstance(event, RoomEvent):
        return None
    if event.type == "join":
        return [Reply(Text(ctx.texts("platform.joined_room")))]
    return []
