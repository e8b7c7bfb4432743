"""Last routes: content the bot cannot read, and text nothing else took."""
from __future__ import annotations

from bot.events import MessageEvent, TextContent
from bot.replies import Reply, Text


def handle_unsupported(event, ctx):
    """Stickers, images, files, locations: say kindly that only text is understood."""
    if isinstance(event, MessageEvent) and not isinstance(event.content, TextContent):
        return [Reply(Text(ctx.texts("platform.unsupported_content")))]
    return None


def handle(event, ctx):
    if isinstance(event, MessageEvent):
        return [Reply(Text(ctx.texts("fallback.unknown")))]
    return []
