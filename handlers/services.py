"""The handlers' named collaborators, built once per process by the composition root (bot/app.py)
and reached through `ctx.services`."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Mapping

if TYPE_CHECKING:
    from bot.directory import Directory
    from handlers.admin import AdminPolicy
    from handlers.faq_chat import FaqLibrary
    from scheduler.service import ReminderService

AdminCommand = tuple[Callable, str]  # (handler, one line of help, or the messages.yaml key of one)


@dataclass(frozen=True)
class Services:
    directory: "Directory"
    admins: "AdminPolicy"
    faq: "FaqLibrary | None" = None
    reminders: "ReminderService | None" = None
    admin_commands: Mapping[str, AdminCommand] = field(default_factory=dict)  # commands added by features
