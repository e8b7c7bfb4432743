"""Routes an event to the first handler that takes it.

The routes are passed in by the composition root (bot/app.py), so the platform never imports the
business handlers. A handler returns a list of replies when the event is its own, or None to let the
next route try. Order (see bot/app.py): admin commands, active conversation, flow entry, FAQ, fallback.
"""
from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Protocol, Sequence

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
    named collaborators (handlers/services.py) and `records` their repositories over `tx`
    (handlers/repositories.py); the platform passes both along without knowing them.
    """

    now: datetime  # aware, in the bot's time zone
    settings: Settings
    tx: Connection
    texts: Texts
    services: Any = None
    records: Any = None


Handler = Callable[[Event, Context], "list[Reply] | None"]


@dataclass(frozen=True)
class Route:
    """A handler and who may reach it. `claims` tells which events are the route's own before access
    is checked (without it, the handler decides by returning None). A route that is `admin_only` or
    `private_only` (a 1:1 talk or the administrators' room) gets only events the dispatcher's access
    policy allows; any other event it claims gets the policy's refusal instead."""

    name: str
    handle: Handler
    claims: "Callable[[Event, Context], bool] | None" = None
    admin_only: bool = False
    private_only: bool = False

    @property
    def restricted(self) -> bool:
        return self.admin_only or self.private_only


class AccessPolicy(Protocol):
    def refusal(self, route: Route, event: Event, ctx: Context) -> "list[Reply] | None":
        """None when the event may reach the route, else the replies that refuse it."""


Screen = Callable[[Event, Context], "Event | None"]
Prepare = Callable[[Event], AbstractContextManager]


class Dispatcher:
    """`screen` sees every event first: it returns the event to route (possibly reworded), or None for
    an event that is not for the bot (a group room's chatter), which gets no reply.

    `prepare` runs before the transaction the handlers run in: it makes the API calls an event needs
    (directory look-ups) and returns the context the handlers then run in (where no API is called)."""

    def __init__(self, routes: Sequence[Route], screen: Screen | None = None, prepare: Prepare | None = None,
                 access: AccessPolicy | None = None):
        if access is None and any(route.restricted for route in routes):
            raise ValueError("routes declare access rules but the dispatcher has no access policy")
        self.routes = list(routes)
        self.screen = screen
        self.prepare = prepare
        self.access = access

    def prepared(self, event: Event) -> AbstractContextManager:
        return self.prepare(event) if self.prepare is not None else nullcontext()

    def dispatch(self, event: Event, ctx: Context) -> tuple[str, list[Reply]]:
        if self.screen is not None:
            screened = self.screen(event, ctx)
            if screened is None:
                return "not_addressed", []
            event = screened
        for route in self.routes:
            if route.claims is not None and not route.claims(event, ctx):
                continue
            if route.restricted:
                refused = self.access.refusal(route, event, ctx)
                if refused is not None:
                    return f"{route.name}:refused", list(refused)
            replies = route.handle(event, ctx)
            if replies is not None:
                return route.name, list(replies)
        return "unrouted", []
