"""HTTP edge: POST /callback and GET /healthz. The only module that touches flask.request.

Order of checks on a callback: size (413), bot id and signature (401, nothing stored), JSON (400),
event shape (400), `issuedTime` within ISSUED_WINDOW of our clock (400: a signed callback captured and
replayed later, after retention removed its inbox row, is not processed again; within the window the
inbox row's body hash refuses it), unknown type or content (200, ignored with a log line), then the event is kept
(the intake journal on SQLite, an inbox row on PostgreSQL) and only then 200 is answered. Storage
that cannot take it answers 503, never a 200 for an event we did not keep.
"""
from __future__ import annotations

import hashlib
import json
import logging
from datetime import timedelta

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import RequestEntityTooLarge

from bot import signature
from bot.events import EventError, describe, is_ignorable, issued_at, parse_event

MAX_BODY_BYTES = 1024 * 1024
# LINE WORKS calls at once and never resends: an event issued longer ago (or ahead, for a clock that
# runs fast) than this is a replay. Inbox rows (and their body hashes) are kept for days, far longer.
ISSUED_WINDOW = timedelta(minutes=5)

log = logging.getLogger("bot.webhook")
blueprint = Blueprint("webhook", __name__)


def _runtime():
    return current_app.extensions["bot"]


def _error(status: int, message: str):
    return jsonify({"error": message}), status


@blueprint.post("/callback")
def callback():
    runtime = _runtime()
    req = request._get_current_object()  # the hot path: one context lookup instead of one per use
    if req.content_length is not None and req.content_length > MAX_BODY_BYTES:
        log.warning("callback refused: body of %d bytes is over the limit", req.content_length)
        return _error(413, "body too large")
    # Read at most one byte past the limit: werkzeug stops a streamed (chunked) body at the limit
    # without an error, so a body cut there would otherwise look complete (and fail as a 401).
    req.max_content_length = MAX_BODY_BYTES + 1
    try:
        raw = req.get_data(cache=False)
    except RequestEntityTooLarge:
        raw = None
    if raw is None or len(raw) > MAX_BODY_BYTES:
        log.warning("callback refused: streamed body over the limit")
        return _error(413, "body too large")

    headers = req.headers  # werkzeug headers are case-insensitive
    if headers.get("X-WORKS-BotId", "") != runtime.settings.bot_id or not signature.verify(
            runtime.settings.bot_secret, raw, headers.get("X-WORKS-Signature")):
        log.warning("callback refused: bad bot id or signature (%d bytes)", len(raw))
        return _error(401, "unauthorized")

    try:
        body_text = raw.decode("utf-8")  # the documented charset; anything else is malformed
        event = parse_event(json.loads(body_text))
    except (ValueError, RecursionError) as exc:
        reason = str(exc)[:100] if isinstance(exc, EventError) else "malformed JSON"
        log.warning("callback refused: %s", reason)
        return _error(400, reason)

    issued = issued_at(event)
    if issued is None or abs(runtime.clock.now() - issued) > ISSUED_WINDOW:
        log.warning("callback refused: issuedTime %s is missing or more than %d minutes from our clock",
                    "missing" if issued is None else issued.isoformat(), ISSUED_WINDOW.seconds // 60)
        return _error(400, "issuedTime missing or outside the accepted window")

    if is_ignorable(event):
        log.info("callback ignored: unsupported %s", describe(event))
        return jsonify({"status": "ignored"}), 200

    event_type = describe(event)
    try:
        kept = runtime.store.add_inbox(hashlib.sha256(raw).hexdigest(), body_text, event_type)
    except (SQLAlchemyError, OSError) as exc:
        log.error("callback not stored: %s; answering 503", type(exc).__name__)
        return _error(503, "temporarily unavailable")
    if not kept:
        log.info("callback duplicate of a stored event; not processed again")
        return jsonify({"status": "duplicate"}), 200
    # Only at debug level: the access log has a line per request, and the worker logs what it did with the event.
    log.debug("callback stored type=%s", event_type)
    runtime.wake_worker()
    return jsonify({"status": "ok"}), 200


@blueprint.get("/healthz")
def healthz():
    if _runtime().store.ping():
        return jsonify({"status": "ok", "database": "ok"}), 200
    return jsonify({"status": "unavailable", "database": "unreachable"}), 503
