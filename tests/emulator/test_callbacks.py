"""Callbacks to the bot: shape, signature, headers, no retries; the transcript."""
import json
import re

import pytest
import requests

from bot.signature import sign
from emulator.directory import ADMIN, ADMIN_CHANNEL_ID, SEED_USERS
from emulator.testing import running_emulator
from tests.emulator.conftest import BOT_ID, BOT_SECRET, Api, make_assertion, make_config, token_request

TANAKA = SEED_USERS["tanaka"]
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_say_sends_a_signed_message_event_without_channel_in_1to1(emu, fake_bot):
    result = emu.say(TANAKA.user_id, "スマホを失くしました\n至急", postback="lost")
    assert result["status"] == 200 and isinstance(result["eventId"], int)
    [received] = fake_bot.received
    headers, body = received["headers"], received["body"]
    assert headers["Content-Type"] == "application/json; charset=UTF-8"
    assert headers["X-Works-Botid"] == BOT_ID
    assert headers["X-Works-Signature"] == sign(BOT_SECRET, body)
    event = json.loads(body)
    assert event["type"] == "message"
    assert event["source"] == {"userId": TANAKA.user_id, "domainId": 10000001}  # no channelId
    assert ISO_Z.match(event["issuedTime"])
    assert event["content"] == {"type": "text", "text": "スマホを失くしました\n至急", "postback": "lost"}
    assert "スマホ".encode() in body  # UTF-8, not \\u escapes


def test_signature_does_not_verify_with_another_secret(emu, fake_bot):
    emu.say(TANAKA.user_id, "hi")
    body = fake_bot.received[0]["body"]
    assert fake_bot.received[0]["headers"]["X-Works-Signature"] != sign("other-secret", body)


def test_say_in_the_admin_channel_carries_channel_id(emu, fake_bot):
    emu.say(ADMIN.user_id, "状況は？", channel_id=ADMIN_CHANNEL_ID)
    [event] = fake_bot.events()
    assert event["source"] == {"userId": ADMIN.user_id, "channelId": ADMIN_CHANNEL_ID, "domainId": 10000001}
    [entry] = emu.messages(channel_id=ADMIN_CHANNEL_ID)
    assert entry["from"] == "user" and entry["userId"] == ADMIN.user_id
    assert emu.messages(user_id=ADMIN.user_id) == []


def test_postback_event_and_display_text(emu, fake_bot):
    emu.postback(TANAKA.user_id, "action=lost&step=confirm", display_text="はい")
    [event] = fake_bot.events()
    assert event["type"] == "postback" and event["data"] == "action=lost&step=confirm"
    assert "content" not in event and "channelId" not in event["source"]
    [entry] = emu.messages(user_id=TANAKA.user_id)
    assert entry["from"] == "user" and entry["content"] == {"type": "text", "text": "はい"}


def test_raw_event_is_sent_as_is_and_join_opens_a_room(emu, fake_bot, api):
    event = {"type": "join", "source": {"channelId": "ch-new", "domainId": 10000001},
             "issuedTime": "2026-01-01T00:00:00.000Z"}
    assert emu.send_event(event)["status"] == 200
    assert fake_bot.events() == [event]
    assert sign(BOT_SECRET, fake_bot.received[0]["body"]) == fake_bot.received[0]["headers"]["X-Works-Signature"]
    response = api.post(f"/bots/{BOT_ID}/channels/ch-new/messages",
                        json={"content": {"type": "text", "text": "よろしく"}})
    assert response.status_code == 201


def test_failed_callback_is_not_retried(emu, fake_bot):
    fake_bot.status = 500
    assert emu.say(TANAKA.user_id, "x")["status"] == 500
    assert len(fake_bot.received) == 1
    assert emu.events()[-1]["status"] == 500


def test_unreachable_bot_gives_null_status(keypair):
    with running_emulator(make_config(keypair[1], "http://127.0.0.1:9/callback")) as emu:
        assert emu.say(TANAKA.user_id, "x")["status"] is None
        assert emu.messages(user_id=TANAKA.user_id)[0]["content"]["text"] == "x"


def test_say_rejects_unknown_user_and_channel(emu):
    url = f"{emu.base_url}/_emulator/say"
    assert requests.post(url, json={"userId": "nobody", "text": "x"}, timeout=5).status_code == 400
    assert requests.post(url, json={"userId": TANAKA.user_id, "text": "x", "channelId": "nope"},
                         timeout=5).status_code == 400


def test_round_trip_bot_replies_through_the_api(emu, fake_bot, keypair):
    token = token_request(emu, make_assertion(keypair[0])).json()["access_token"]
    api = Api(emu, token)

    def echo(event):
        api.send_to_user(event["source"]["userId"], {"type": "text", "text": "受付: " + event["content"]["text"]})

    fake_bot.on_event = echo
    emu.say(TANAKA.user_id, "こんにちは")
    [reply] = emu.wait_for_bot_messages(1, user_id=TANAKA.user_id, timeout=2)
    assert reply["content"]["text"] == "受付: こんにちは"
    # Both sides in order in the transcript.
    assert [m["from"] for m in emu.messages(user_id=TANAKA.user_id)] == ["user", "bot"]


def test_wait_for_bot_messages_times_out_with_what_it_saw(emu, api):
    api.send_to_user(TANAKA.user_id, {"type": "text", "text": "一通目"})
    with pytest.raises(AssertionError, match="saw 1.*一通目"):
        emu.wait_for_bot_messages(2, user_id=TANAKA.user_id, timeout=0.2)


def test_messages_since(emu, api):
    api.send_to_user(TANAKA.user_id, {"type": "text", "text": "1"})
    first = emu.messages()[-1]["id"]
    api.send_to_user(TANAKA.user_id, {"type": "text", "text": "2"})
    assert [m["content"]["text"] for m in emu.messages(since=first)] == ["2"]
