"""Ask a person's rules, on the in-process bot (no network, no sleep): the daily reminder of tickets
waiting for a working day, retention of closed tickets, and nothing of a question in the logs."""
from __future__ import annotations

import logging
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from handlers import records
from handlers import ticket_records as tr
from handlers.tickets import previous_working_moment
from scheduler.commands import request_ticket_reminder
from scheduler.config import book_from_config
from tests.in_process import InProcessBot

ADMIN = "admin-1"  # in BOT_ADMIN_USER_IDS (tests/conftest.py); no admin room: 1:1
MEMBERS = {"u1": {"userId": "u1", "email": "u1@example.com", "userName": {"lastName": "田中", "firstName": "一郎"}},
           ADMIN: {"userId": ADMIN, "email": "admin@example.com"}}
TOKYO = ZoneInfo("Asia/Tokyo")
QUESTION = "社内報の原稿はいつまでに出せばいいですか"


@pytest.fixture
def bot(settings_for, sqlite_url, clock):
    bot = InProcessBot(settings_for(sqlite_url), clock, users=MEMBERS)  # clock: a Tuesday, 10:00 in Tokyo
    yield bot
    bot.close()


def tickets(bot) -> list:
    with bot.runtime.store.engine.connect() as conn:
        return list(conn.execute(select(tr.tickets).order_by(tr.tickets.c.id)))


def ask(bot, question=QUESTION) -> None:
    bot.clock.advance(seconds=1)  # a callback identical to an earlier one is a replay, dropped
    bot.say("u1", question)
    [told, *_] = bot.say("u1", "担当者に聞く")
    assert "受付番号" in told


def remind(bot) -> list[str]:
    before = len(bot.texts_to(ADMIN))
    request_ticket_reminder(book_from_config(bot.runtime.config, bot.runtime.settings.tz), bot.runtime)
    bot.runtime.worker.run_until_idle()
    return bot.texts_to(ADMIN)[before:]


def test_the_administrators_get_the_ticket_in_their_1_to_1_talk(bot):
    ask(bot)
    [notice] = [t for t in bot.texts_to(ADMIN) if "Q-0001" in t]
    assert QUESTION in notice and "田中 一郎" in notice


def test_a_ticket_waiting_a_working_day_is_reminded_once_a_day(bot, clock):
    ask(bot)
    assert remind(bot) == []  # asked this morning: not yet a working day
    clock.advance(days=1, minutes=5)  # Wednesday 10:05
    [reminder] = remind(bot)
    assert "Q-0001" in reminder and "1件" in reminder
    assert remind(bot) == []  # once a day, however often the clock asks
    clock.advance(days=1)
    assert len(remind(bot)) == 1
    bot.say(ADMIN, "/answer Q-0001 5日までです。")
    clock.advance(days=1)
    assert remind(bot) == []  # answered: nothing to remind


def test_no_reminder_on_a_day_off(bot, clock):
    ask(bot)
    clock.advance(days=4)  # Saturday
    assert remind(bot) == []


def test_days_off_are_not_working_days_of_waiting(bot, clock):
    clock.advance(days=3)  # Friday 2026-11-20, 10:00
    ask(bot)
    clock.advance(days=1)
    assert remind(bot) == []  # Saturday
    clock.advance(days=2)
    assert remind(bot) == []  # Monday 11-23 is a national holiday (勤労感謝の日)
    clock.advance(days=1, minutes=5)
    assert len(remind(bot)) == 1  # Tuesday 10:05: one working day after Friday 10:00
    tuesday_morning = clock.now().replace(hour=0, minute=30)  # 9:30 in Tokyo
    calendar = book_from_config(bot.runtime.config, TOKYO).calendar
    assert previous_working_moment(tuesday_morning, calendar.is_day_off) == tuesday_morning - timedelta(days=4)


def test_closed_tickets_are_deleted_after_the_retention_period_and_open_ones_kept(bot, clock):
    ask(bot)
    ask(bot, "来月の朝礼の場所はどこですか")
    bot.say(ADMIN, "/answer Q-0001 5日までです。")
    clock.advance(days=bot.runtime.settings.retention_days + 1)
    gone = records.purge_older_than(bot.runtime.store, clock.now(), bot.runtime.settings.retention_days)
    assert gone["tickets"] == 1
    assert [(t.id, t.status) for t in tickets(bot)] == [(2, "open")]


def test_nothing_of_a_question_or_an_answer_reaches_the_logs(bot, caplog):
    caplog.set_level(logging.DEBUG)
    ask(bot)
    bot.say(ADMIN, "/answer Q-0001 秘密の回答です")
    bot.say(ADMIN, "/faq add Q-0001")
    assert tickets(bot)[0].status == "answered"
    assert "社内報" not in caplog.text and "秘密の回答" not in caplog.text


def test_an_employee_cannot_list_tickets_or_teach(bot):
    ask(bot)
    for command in ("/tickets", "/faq add Q-0001", "/faq learned", "/faq export"):
        [refusal] = bot.say("u1", command)
        assert "管理者だけ" in refusal and QUESTION not in refusal
    assert [t.status for t in tickets(bot)] == ["open"]


def test_tickets_lists_the_open_ones_oldest_first_with_their_age(bot, clock):
    ask(bot)
    clock.advance(hours=3)
    ask(bot, "来月の朝礼の場所はどこですか")
    [listing] = bot.say(ADMIN, "/tickets")
    assert listing.index("Q-0001") < listing.index("Q-0002")
    assert "3時間前" in listing and "田中 一郎" in listing
    clock.advance(minutes=1)
    assert timedelta(hours=3) < clock.now() - tickets(bot)[0].created_at.replace(tzinfo=clock.now().tzinfo)


def test_a_question_given_a_thumbs_down_can_become_an_example_of_the_right_entry(bot):
    question = "スマートウォッチでLINE WORKSの通知を受けてもいいですか"
    bot.say("u1", question)
    bot.say("u1", "👎 役に立たなかった", postback="faq:down:snooze")
    [listing] = bot.say(ADMIN, "/unanswered")
    line = next(line for line in listing.splitlines() if "スマートウォッチ" in line)
    number = next(word for word in line.split() if word.startswith("F-"))
    [added] = bot.say(ADMIN, f"/faq add {number} environments")
    assert "例文" in added
    with bot.runtime.store.engine.connect() as conn:
        learned = tr.all_learned(conn)
    assert [(i.kind, i.entry_id, i.question) for i in learned] == [("example", "environments", question)]
    bot.clock.advance(seconds=1)
    assert bot.say("u1", question) != []
    with bot.runtime.store.engine.connect() as conn:
        last = records.last_question(conn, "u1", bot.clock.now() - timedelta(minutes=1))
    assert last.entry_id == "environments"


def test_the_question_prompt_lets_a_lost_phone_or_the_menu_through(bot):
    [prompt] = bot.say("u1", "担当者に聞く")
    assert "1通で送って" in prompt
    lost = bot.say("u1", "端末をなくした")
    assert tickets(bot) == [] and any("ログアウト" in t or "報告" in t for t in lost)


def test_asking_twice_keeps_one_ticket(bot):
    ask(bot)
    bot.clock.advance(seconds=1)
    [again, *_] = bot.say("u1", "担当者に聞く")
    assert "Q-0001" in again and "送ってあります" in again
    assert len(tickets(bot)) == 1


@pytest.mark.parametrize("command", ["/answer Q-一 回答です", "/answer Q-99999999999999999999 回答です",
                                     "/faq remove L-99999999999999999999", "/faq add F-99999999999999999999 snooze",
                                     "/faq add", "/faq remove", "/answer Q-0001"])
def test_odd_numbers_get_a_clear_answer(bot, command):
    ask(bot)
    [reply] = bot.say(ADMIN, command)
    assert any(word in reply for word in ("使い方", "見つかりません", "ありません")), reply
    assert tickets(bot)[0].status == "open"


def test_the_answers_text_stays_out_of_the_audit_log(bot):
    ask(bot)
    bot.say(ADMIN, "/answer Q-0001 秘密の回答です")
    with bot.runtime.store.engine.connect() as conn:
        logged = " ".join(f"{r.action} {r.result} {r.target}" for r in conn.execute(select(records.audit_log)))
    assert "ticket_answered" in logged and "秘密" not in logged


def test_a_long_answer_is_refused_and_a_long_one_within_the_limit_arrives_whole(bot):
    ask(bot)
    [refused] = bot.say(ADMIN, "/answer Q-0001 " + "あ" * 4001)
    assert "長すぎます" in refused and tickets(bot)[0].status == "open"
    before = len(bot.texts_to("u1"))
    bot.say(ADMIN, "/answer Q-0001 " + "ぬ" * 3000 + "おわり")
    received = "".join(bot.texts_to("u1")[before:])
    assert received.count("ぬ") == 3000 and received.endswith("おわり")


def test_an_answer_after_the_prompt_expired_is_not_taken_for_a_question(bot, clock):
    ask(bot)
    bot.say(ADMIN, "回答する", postback="admin:ticket_answer:1")
    clock.advance(hours=9)
    [reply] = bot.say(ADMIN, "5日までです。")
    assert "受付時間" in reply and tickets(bot)[0].status == "open"


def test_in_a_team_room_the_chip_opens_a_ticket_and_says_the_answer_comes_one_to_one(bot):
    bot.say("u1", "ボット 社内報の原稿はいつまでに出せばいいですか", channel_id="team-room")
    told = bot.say("u1", "担当者に聞く", channel_id="team-room", postback="ticket:ask")
    assert any("1対1" in t for t in told)
    assert [t.question for t in tickets(bot)] == ["社内報の原稿はいつまでに出せばいいですか"]
