"""Callback events sent to the bot, built and signed like LINE WORKS does (section 2)."""
import json

import requests

from bot.signature import sign
from emulator.util import utc_now_iso


def _source(user_id: str | None, channel_id: str | None, domain_id: int) -> dict:
    source = {}
    if user_id:
        source["userId"] = user_id
    if channel_id:  # omitted for 1:1 rooms
        source["channelId"] = channel_id
    source["domainId"] = domain_id
    return source


def message_event(domain_id: int, user_id: str, text: str,
                  channel_id: str | None = None, postback: str | None = None, issued: str | None = None) -> dict:
    content = {"type": "text", "text": text}
    if postback is not None:
        content["postback"] = postback
    return {"type": "message", "source": _source(user_id, channel_id, domain_id),
            "issuedTime": issued or utc_now_iso(), "content": content}


def postback_event(domain_id: int, user_id: str, data: str, channel_id: str | None = None,
                   issued: str | None = None) -> dict:
    return {"type": "postback", "source": _source(user_id, channel_id, domain_id),
            "issuedTime": issued or utc_now_iso(), "data": data}


def deliver(callback_url: str | None, bot_id: str, bot_secret: str, event: dict,
            timeout: float = 10.0) -> int | None:
    """POST one event; return the bot's HTTP status, or None if it could not be reached.

    The body is serialised once and those exact bytes are signed. Never retried,
    like the real platform.
    """
    if not callback_url:
        return None
    body = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    headers = {
        "Content-Type": "application/json; charset=UTF-8",
        "X-WORKS-BotId": bot_id,
        "X-WORKS-Signature": sign(bot_secret, body),
    }
    try:
        return requests.post(callback_url, data=body, headers=headers, timeout=timeout).status_code
    except requests.RequestException:
        return None
