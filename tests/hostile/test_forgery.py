"""Forged, replayed and oversized callbacks: the right status, nothing stored, no API call.

Every refused request is followed by a worker run with a LINE WORKS API that would accept anything,
so an event that slipped into storage would show up as an API call.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
from datetime import datetime, timedelta, timezone

import pytest
import requests

from bot import signature
from emulator.testing import serving
from tests.conftest import BOT_ID, BOT_SECRET
from tests.hostile.conftest import api_mock, counts, drain
from tests.platform.helpers import signed_headers, text_event

EMPTY = {"inbox": 0, "outbox": 0, "reports": 0, "conversations": 0, "confirmations": 0, "account_actions": 0,
         "audit_log": 0, "faq_questions": 0, "faq_feedback": 0}


def raw_event(text="通信費は誰が払うの？", user="u1") -> bytes:
    return json.dumps(text_event(text, user=user), ensure_ascii=False).encode()


def assert_nothing_happened(app, clock):
    runtime = app.extensions["bot"]
    assert counts(runtime.store) == EMPTY
    with api_mock() as mock:
        drain(runtime, clock)
        assert list(mock.calls) == []
    assert counts(runtime.store) == EMPTY


def headers_with(raw: bytes, **changes) -> dict:
    headers = signed_headers(raw)
    for name, value in changes.items():
        key = {"sig": "X-WORKS-Signature", "bot": "X-WORKS-BotId"}[name]
        if value is None:
            del headers[key]
        else:
            headers[key] = value
    return headers


RAW = raw_event()
ISSUED = datetime(2026, 11, 17, 1, 0, tzinfo=timezone.utc)  # text_event's issuedTime, the clock's start
GOOD = signature.sign(BOT_SECRET, RAW)


def _swapcase_one(sig: str) -> str:
    index = next(i for i, ch in enumerate(sig) if ch.isalpha())
    return sig[:index] + sig[index].swapcase() + sig[index + 1:]


FORGERIES = {
    "random-signature": lambda: (RAW, headers_with(RAW, sig=base64.b64encode(b"x" * 32).decode())),
    "signature-of-another-body": lambda: (RAW, headers_with(RAW, sig=signature.sign(BOT_SECRET, raw_event("別")))),
    "valid-signature-modified-body": lambda: (raw_event(user="u2"), headers_with(RAW)),
    "body-with-a-trailing-newline": lambda: (RAW + b"\n", headers_with(RAW)),
    "wrong-secret": lambda: (RAW, headers_with(RAW, sig=signature.sign("guessed", RAW))),
    "empty-secret": lambda: (RAW, headers_with(RAW, sig=signature.sign("", RAW))),
    "hex-digest-instead-of-base64": lambda: (RAW, headers_with(RAW, sig=hmac.new(
        BOT_SECRET.encode(), RAW, hashlib.sha256).hexdigest())),
    "sha1-hmac": lambda: (RAW, headers_with(RAW, sig=base64.b64encode(hmac.new(
        BOT_SECRET.encode(), RAW, hashlib.sha1).digest()).decode())),
    "right-signature-wrong-bot": lambda: (RAW, headers_with(RAW, bot="2000002")),
    "right-signature-bot-id-prefix": lambda: (RAW, headers_with(RAW, bot=BOT_ID + "0")),
    "right-signature-empty-bot": lambda: (RAW, headers_with(RAW, bot="")),
    "signature-case-changed": lambda: (RAW, headers_with(RAW, sig=_swapcase_one(GOOD))),
    "signature-all-lower": lambda: (RAW, headers_with(RAW, sig=GOOD.lower())),
    "signature-space-inside": lambda: (RAW, headers_with(RAW, sig=GOOD[:10] + " " + GOOD[10:])),
    "signature-without-padding": lambda: (RAW, headers_with(RAW, sig=GOOD.rstrip("="))),
    "signature-twice": lambda: (RAW, headers_with(RAW, sig=GOOD + GOOD)),
    "signature-truncated": lambda: (RAW, headers_with(RAW, sig=GOOD[:-4])),
    "signature-non-ascii": lambda: (RAW, headers_with(RAW, sig=GOOD[:-2] + "é=")),
    "signature-empty": lambda: (RAW, headers_with(RAW, sig="")),
    "no-signature": lambda: (RAW, headers_with(RAW, sig=None)),
    "no-bot-id": lambda: (RAW, headers_with(RAW, bot=None)),
    "no-headers-at-all": lambda: (RAW, {"Content-Type": "application/json"}),
    "secret-as-signature": lambda: (RAW, headers_with(RAW, sig=BOT_SECRET)),
}


def test_forged_callbacks_get_401_and_leave_no_trace(app, http, clock):
    # One app for all cases (each case is checked before the next is sent): fast, and a forgery that
    # slipped in would still be caught by the checks after it.
    for case, forge in FORGERIES.items():
        raw, headers = forge()
        response = http.post("/callback", data=raw, headers=headers)
        assert (case, response.status_code, response.get_json()) == (case, 401, {"error": "unauthorized"})
        assert_nothing_happened(app, clock)


@pytest.mark.parametrize("padding", [" ", "\t", "  "])
def test_whitespace_around_the_signature_is_not_a_different_signature(app, http, padding):
    """HTTP strips whitespace around header values; the value itself must still match exactly."""
    response = http.post("/callback", data=RAW, headers=headers_with(RAW, sig=padding + GOOD + padding))
    assert response.status_code == 200
    assert counts(app.extensions["bot"].store)["inbox"] == 1


def test_replayed_callback_is_processed_once(app, http, clock):
    runtime = app.extensions["bot"]
    first = http.post("/callback", data=RAW, headers=signed_headers(RAW))
    assert first.get_json() == {"status": "ok"}
    with api_mock() as mock:
        drain(runtime, clock)
        sends = [c.request.url for c in mock.calls if "/messages" in c.request.url]
        assert len(sends) >= 1
        for minutes in (1, 3, 5):  # replayed within the accepted window: its stored hash refuses it
            clock.set(ISSUED + timedelta(minutes=minutes))
            again = http.post("/callback", data=RAW, headers=signed_headers(RAW))
            assert again.status_code == 200 and again.get_json() == {"status": "duplicate"}
            drain(runtime, clock)
        # replayed days later, when retention may have removed its inbox row: its issuedTime refuses it
        for late in (timedelta(minutes=6), timedelta(days=2), -timedelta(minutes=6)):
            clock.set(ISSUED + late)
            refused = http.post("/callback", data=RAW, headers=signed_headers(RAW))
            assert refused.status_code == 400 and "issuedTime" in refused.get_json()["error"]
        assert [c.request.url for c in mock.calls if "/messages" in c.request.url] == sends
    stored = counts(runtime.store)
    assert stored["inbox"] == 1 and stored["faq_questions"] == 1


BIG = json.dumps(text_event("あ" * 400_000), ensure_ascii=False).encode()  # 1.2 MB, over the 1 MiB limit


@pytest.mark.parametrize("signed", [True, False])
def test_oversized_body_with_content_length_gets_413(app, http, clock, signed):
    headers = signed_headers(BIG) if signed else {"Content-Type": "application/json"}
    response = http.post("/callback", data=BIG, headers=headers)
    assert response.status_code == 413
    assert_nothing_happened(app, clock)


def test_oversized_chunked_body_without_content_length_gets_413(app, http, clock):
    environ = {"wsgi.input_terminated": True}  # what a server sets for Transfer-Encoding: chunked
    response = http.post("/callback", input_stream=io.BytesIO(BIG), environ_overrides=environ,
                         headers={**signed_headers(BIG), "Transfer-Encoding": "chunked"})
    assert response.status_code == 413
    assert_nothing_happened(app, clock)


@pytest.fixture
def served(app):
    """The app behind a real HTTP server, for requests the test client cannot make (chunked bodies)."""
    with serving(app) as url:
        yield url


def _chunks(raw: bytes, size: int = 64 * 1024):
    for start in range(0, len(raw), size):
        yield raw[start:start + size]


def test_over_http_chunked_bodies_are_limited_and_small_ones_accepted(app, served, clock):
    big = requests.post(served + "/callback", data=_chunks(BIG), headers=signed_headers(BIG), timeout=30)
    assert big.status_code == 413
    assert_nothing_happened(app, clock)
    # The same path with a small chunked body works: the limit, not chunking, refused the big one.
    small = requests.post(served + "/callback", data=_chunks(RAW, 16), headers=signed_headers(RAW), timeout=30)
    assert small.status_code == 200 and small.json() == {"status": "ok"}
    assert counts(app.extensions["bot"].store)["inbox"] == 1


def test_over_http_a_chunked_body_of_exactly_the_limit_is_accepted(app, served):
    from bot.webhook import MAX_BODY_BYTES

    empty = raw_event("")
    exact = raw_event("a" * (MAX_BODY_BYTES - len(empty)))
    assert len(exact) == MAX_BODY_BYTES
    response = requests.post(served + "/callback", data=_chunks(exact), headers=signed_headers(exact), timeout=30)
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    over = raw_event("a" * (MAX_BODY_BYTES - len(empty) + 1))
    response = requests.post(served + "/callback", data=_chunks(over), headers=signed_headers(over), timeout=30)
    assert response.status_code == 413
    assert counts(app.extensions["bot"].store)["inbox"] == 1


def test_lying_content_length_does_not_get_past_the_limit(app, served, clock):
    """A small Content-Length in front of a big body: only the declared bytes are read, and they are
    neither a valid signature's body nor stored."""
    import socket

    host, port = served.removeprefix("http://").split(":")
    head = (f"POST /callback HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"X-WORKS-BotId: {BOT_ID}\r\nX-WORKS-Signature: {signature.sign(BOT_SECRET, BIG)}\r\n"
            f"Content-Length: 100\r\nConnection: close\r\n\r\n").encode()
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head + BIG[:200_000])
        reply = sock.recv(200)
    assert reply.startswith(b"HTTP/1.1 401") or reply.startswith(b"HTTP/1.0 401"), reply[:60]
    assert_nothing_happened(app, clock)


def test_other_methods_on_callback_are_refused(app, http, clock):
    for method in ("GET", "PUT", "DELETE", "PATCH"):
        response = http.open("/callback", method=method, data=RAW, headers=signed_headers(RAW))
        assert (method, response.status_code) == (method, 405)
        assert response.get_json() == {"error": "method not allowed"}
        assert_nothing_happened(app, clock)
