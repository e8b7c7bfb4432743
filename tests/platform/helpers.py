"""Helpers for platform tests: signed callbacks and an app wired to `responses`."""
import json

import responses

from bot import signature
from bot.app import create_app
from bot.client import Credentials, LineWorksClient
from tests.conftest import API_BASE, AUTH_URL, BOT_ID, BOT_SECRET

USER_MESSAGES = f"{API_BASE}/bots/{BOT_ID}/users/u1/messages"


def text_event(text="通信費は誰が払うの？", user="u1", channel=None, issued="2026-11-17T01:00:00.000Z"):
    source = {"userId": user, "domainId": 10000001}
    if channel:
        source["channelId"] = channel
    return {"type": "message", "source": source, "issuedTime": issued, "content": {"type": "text", "text": text}}


def signed_headers(raw: bytes, secret=BOT_SECRET, bot_id=BOT_ID) -> dict:
    return {"Content-Type": "application/json; charset=UTF-8", "X-WORKS-BotId": bot_id,
            "X-WORKS-Signature": signature.sign(secret, raw)}


def post_event(http, event, **kwargs):
    raw = json.dumps(event, ensure_ascii=False).encode() if not isinstance(event, bytes) else event
    return http.post("/callback", data=raw, headers=signed_headers(raw, **kwargs))


def make_app(settings, clock):
    client = LineWorksClient(Credentials.from_settings(settings), sleep=lambda s: None, max_wait=0)
    app = create_app(settings, clock=clock, client=client, start_worker=False)
    app.extensions["bot"].worker.housekeeping.startup_calls = []  # the persistent menu is tested with the emulator
    return app


def mock_token(rsps=responses):
    rsps.add(responses.POST, AUTH_URL, json={"access_token": "tok", "expires_in": "86400", "token_type": "Bearer"})


def sent_messages(url_part="/messages"):
    return [json.loads(c.request.body) for c in responses.calls if url_part in c.request.url]
