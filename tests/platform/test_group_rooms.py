"""In a group room the bot speaks only when addressed; a new 1:1 talk is greeted.

Through the emulator (signed callbacks) and the bot's worker: every message is stored and processed,
and the outbox shows which of them got an answer (each outbox row names the inbox row it answers).
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.store import inbox, outbox
from emulator.directory import ADMIN, ADMIN_CHANNEL_ID, SEED_USERS
from tests.stack import running_stack
from tests.talk import Talk, message_text

TANAKA = SEED_USERS["tanaka"]
TEAM = "team-room-1"


@pytest.fixture
def stack(keypair, sqlite_url, clock):
    env = {"BOT_ADMIN_USER_IDS": ADMIN.user_id, "BOT_NAME": "スマホ相談"}
    with running_stack(keypair, sqlite_url, clock=clock, env_overrides=env) as stack:
        yield stack


def answered(stack) -> dict[str, int]:
    """Text of every processed message -> outbox rows written for it."""
    stack.runtime.store.import_journal()
    with stack.runtime.store.engine.connect() as conn:
        rows = conn.execute(select(inbox.c.id, inbox.c.body, inbox.c.status)).all()
        origins = [o for (o,) in conn.execute(select(outbox.c.origin))]
    out = {}
    for row_id, body, status in rows:
        assert status == "done", (body, status)
        text = body.split('"text":"', 1)[1].split('"', 1)[0] if '"text":"' in body else body[:20]
        out[text] = origins.count(f"inbox:{row_id}")
    return out


def test_in_a_team_room_only_messages_addressed_to_the_bot_get_an_answer(stack):
    joined = stack.emulator.send_event({"type": "join", "source": {"channelId": TEAM, "domainId": 10000001}})
    assert joined["status"] == 200
    room = Talk(stack.emulator, TANAKA.user_id, channel_id=TEAM)
    [greeting] = room.wait_new(0)
    assert "「スマホ相談」で始まる" in message_text(greeting)

    chatter = ["今日の会議って何時からでしたっけ", "通信費って出るのかな", "お疲れさまです！"]
    for text in chatter:
        assert stack.emulator.say(TANAKA.user_id, text, channel_id=TEAM)["status"] == 200
    reply = room.say("@スマホ相談 通信費は誰が払うの？")  # addressed: answered, without the name
    assert "3,000" in message_text(reply[0])
    assert room.say("スマホ相談、")[0]  # only the name: the menu
    by_text = answered(stack)
    assert all(by_text[text] == 0 for text in chatter), by_text
    assert by_text["@スマホ相談 通信費は誰が払うの？"] == 1
    assert room.seen() == 3  # greeting, answer, menu: nothing for the chatter


def test_commands_and_buttons_are_taken_in_a_team_room(stack):
    stack.emulator.send_event({"type": "join", "source": {"channelId": TEAM, "domainId": 10000001}})
    room = Talk(stack.emulator, TANAKA.user_id, channel_id=TEAM)
    room.wait_new(0)
    reply = room.say("/audit")  # a command: answered (here: refused, as admin commands are not for a team room)
    assert "管理者" in message_text(reply[0])
    reply = room.say("メニュー", postback="faq:menu")  # a press on a message button of the bot's
    assert message_text(reply[0])


def test_the_admin_room_and_a_1to1_talk_are_unchanged(stack):
    admin_room = Talk(stack.emulator, ADMIN.user_id, channel_id=ADMIN_CHANNEL_ID)
    assert "3,000" in message_text(admin_room.say("通信費は誰が払うの？")[0])
    employee = Talk(stack.emulator, TANAKA.user_id)
    assert "3,000" in message_text(employee.say("通信費は誰が払うの？")[0])


def test_a_new_1to1_talk_is_greeted(stack):
    employee = Talk(stack.emulator, TANAKA.user_id)
    status = stack.emulator.send_event({"type": "begin", "source": {"userId": TANAKA.user_id, "domainId": 10000001}})
    assert status["status"] == 200
    [welcome] = employee.wait_new(0)
    assert "スマホなくした" in message_text(welcome) and "メニュー" in message_text(welcome)
    [again] = employee.say("利用開始", postback="start")
    assert message_text(again) == message_text(welcome)
