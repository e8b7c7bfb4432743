"""The whole access policy as one table: which routes are restricted, and who is let through where.

Routes declare `admin_only` / `private_only` (bot/app.py); the dispatcher enforces them through
handlers/access.py. Each refusal is audited under the command's name; an allowed command reaches its
handler. The talk-level behaviour (polite refusals, nothing leaked, no API call) is in
tests/hostile/test_admin_abuse.py.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.app import build_routes, create_app
from bot.dispatcher import Dispatcher, Route
from bot.events import parse_event
from handlers import admin, records
from handlers.access import AdminAccess
from tests.platform.helpers import text_event

ADMIN, EMPLOYEE = "admin-1", "u-employee"  # admin-1 is in BOT_ADMIN_USER_IDS (tests/conftest.py)
ADMIN_ROOM, SHOP_ROOM = "ch-admins", "ch-shop"

# route name: (admin_only, private_only). A new route must be added here, with its rule.
ROUTE_RULES = {
    "action_result": (False, False),  # internal events only: no member can send one
    "tickets_reminder": (False, False),  # internal events only
    "admin": (True, True),
    "ticket_conversation": (False, False),  # only a conversation the admin route (or the asker) started
    "rooms": (False, False),
    "lost_device_conversation": (False, False),
    "lost_device_found": (False, False),
    "lost_device_entry": (False, False),
    "reminders": (False, False),
    "faq_feedback": (False, False),
    "ask_person": (False, False),
    "unsupported": (False, False),
    "faq": (False, False),
    "fallback": (False, False),
}

# (sender, room) -> None when the admin route is reached, else the audited reason of the refusal.
ADMIN_ROUTE_TABLE = {
    (ADMIN, None): None,
    (ADMIN, ADMIN_ROOM): None,
    (ADMIN, SHOP_ROOM): "group room",
    (EMPLOYEE, None): "not an administrator",
    (EMPLOYEE, ADMIN_ROOM): "not an administrator",
    (EMPLOYEE, SHOP_ROOM): "group room",
}


def test_every_route_declares_its_access_rule():
    assert {r.name: (r.admin_only, r.private_only) for r in build_routes()} == ROUTE_RULES


def test_a_dispatcher_refuses_restricted_routes_without_an_access_policy():
    with pytest.raises(ValueError):
        Dispatcher([Route("admin", admin.handle, admin_only=True)])


@pytest.fixture
def runtime(settings_for, sqlite_url, clock):
    app = create_app(settings_for(sqlite_url, BOT_ADMIN_CHANNEL_ID=ADMIN_ROOM), clock=clock, start_worker=False)
    runtime = app.extensions["bot"]
    yield runtime
    runtime.store.engine.dispose()


def audited(runtime) -> list:
    with runtime.store.engine.connect() as conn:
        return [(r.actor_id, r.action, r.result) for r in conn.execute(select(records.audit_log))]


FEATURE_COMMANDS = ["answer", "tickets", "faq", "unanswered", "feedback"]  # added by features (Services)


@pytest.mark.parametrize("command", sorted(n for n in admin.COMMANDS if not n.startswith("@")) + FEATURE_COMMANDS)
def test_admin_commands_follow_the_table(runtime, command):
    reached: list[tuple[str, str | None]] = []
    route = Route("admin", lambda event, ctx: reached.append((event.source.user_id, event.source.channel_id))
                  or [], claims=admin.is_command, admin_only=True, private_only=True)
    dispatcher = Dispatcher([route], access=AdminAccess())
    for (sender, room), refusal in ADMIN_ROUTE_TABLE.items():
        event = parse_event(text_event(f"/{command}", user=sender, channel=room))
        with runtime.store.transaction() as tx:
            name, _ = dispatcher.dispatch(event, runtime.context(tx))
        assert name == ("admin" if refusal is None else "admin:refused"), (sender, room)
    allowed = [key for key, refusal in ADMIN_ROUTE_TABLE.items() if refusal is None]
    assert reached == allowed
    assert audited(runtime) == [(sender, f"refused:{command}", refusal)
                                for (sender, _), refusal in ADMIN_ROUTE_TABLE.items() if refusal is not None]


def test_an_employees_unknown_slash_text_is_not_an_admin_command(runtime):
    """Not claimed by the admin route: the FAQ gets "/通信費" like any other question."""
    with runtime.store.transaction() as tx:
        ctx = runtime.context(tx)
        assert not admin.is_command(parse_event(text_event("/通信費", user=EMPLOYEE)), ctx)
        assert admin.is_command(parse_event(text_event("/通信費", user=ADMIN)), ctx)  # told it is unknown
        assert admin.is_command(parse_event(text_event("/lockout x", user=EMPLOYEE)), ctx)  # refused, audited
