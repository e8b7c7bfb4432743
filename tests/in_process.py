"""An in-process test bot: the real app, dispatcher, handlers and database, with a recording client in
place of LINE WORKS and no worker thread. Push an event, run the worker until idle, read what was sent.

    bot = InProcessBot(settings, clock, users={"u1": {"userId": "u1", ...}})
    bot.say("u1", "通信費は誰が払うの？")
    assert "3,000" in bot.texts_to("u1")[-1]

Nothing waits: `say` returns once every resulting row (inbox, account actions, outbox) is done.
"""
from __future__ import annotations

import json

from bot import signature
from bot.app import create_app
from bot.errors import ApiError
from tests.conftest import BOT_ID, BOT_SECRET


class RecordingClient:
    """The LineWorksClient's interface, answered from a dict of members; every call is recorded."""

    def __init__(self, users: dict[str, dict] | None = None):
        self.users = {k.lower(): v for k, v in (users or {}).items()}
        self.sent: list[tuple[str, str, dict]] = []  # (recipient kind, recipient id, content)
        self.calls: list[tuple[str, str]] = []

    def send_message(self, recipient_kind, recipient_id, content, max_wait=None) -> None:
        self.sent.append((recipient_kind, recipient_id, content))

    def set_persistent_menu(self, actions) -> None:
        self.calls.append(("set_persistent_menu", str(len(actions))))

    def get_user(self, user_id: str) -> dict:
        self.calls.append(("get_user", user_id))
        user = self.users.get(user_id.lower()) or next(
            (u for u in self.users.values() if (u.get("email") or "").lower() == user_id.lower()), None)
        if user is None:
            raise ApiError("get-user", 404, "NOT_FOUND")
        return user

    def list_users(self, cursor=None, count=100):
        return list(self.users.values()), None

    def force_logout(self, user_id: str) -> None:
        self.calls.append(("force_logout", user_id))

    def suspend(self, user_id: str) -> None:
        self.calls.append(("suspend", user_id))

    def unsuspend(self, user_id: str) -> None:
        self.calls.append(("unsuspend", user_id))


class InProcessBot:
    def __init__(self, settings, clock, users: dict[str, dict] | None = None):
        self.clock = clock
        self.client = RecordingClient(users)
        self.app = create_app(settings, clock=clock, client=self.client, start_worker=False)
        self.runtime = self.app.extensions["bot"]
        self.http = self.app.test_client()

    def close(self) -> None:
        self.runtime.store.engine.dispose()

    def post(self, event: dict) -> int:
        """A signed callback through the real webhook; its HTTP status."""
        raw = json.dumps(event, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", "X-WORKS-BotId": BOT_ID,
                   "X-WORKS-Signature": signature.sign(BOT_SECRET, raw)}
        return self.http.post("/callback", data=raw, headers=headers).status_code

    def say(self, user_id: str, text: str, channel_id: str | None = None, postback: str | None = None) -> list[str]:
        """Send a text as `user_id`, run the worker until idle; the texts sent back to where it came from."""
        source = {"userId": user_id, "domainId": 10000001, **({"channelId": channel_id} if channel_id else {})}
        content = {"type": "text", "text": text, **({"postback": postback} if postback else {})}
        before = len(self.client.sent)
        issued = self.clock.now().strftime("%Y-%m-%dT%H:%M:%S.000Z")
        assert self.post({"type": "message", "source": source, "issuedTime": issued, "content": content}) == 200
        self.runtime.worker.run_until_idle()
        kind, target = ("channel", channel_id) if channel_id else ("user", user_id)
        return [_text(c) for k, r, c in self.client.sent[before:] if (k, r) == (kind, target)]

    def texts_to(self, user_id: str) -> list[str]:
        return [_text(c) for k, r, c in self.client.sent if (k, r) == ("user", user_id)]


def _text(content: dict) -> str:
    return content.get("text") or content.get("contentText") or json.dumps(content, ensure_ascii=False)
