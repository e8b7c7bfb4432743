"""Who may reach a restricted route (bot/dispatcher.py's `admin_only` / `private_only`).

Administrators are the members the AdminPolicy names (handlers/admin.py). A private route answers
only in a 1:1 talk with the bot or in the administrators' room (BOT_ADMIN_CHANNEL_ID): a group room
would show report details to everyone in it. Every refusal is written to the audit log, under the
command's name.
"""
from __future__ import annotations

from bot.dispatcher import Context, Route
from bot.errors import ApiError
from bot.events import Event
from bot.replies import Reply, Text
from handlers.admin import parse_command


class AdminAccess:
    def refusal(self, route: Route, event: Event, ctx: Context) -> list[Reply] | None:
        user_id = event.source.user_id or "-"
        channel = event.source.channel_id
        try:
            is_admin = ctx.services.admins.is_admin(event.source.user_id) if route.admin_only else True
        except ApiError as exc:
            return [Reply(Text(ctx.texts("admin.directory_unavailable", reason=f"{exc.status or exc.code}")))]
        what = f"refused:{_action_name(route, event)}"
        if route.private_only and channel and channel != ctx.settings.admin_channel_id:
            ctx.records.audit.add(ctx.now, user_id, what, "group room", target=channel)
            return [Reply(Text(ctx.texts("admin.refused_group_room")))]
        if not is_admin:
            ctx.records.audit.add(ctx.now, user_id, what, "not an administrator")
            return [Reply(Text(ctx.texts("admin.refused_not_admin")))]
        return None


def _action_name(route: Route, event: Event) -> str:
    command = parse_command(event)
    return command[0] if command else route.name
