"""Control API under /_emulator/ for tests and the chat page (not part of LINE WORKS)."""
import copy

from flask import Blueprint, current_app, jsonify, request

from emulator import callbacks
from emulator.directory import ADMIN_CHANNEL_ID
from emulator.faults import parse_fault
from emulator.state import entries_since

bp = Blueprint("control", __name__, url_prefix="/_emulator")


def state():
    return current_app.extensions["emulator"]


def bad_request(message: str):
    return jsonify({"error": message}), 400


def _body() -> dict:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def _since() -> int:
    try:
        return int(request.args.get("since", "0"))
    except ValueError:
        return 0


def _resolve_sender(body: dict):
    """(user_id, channel_id, error response). The user must exist; the channel must be known."""
    s = state()
    with s.lock:
        user = s.directory.find(str(body.get("userId") or ""))
        channel_id = body.get("channelId") or None
        if user is None:
            return None, None, bad_request("userId is missing or unknown")
        if channel_id is not None and channel_id not in s.channels:
            return None, None, bad_request(f"channelId {channel_id!r} is unknown")
        return user["userId"], channel_id, None


def _deliver(event: dict):
    """Send one event to the bot (outside the lock: the bot may call us back meanwhile)."""
    s = state()
    entry = s.record_event(event)
    cfg = s.config
    status = callbacks.deliver(cfg.callback_url, cfg.bot_id, cfg.bot_secret, event,
                               timeout=cfg.callback_timeout_seconds)
    with s.lock:
        entry["status"] = status
    return jsonify({"status": status, "eventId": entry["id"]})


def _room(user_id: str, channel_id: str | None) -> tuple[str, str]:
    return ("channel", channel_id) if channel_id else ("user", user_id)


@bp.post("/say")
def say():
    body = _body()
    user_id, channel_id, error = _resolve_sender(body)
    if error:
        return error
    text, postback = body.get("text"), body.get("postback")
    if not isinstance(text, str) or not text:
        return bad_request("text (non-empty string) is required")
    event = callbacks.message_event(state().config.domain_id, user_id, text, channel_id, postback,
                                    issued=state().issued_time())
    # Record first, so the transcript shows the user's message before the bot's reply.
    state().record_message("user", *_room(user_id, channel_id), event["content"], user_id=user_id)
    return _deliver(event)


@bp.post("/postback")
def postback():
    body = _body()
    user_id, channel_id, error = _resolve_sender(body)
    if error:
        return error
    data, display_text = body.get("data"), body.get("displayText")
    if not isinstance(data, str):
        return bad_request("data (string) is required")
    if display_text:
        state().record_message("user", *_room(user_id, channel_id),
                               {"type": "text", "text": display_text}, user_id=user_id)
    return _deliver(callbacks.postback_event(state().config.domain_id, user_id, data, channel_id,
                                             issued=state().issued_time()))


@bp.post("/event")
def raw_event():
    event = request.get_json(silent=True)
    if not isinstance(event, dict) or "type" not in event:
        return bad_request("body must be an event object with a type")
    source = event.get("source") or {}
    s = state()
    with s.lock:
        channel_id = source.get("channelId")
        # A join event creates the room, so the bot can then post to it.
        if event["type"] == "join" and channel_id and channel_id not in s.channels:
            s.channels[channel_id] = {"channelId": channel_id, "title": channel_id, "members": []}
    event.setdefault("issuedTime", s.issued_time())  # the platform stamps every event
    return _deliver(event)


@bp.get("/messages")
def messages():
    return jsonify(state().messages(_since(), request.args.get("userId") or None,
                                    request.args.get("channelId") or None))


@bp.get("/calls")
def calls():
    s = state()
    with s.lock:
        return jsonify(copy.deepcopy(entries_since(s.calls, _since())))


@bp.get("/events")
def events():
    s = state()
    with s.lock:
        return jsonify(copy.deepcopy(entries_since(s.events, _since())))


@bp.get("/directory")
def directory():
    s = state()
    with s.lock:
        return jsonify([s.directory.summary(u) for u in s.directory.users])


@bp.get("/info")
def info():
    """Small, cheap snapshot the page polls: what changed and what to show."""
    s = state()
    with s.lock:
        return jsonify({
            "botId": s.config.bot_id,
            "domainId": s.config.domain_id,
            "adminChannelId": ADMIN_CHANNEL_ID,
            "epoch": s.epoch,
            "directoryVersion": s.directory.version,
            "channels": copy.deepcopy(list(s.channels.values())),
            "persistentMenu": copy.deepcopy(s.persistent_menu),
            "rateLimitPerMinute": s.limiter.per_minute,
            "faults": [f.describe() for f in s.faults.faults],
        })


@bp.post("/faults")
def add_fault():
    s = state()
    try:
        fault = parse_fault(request.get_json(silent=True), s.new_id(), s.config.fault_timeout_seconds)
    except ValueError as exc:
        return bad_request(str(exc))
    with s.lock:
        s.faults.add(fault)
    return jsonify(fault.describe()), 201


@bp.delete("/faults")
def clear_faults():
    with state().lock:
        state().faults.clear()
    return "", 204


@bp.post("/rate-limit")
def set_rate_limit():
    per_minute = _body().get("perMinute")
    if not isinstance(per_minute, int) or isinstance(per_minute, bool) or per_minute < 1:
        return bad_request("perMinute must be a positive integer")
    with state().lock:
        state().limiter.per_minute = per_minute
    return jsonify({"perMinute": per_minute})


@bp.post("/expire-tokens")
def expire_tokens():
    with state().lock:
        state().tokens.expire_all()
    return "", 204


@bp.post("/reset")
def reset():
    """Back to the seed. With {"keepPersistentMenu": true} (the chat page's リセット) the persistent
    menu stays: the bot registers it once at start, so it is the bot's setup, not conversation."""
    s = state()
    keep_menu = _body().get("keepPersistentMenu") is True
    with s.lock:  # one step: a poller never sees the reset without the menu
        menu = s.persistent_menu
        s.reset()
        if keep_menu:
            s.persistent_menu = menu
    return "", 204
