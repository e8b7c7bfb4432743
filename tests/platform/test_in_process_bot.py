"""The in-process test bot (tests/in_process.py): the whole bot in one thread, without a network or a
sleep. Each test pushes events and asserts what was sent, stored or refused."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from handlers import records
from tests.in_process import InProcessBot

ADMIN = "admin-1"  # in BOT_ADMIN_USER_IDS (tests/conftest.py)
MEMBERS = {"u1": {"userId": "u1", "email": "u1@example.com", "userName": {"lastName": "田中", "firstName": "一郎"}},
           "u2": {"userId": "u2", "email": "u2@example.com", "userName": {"lastName": "鈴木", "firstName": "花子"}},
           ADMIN: {"userId": ADMIN, "email": "admin@example.com"}}


@pytest.fixture
def bot(settings_for, sqlite_url, clock):
    bot = InProcessBot(settings_for(sqlite_url), clock, users=MEMBERS)
    yield bot
    bot.close()


def rows(bot, table) -> list:
    with bot.runtime.store.engine.connect() as conn:
        return list(conn.execute(select(table)))


def test_a_question_is_answered_at_once(bot):
    [answer] = bot.say("u1", "通信費は誰が払うの？")
    assert "3,000" in answer


def test_an_employees_lockout_is_refused_audited_and_calls_nothing(bot):
    [refusal] = bot.say("u1", "/lockout u2@example.com")
    assert "管理者だけ" in refusal
    assert [(a.actor_id, a.action, a.result) for a in rows(bot, records.audit_log)] == [
        ("u1", "refused:lockout", "not an administrator")]
    assert [c for c in bot.client.calls if c[0] in ("force_logout", "suspend")] == []


def test_a_lockout_runs_only_once_confirmed(bot):
    [confirm] = bot.say(ADMIN, "/lockout u2@example.com 紛失")
    assert "u2@example.com" in confirm
    assert [c for c in bot.client.calls if c[0] in ("force_logout", "suspend")] == []
    [confirmation] = rows(bot, records.confirmations)
    result = bot.say(ADMIN, "ロックアウトを実行", postback=f"admin:confirm:{confirmation.token}")
    assert [c for c in bot.client.calls if c[0] in ("force_logout", "suspend")] == [("force_logout", "u2"),
                                                                                      ("suspend", "u2")]
    assert "完了" in result[-1]


def test_a_lost_phone_gets_the_steps_and_the_offer_to_report(bot):
    replies = bot.say("u1", "スマホどっかいった")
    assert any("強制ログアウト" in r for r in replies)
    assert rows(bot, records.reports) == []  # nothing is reported until the member says so


def test_without_an_admin_room_the_administrators_learn_the_id_of_a_room_the_bot_joins(bot):
    issued = bot.clock.now().strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert bot.post({"type": "join", "source": {"channelId": "room-42", "domainId": 10000001}, "issuedTime": issued}) == 200
    bot.runtime.worker.run_until_idle()
    [note] = bot.texts_to(ADMIN)
    assert "room-42" in note and "BOT_ADMIN_CHANNEL_ID" in note
