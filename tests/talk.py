"""A person talking to the bot through the emulator: send, then read what the bot answered."""
from __future__ import annotations

import time

from emulator.testing import EmulatorHandle


def message_text(content: dict) -> str:
    """What a person reads in a message: text or template text (button labels left out)."""
    return content.get("text") or content.get("contentText") or ""


def labels(content: dict) -> list[str]:
    actions = content.get("actions") or []
    chips = [item["action"] for item in (content.get("quickReply") or {}).get("items", [])]
    return [a.get("label", "") for a in actions + chips]


def find_action(content: dict, label_part: str) -> dict:
    actions = (content.get("actions") or []) + [i["action"] for i in (content.get("quickReply") or {}).get("items", [])]
    for action in actions:
        if label_part in action.get("label", ""):
            return action
    raise AssertionError(f"no action with {label_part!r} in {labels(content)}")


class Talk:
    def __init__(self, emulator: EmulatorHandle, user_id: str, channel_id: str | None = None):
        self.emulator = emulator
        self.user_id = user_id
        self.channel_id = channel_id

    def _room_messages(self, user_id=None, channel_id=None) -> list[dict]:
        if channel_id or (self.channel_id and user_id is None):
            return self.emulator.bot_messages(channel_id=channel_id or self.channel_id)
        return self.emulator.bot_messages(user_id=user_id or self.user_id)

    def seen(self) -> int:
        return len(self._room_messages())

    def wait_new(self, before: int, settle: float = 0.4, timeout: float = 10, expect: int = 1,
                 user_id=None, channel_id=None) -> list[dict]:
        deadline = time.monotonic() + timeout
        last_count, last_change = None, time.monotonic()
        while True:
            messages = self._room_messages(user_id, channel_id)
            count = len(messages)
            if count != last_count:
                last_count, last_change = count, time.monotonic()
            if count - before >= expect and time.monotonic() - last_change >= settle:
                return [m["content"] for m in messages[before:]]
            if time.monotonic() > deadline:
                if count - before >= expect:
                    return [m["content"] for m in messages[before:]]
                raise AssertionError(f"bot sent {count - before} message(s), expected {expect}: "
                                     f"{[message_text(m['content']) for m in messages[before:]]}")
            time.sleep(0.03)

    def say(self, text: str, postback: str | None = None, expect: int = 1) -> list[dict]:
        before = self.seen()
        status = self.emulator.say(self.user_id, text, channel_id=self.channel_id, postback=postback)["status"]
        assert status == 200, status
        return self.wait_new(before, expect=expect)

    def press(self, content: dict, label_part: str, expect: int = 1) -> list[dict]:
        """Press a button or chip the way the LINE WORKS client does."""
        action = find_action(content, label_part)
        if action["type"] == "postback":
            before = self.seen()
            status = self.emulator.postback(self.user_id, action["data"], channel_id=self.channel_id,
                                            display_text=action.get("displayText"))["status"]
            assert status == 200
            return self.wait_new(before, expect=expect)
        return self.say(action.get("text") or action["label"], postback=action.get("postback"), expect=expect)
