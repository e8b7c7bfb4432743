"""Broadcast through the emulator: audiences, resume after a crash, 429, quiet hours, two clocks."""
from __future__ import annotations

import threading
from datetime import datetime

import pytest
from sqlalchemy import select

from handlers import reminder_records as rr
from bot.store import outbox
from emulator.directory import ADMIN_CHANNEL_ID, SEED_USERS
from scheduler.service import ReminderService
from tests.reminders.conftest import (ACTIVE_SEED, MANAGERS, TZ, delivered, emulated, make_broadcaster,
                                      synthetic)


def request(runtime, book, reminder_id, by="test"):
    with runtime.store.transaction() as tx:
        return ReminderService(book).request_send(tx, reminder_id, runtime.clock.now(), by)


def run_to_end(broadcaster, rounds=50):
    for _ in range(rounds):
        broadcaster.take_requests()
        broadcaster.drain()
        if broadcaster.watch() == 0 and not broadcaster.take_requests():
            return
    raise AssertionError("broadcast did not finish")


def broadcast_row(runtime, reminder_id, occurrence="2026-11-17"):
    with runtime.store.engine.connect() as conn:
        return rr.find_broadcast(conn, reminder_id, occurrence)


def test_all_active_members_skip_suspended_deleted_pending_and_opted_out(keypair, database_url, clock, book,
                                                                         fake_time):
    with emulated(keypair, database_url, clock, directory_size=120) as (emu, runtime):
        opted_out = SEED_USERS["kato"].user_id
        with runtime.store.transaction() as tx:
            rr.opt_out(tx, opted_out, clock.now())
        assert request(runtime, book, "all-hands").outcome == "accepted"
        run_to_end(make_broadcaster(runtime, book, fake_time))

        got = delivered(emu)
        expected = {("user", u) for u in ACTIVE_SEED + synthetic(120)} - {("user", opted_out)}
        assert set(got) == expected
        assert all(n == 1 for n in got.values())
        for name in ("yoshida", "yamada", "matsumoto", "kato"):
            assert ("user", SEED_USERS[name].user_id) not in got
        row = broadcast_row(runtime, "all-hands")
        assert (row.status, row.recipients, row.sent, row.skipped) == ("done", len(expected), len(expected), 4)
        message = next(m for m in emu.messages(user_id=SEED_USERS["tanaka"].user_id) if m["from"] == "bot")
        assert message["content"]["text"] == "全員へのお知らせです（11月17日（火））。"
        chip = message["content"]["quickReply"]["items"][-1]["action"]
        assert chip == {"type": "message", "label": "リマインダー停止", "text": "リマインダー停止"}


def test_managers_only(keypair, database_url, clock, book, fake_time):
    with emulated(keypair, database_url, clock, directory_size=30) as (emu, runtime):
        request(runtime, book, "managers")
        run_to_end(make_broadcaster(runtime, book, fake_time))
        assert set(delivered(emu)) == {("user", u) for u in MANAGERS}


def test_given_users_and_rooms(keypair, database_url, clock, book, fake_time):
    with emulated(keypair, database_url, clock) as (emu, runtime):
        request(runtime, book, "direct")
        run_to_end(make_broadcaster(runtime, book, fake_time))
        assert delivered(emu) == {("user", SEED_USERS["tanaka"].user_id): 1,
                                  ("user", SEED_USERS["suzuki"].user_id): 1, ("channel", ADMIN_CHANNEL_ID): 1}
        room = emu.bot_messages(channel_id=ADMIN_CHANNEL_ID)[0]["content"]
        assert "quickReply" not in room  # opting out is personal: no chip in a room


def test_idempotent_second_request_sends_nobody_twice(keypair, database_url, clock, book, fake_time):
    with emulated(keypair, database_url, clock, directory_size=20) as (emu, runtime):
        assert request(runtime, book, "all-hands").outcome == "accepted"
        run_to_end(make_broadcaster(runtime, book, fake_time))
        assert request(runtime, book, "all-hands").outcome == "accepted"  # reopened: enumerated again
        run_to_end(make_broadcaster(runtime, book, fake_time))
        got = delivered(emu)
        assert len(got) == len(ACTIVE_SEED) + 20 and set(got.values()) == {1}


def test_killed_mid_enumeration_and_mid_sending_resumes_without_duplicates_or_gaps(
        keypair, database_url, clock, book, fake_time):
    with emulated(keypair, database_url, clock, directory_size=250) as (emu, runtime):
        request(runtime, book, "all-hands")
        first = make_broadcaster(runtime, book, fake_time)
        pages = first.audience.pages

        def dies_on_third_page(reminder, skipped):
            for number, page in enumerate(pages(reminder, skipped)):
                if number == 2:
                    raise KeyboardInterrupt  # the process is killed while enumerating
                yield page

        first.audience.pages = dies_on_third_page
        try:
            first.take_requests()
        except KeyboardInterrupt:
            pass
        assert first.drain(max_messages=120)["sent"] == 120
        first._next_row()  # it had claimed a batch it never sent
        held = len(first._rows)
        assert held > 0
        del first  # killed: its leases stay until they run out

        with runtime.store.engine.connect() as conn:
            queued = conn.execute(select(outbox.c.status)).all()
        assert len(queued) == 197  # two pages of 100 members (3 inactive) were written before the crash

        second = make_broadcaster(runtime, book, fake_time)
        second.take_requests()  # the occurrence is still leased by the dead clock
        assert broadcast_row(runtime, "all-hands").lease_owner != second.owner
        clock.advance(seconds=121)  # leases run out
        run_to_end(second)

        got = delivered(emu)
        eligible = {("user", u) for u in ACTIVE_SEED + synthetic(250)}
        assert set(got) == eligible  # no gap
        assert set(got.values()) == {1}  # no duplicate
        row = broadcast_row(runtime, "all-hands")
        assert (row.status, row.sent, row.recipients) == ("done", len(eligible), len(eligible))


def test_429_pauses_until_rate_limit_reset_then_carries_on(keypair, database_url, clock, book, fake_time):
    with emulated(keypair, database_url, clock, directory_size=20) as (emu, runtime):
        request(runtime, book, "all-hands")
        broadcaster = make_broadcaster(runtime, book, fake_time, rate=600)
        broadcaster.take_requests()
        assert broadcaster.drain(max_messages=5)["sent"] == 5
        send_times = []
        original = runtime.client.send_message

        def timed(*args, **kwargs):
            original(*args, **kwargs)
            send_times.append(fake_time.now)

        runtime.client.send_message = timed
        emu.inject_fault(r"/users/.*/messages$", status=429, count=1)
        results = broadcaster.drain(max_messages=1)
        assert results["retry"] == 1 and broadcaster.pacer.pauses == 1
        with runtime.store.engine.connect() as conn:
            limited = conn.execute(select(outbox).where(outbox.c.last_error.like("429%"))).one()
        reset = (limited.next_attempt_at - runtime.store.now()).total_seconds()
        assert 50 <= reset <= 60  # rescheduled at rateLimit-reset (the emulator's window)
        paused_at = fake_time.now
        run_to_end(broadcaster)
        assert send_times[0] - paused_at >= reset - 1  # nothing was sent during the pause
        got = delivered(emu)
        assert len(got) == len(ACTIVE_SEED) + 20 and set(got.values()) == {1}


def test_broadcast_running_into_quiet_hours_stops_and_the_rest_expires(keypair, database_url, clock, book,
                                                                       fake_time, caplog):
    clock.set(datetime(2026, 11, 17, 19, 58, tzinfo=TZ))
    with emulated(keypair, database_url, clock, directory_size=150) as (emu, runtime):
        assert request(runtime, book, "all-hands").outcome == "accepted"
        send_times = []
        original = runtime.client.send_message

        def timed(*args, **kwargs):
            original(*args, **kwargs)
            send_times.append(runtime.clock.now())

        runtime.client.send_message = timed
        with caplog.at_level("WARNING", logger="scheduler.broadcast"):
            run_to_end(make_broadcaster(runtime, book, fake_time, rate=50))
        quiet = datetime(2026, 11, 17, 20, 0, tzinfo=TZ)
        assert send_times and max(send_times) < quiet  # nothing arrives at night
        row = broadcast_row(runtime, "all-hands")
        assert row.status == "done" and row.expired > 0
        assert row.sent == len(send_times) and row.sent + row.expired == row.recipients
        assert row.sent <= 100  # two minutes at 50 a minute
        assert any("not sent" in r.getMessage() or "expired" in r.getMessage() for r in caplog.records)
        clock.advance(hours=12)  # next morning: nothing left to trickle out
        run_to_end(make_broadcaster(runtime, book, fake_time, rate=50))
        assert sum(delivered(emu).values()) == row.sent


def test_requests_are_refused_in_quiet_hours_and_on_days_off(keypair, database_url, clock, book):
    with emulated(keypair, database_url, clock) as (emu, runtime):
        clock.set(datetime(2026, 11, 17, 20, 30, tzinfo=TZ))
        assert request(runtime, book, "all-hands").outcome == "quiet"
        clock.set(datetime(2026, 11, 23, 11, 0, tzinfo=TZ))  # 勤労感謝の日
        assert request(runtime, book, "all-hands").outcome == "day_off"
        with runtime.store.engine.connect() as conn:
            assert rr.unfinished_broadcasts(conn) == []


def test_two_broadcasters_at_once_on_postgres_send_each_message_once(keypair, postgres_url, clock, book):
    from tests.conftest import _truncate
    _truncate(postgres_url)
    with emulated(keypair, postgres_url, clock, directory_size=300) as (emu, runtime):
        request(runtime, book, "all-hands")
        broadcast_id = broadcast_row(runtime, "all-hands").id
        clocks = [make_real(runtime, book) for _ in range(2)]
        threads = [threading.Thread(target=b.run_until_done, args=(broadcast_id,), kwargs={"poll_seconds": 0.05})
                   for b in clocks]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        got = delivered(emu)
        assert len(got) == len(ACTIVE_SEED) + 300 and set(got.values()) == {1}
        with runtime.store.engine.connect() as conn:
            owners = conn.execute(select(outbox.c.lease_owner, outbox.c.status)).all()
        assert {s for _, s in owners} == {"sent"}
        assert broadcast_row(runtime, "all-hands").status == "done"


def test_two_clocks_writing_the_same_page_at_once_on_postgres(keypair, postgres_url, clock, book, fake_time):
    from tests.conftest import _truncate
    from bot.store import OutgoingMessage
    _truncate(postgres_url)
    with emulated(keypair, postgres_url, clock) as (emu, runtime):
        messages = [OutgoingMessage("user", f"u{i}", [{"type": "text", "text": "x"}], priority=9,
                                    origin="reminder:x:2026-11-17", dedup_key=f"reminder:x:2026-11-17:user:u{i}")
                    for i in range(300)]
        a, b = make_broadcaster(runtime, book, fake_time), make_broadcaster(runtime, book, fake_time)
        barrier = threading.Barrier(2)
        written = []

        def write(broadcaster):
            barrier.wait()
            written.append(broadcaster._enqueue(messages))

        threads = [threading.Thread(target=write, args=(x,)) for x in (a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sum(written) == 300
        with runtime.store.engine.connect() as conn:
            assert len(conn.execute(select(outbox.c.id)).all()) == 300


def make_real(runtime, book):
    from scheduler.broadcast import Broadcaster
    return Broadcaster(runtime.store, runtime.client, book, 100000, senders=3)


@pytest.mark.parametrize("flag", ["isSuspended", "isDeleted", "isPending", "isAwaiting"])
def test_members_who_cannot_read_are_not_sent_to(flag):
    from scheduler.broadcast import is_active

    member = {"userId": "u1", "isSuspended": False, "isDeleted": False, "isPending": False, "isAwaiting": False}
    assert is_active(member)
    assert not is_active({**member, flag: True})


def test_without_a_user_scope_the_directory_is_not_read_and_rooms_still_get_reminders(keypair, database_url, clock,
                                                                                       book, fake_time):
    """The Free plan offers no `user` scope: a reminder to everyone is not sent (and says why in the log),
    one to given rooms still is."""
    with emulated(keypair, database_url, clock, directory_size=10) as (emu, runtime):
        assert request(runtime, book, "all-hands").outcome == "accepted"
        assert request(runtime, book, "direct").outcome == "accepted"
        run_to_end(make_broadcaster(runtime, book, fake_time, reads_members=False))
        assert delivered(emu) == {("user", SEED_USERS["tanaka"].user_id): 1,
                                  ("user", SEED_USERS["suzuki"].user_id): 1, ("channel", ADMIN_CHANNEL_ID): 1}
        assert not [c for c in emu.calls() if c["method"] == "GET" and c["path"].endswith("/users")]


def test_a_company_value_changed_in_the_console_reaches_the_reminder(keypair, sqlite_url, clock, tmp_path, fake_time):
    from handlers import faq_records
    from tests.reminders.conftest import book_from

    allowance = [{"id": "allowance", "title": "手当", "schedule": {"day_of_week": "mon-fri", "hour": 10, "minute": 0},
                  "audience": {"users": [SEED_USERS["tanaka"].user_id]},
                  "message": {"text": "通信費の補助は月{allowance_yen}円です。"}}]
    book = book_from(tmp_path, allowance)
    with emulated(keypair, sqlite_url, clock) as (emu, runtime):
        with runtime.store.transaction() as tx:
            faq_records.set_company_value(tx, "allowance_yen", "4,500", "admin-1", clock.now())
        assert request(runtime, book, "allowance").outcome == "accepted"
        run_to_end(make_broadcaster(runtime, book, fake_time))
        [message] = [m for m in emu.messages(user_id=SEED_USERS["tanaka"].user_id) if m["from"] == "bot"]
        assert message["content"]["text"] == "通信費の補助は月4,500円です。"
