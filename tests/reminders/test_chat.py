"""Through the emulator and the web app: employees stop and resume reminders; admins list and send."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest
from sqlalchemy import select

from handlers import reminder_records as rr
from bot.dispatcher import Route
from emulator.directory import ADMIN, SEED_USERS
from handlers import reminders
from scheduler.service import ReminderService
from tests.reminders.conftest import ACTIVE_SEED, TZ, delivered, make_broadcaster
from tests.reminders.test_broadcast import run_to_end
from tests.stack import running_stack

SUZUKI = SEED_USERS["suzuki"].user_id


def wire(stack, book) -> ReminderService:
    """What the composition root does: the service, the route (before the FAQ) and the admin commands."""
    runtime = stack.runtime
    service = ReminderService(book)
    runtime.services = replace(runtime.services, reminders=service, admin_commands={
        **runtime.services.admin_commands, **reminders.admin_commands(service)})
    routes = runtime.worker.inbox.dispatcher.routes
    at = next((i for i, r in enumerate(routes) if r.name in ("faq", "fallback")), len(routes))
    routes.insert(at, Route("reminders", reminders.handle))
    return service


def last_reply(emu, user_id, count):
    return emu.wait_for_bot_messages(count, user_id=user_id)[-1]["content"]["text"]


def opted_out(runtime):
    with runtime.store.engine.connect() as conn:
        return [r.user_id for r in conn.execute(select(rr.reminder_opt_outs))]


@pytest.mark.parametrize("stop, resume", [("リマインダー停止", "リマインダー再開"),
                                          ("リマインダー　停止。", "ﾘﾏｲﾝﾀﾞｰ再開"),
                                          ("リマインダーを止めて", "リマインダーを再開して")])
def test_stop_and_resume_are_stored_confirmed_and_honoured(keypair, sqlite_url, clock, book, fake_time, stop,
                                                           resume):
    with running_stack(keypair, sqlite_url, clock) as stack:
        wire(stack, book)
        emu, runtime = stack.emulator, stack.runtime
        emu.say(SUZUKI, stop)
        assert "停止しました" in last_reply(emu, SUZUKI, 1)
        assert opted_out(runtime) == [SUZUKI]
        emu.say(SUZUKI, stop)
        assert "すでに停止しています" in last_reply(emu, SUZUKI, 2)

        with runtime.store.transaction() as tx:
            ReminderService(book).request_send(tx, "all-hands", clock.now(), "test")
        run_to_end(make_broadcaster(runtime, book, fake_time))
        to_her = [m["content"].get("text", "") for m in emu.bot_messages(user_id=SUZUKI)]
        assert len(to_her) == 2 and not any(t.startswith("全員へのお知らせ") for t in to_her)
        assert delivered(emu)[("user", SEED_USERS["tanaka"].user_id)] == 1

        emu.say(SUZUKI, resume)
        assert "再開しました" in last_reply(emu, SUZUKI, 3)
        assert opted_out(runtime) == []
        clock.set(datetime(2026, 11, 18, 10, 0, tzinfo=TZ))
        with runtime.store.transaction() as tx:
            ReminderService(book).request_send(tx, "all-hands", clock.now(), "test")
        run_to_end(make_broadcaster(runtime, book, fake_time))
        texts = [m["content"].get("text") for m in emu.bot_messages(user_id=SUZUKI)]
        assert texts[-1] == "全員へのお知らせです（11月18日（水））。"
        assert sum(1 for t in texts if t and t.startswith("全員へのお知らせ")) == 1


def test_the_chip_on_a_reminder_stops_reminders(keypair, sqlite_url, clock, book, fake_time):
    with running_stack(keypair, sqlite_url, clock) as stack:
        wire(stack, book)
        emu, runtime = stack.emulator, stack.runtime
        with runtime.store.transaction() as tx:
            ReminderService(book).request_send(tx, "direct", clock.now(), "test")
        run_to_end(make_broadcaster(runtime, book, fake_time))
        chip = emu.bot_messages(user_id=SUZUKI)[0]["content"]["quickReply"]["items"][-1]["action"]
        emu.say(SUZUKI, chip["text"])
        assert "停止しました" in last_reply(emu, SUZUKI, 2)
        assert opted_out(runtime) == [SUZUKI]


def test_admin_lists_reminders_and_requests_a_send_that_the_clock_delivers(keypair, sqlite_url, clock, book,
                                                                            fake_time):
    with running_stack(keypair, sqlite_url, clock) as stack:
        wire(stack, book)
        emu, runtime = stack.emulator, stack.runtime
        emu.say(ADMIN.user_id, "/reminder send all-hands")
        accepted = last_reply(emu, ADMIN.user_id, 1)
        assert "「全員」の11月17日（火）分の配信を受け付けました" in accepted
        with runtime.store.engine.connect() as conn:
            row = rr.find_broadcast(conn, "all-hands", "2026-11-17")
        assert (row.status, row.phase, row.requested_by) == ("pending", "requested", ADMIN.user_id)
        assert ("user", SEED_USERS["tanaka"].user_id) not in delivered(emu)  # the web worker did not send it

        run_to_end(make_broadcaster(runtime, book, fake_time))  # the clock process
        got = delivered(emu)
        assert all(got[("user", u)] == 1 for u in ACTIVE_SEED if u != ADMIN.user_id)

        before = len(emu.bot_messages(user_id=ADMIN.user_id))
        emu.say(ADMIN.user_id, "/reminders")
        listing = last_reply(emu, ADMIN.user_id, before + 1)
        assert "リマインダーは3件です（時刻はAsia/Tokyo" in listing
        assert "■ all-hands（全員）" in listing and "■ managers（管理職）" in listing
        assert "次回: 11月18日（水） 10:00、11月19日（木） 10:00" in listing
        assert f"送信済み {len(ACTIVE_SEED)}件／残り 0件" in listing

        before = len(emu.bot_messages(user_id=ADMIN.user_id))  # counted before asking: the reply may be quick
        emu.say(ADMIN.user_id, "/reminder send nothing-like-this")
        assert "「nothing-like-this」というリマインダーはありません" in last_reply(emu, ADMIN.user_id, before + 1)


def test_admin_send_is_refused_in_quiet_hours_and_from_non_admins(keypair, sqlite_url, clock, book):
    clock.set(datetime(2026, 11, 17, 21, 0, tzinfo=TZ))
    with running_stack(keypair, sqlite_url, clock) as stack:
        wire(stack, book)
        emu, runtime = stack.emulator, stack.runtime
        emu.say(ADMIN.user_id, "/reminder send all-hands")
        assert "今は配信しない時間帯（20:00〜08:00）" in last_reply(emu, ADMIN.user_id, 1)
        emu.say(SUZUKI, "/reminder send all-hands")
        emu.wait_for_bot_messages(1, user_id=SUZUKI)
        with runtime.store.engine.connect() as conn:
            assert rr.unfinished_broadcasts(conn) == []
