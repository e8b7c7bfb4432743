"""Routes an event to the first handler that takes it.

The routes are passed in by the composition root (bot/app.py), so the platform never imports the
business handlers. A handler returns a list of replies when the event is its own, or None to let the
next route try. Order (see bot/app.py): admin commands, active conversation, flow entry, FAQ, fallback.
"""
from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Sequence

from sqlalchemy.engine import Connection

from bot.events import Event
from bot.replies import Reply
from config.settings import Settings
from config.texts import Texts


@dataclass(frozen=True)
class Context:
    """What a handler may look at besides the event. Built per event by the worker.

    `tx` is the transaction the handler's writes go into: they commit together with the replies it
    returns and with the inbox row being marked done, or not at all. `services` are the handlers' own
    named collaborators (handlers/services.py), which the platform passes along without knowing them.
    """

    now: datetime  # aware, in the bot's time zone
    settings: Settings
    tx: Connection
    texts: Texts
    services: Any = None


Handler = Callable[[Event, Context], "list[Reply] | None"]


@dataclass(frozen=True)
class Route:
    name: str
    handle: Handler


Screen = Callable[[Event, Context], "Event | None"]
Prepare = Callable[[Event], AbstractContextManager]


class Dispatcher:
    """`screen` sees every event first: it returns the event to route (possibly reworded), or None for
    an event that is not for the bot (a group room's chatter), which gets no reply.

    `prepare` runs before the transaction the handlers run in: it makes the API calls an event needs
    (directory look-ups) and returns the context the handlers then run in (where no API is called)."""

    def __init__(self, routes: Sequence[Route], screen: Screen | None = None, prepare: Prepare | None = None):
        self.routes = list(routes)
        self.screen = screen
        self.prepare = prepare

    def prepared(self, event: Event) -> AbstractContextManager:
        return self.prepare(event) if self.prepare is not None else nullcontext()

    def dispatch(self, event: Event, ctx: Context) -> tuple[str, list[Reply]]:
        if self.screen is not None:
            screened = self.screen(event, ctx)
            if screened is None:
                return "not_addressed", []
            event = screened
        for route in self.routes:
            replies = route.handle(event, ctx)
            if replies is not None:
                return route.name, list(replies)
        return "unrouted", []
