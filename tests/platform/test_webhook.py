"""POST /callback: verification before anything, then stored before the 200."""
import json

import pytest
import responses

from bot.store import inbox
from tests.platform.helpers import mock_token, post_event, signed_headers, text_event


def stored_rows(app):
    """The inbox, once callbacks kept in the intake journal are moved there (the worker's first step)."""
    store = app.extensions["bot"].store
    store.import_journal()
    with store.engine.connect() as conn:
        return list(conn.execute(inbox.select()))


@responses.activate
def test_signed_event_is_stored_before_the_200(app, http):
    response = post_event(http, text_event())
    assert response.status_code == 200
    rows = stored_rows(app)
    assert len(rows) == 1 and rows[0].status == "pending" and rows[0].event_type == "message/text"
    assert json.loads(rows[0].body)["content"]["text"] == "通信費は誰が払うの？"
    assert len(responses.calls) == 0  # nothing sent from the request thread


@responses.activate
@pytest.mark.parametrize("change", ["tampered", "wrong_bot", "no_signature", "no_bot_id", "wrong_secret"])
def test_unverified_callbacks_get_401_and_are_not_stored(app, http, change):
    raw = json.dumps(text_event()).encode()
    headers = signed_headers(raw)
    if change == "tampered":
        raw = raw.replace(b"u1", b"u2")
    elif change == "wrong_bot":
        headers["X-WORKS-BotId"] = "9999999"
    elif change == "no_signature":
        del headers["X-WORKS-Signature"]
    elif change == "no_bot_id":
        del headers["X-WORKS-BotId"]
    elif change == "wrong_secret":
        headers = signed_headers(raw, secret="not-the-secret")
    response = http.post("/callback", data=raw, headers=headers)
    assert response.status_code == 401
    assert stored_rows(app) == []
    app.extensions["bot"].worker.run_until_idle()
    assert len(responses.calls) == 0


def test_header_names_are_case_insensitive(app, http):
    raw = json.dumps(text_event()).encode()
    headers = {k.lower(): v for k, v in signed_headers(raw).items()}
    headers["x-works-botid"] = headers.pop("x-works-botid")
    assert http.post("/callback", data=raw, headers={"X-WORKS-BOTID": headers["x-works-botid"],
                                                     "x-works-signature": headers["x-works-signature"]}).status_code == 200
    assert len(stored_rows(app)) == 1


def test_reserialised_body_is_refused(app, http):
    raw = json.dumps(text_event()).encode()
    headers = signed_headers(raw)
    reserialised = json.dumps(json.loads(raw), indent=2).encode()
    assert http.post("/callback", data=reserialised, headers=headers).status_code == 401
    assert stored_rows(app) == []


def test_oversized_body_gets_413_and_is_not_stored(app, http):
    event = text_event("あ" * (400 * 1024))
    response = post_event(http, event)
    assert response.status_code == 413
    assert stored_rows(app) == []


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"text"', b'{"type": 3}', b"\xff\xfe\x00",
                                 b'{"type":"message","source":{"userId":"u1"},"content":{"type":"text"}}',
                                 b"[" * 5000 + b"]" * 5000])
def test_malformed_or_non_event_bodies_get_400(app, http, raw):
    response = http.post("/callback", data=raw, headers=signed_headers(raw))
    assert response.status_code == 400
    assert response.is_json and "error" in response.get_json()
    assert stored_rows(app) == []


@pytest.mark.parametrize("event", [
    {"type": "reaction", "source": {"userId": "u1"}, "issuedTime": "2026-11-17T01:00:00.000Z"},
    {"type": "message", "source": {"userId": "u1"}, "issuedTime": "2026-11-17T01:00:00.000Z",
     "content": {"type": "hologram"}},
])
def test_unknown_types_are_acknowledged_and_ignored(app, http, event, caplog):
    caplog.set_level("INFO")
    response = post_event(http, event)
    assert response.status_code == 200 and response.get_json()["status"] == "ignored"
    assert stored_rows(app) == []
    assert any("ignored" in r.getMessage() for r in caplog.records)


@responses.activate
def test_duplicate_delivery_is_processed_once(app, http):
    mock_token()
    responses.add(responses.POST, "https://api.test/v1.0/bots/2000001/users/u1/messages", status=201)
    raw = json.dumps(text_event("こんにちは")).encode()
    first = http.post("/callback", data=raw, headers=signed_headers(raw))
    second = http.post("/callback", data=raw, headers=signed_headers(raw))
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.get_json()["status"] == "duplicate"
    app.extensions["bot"].worker.run_until_idle()
    assert len(stored_rows(app)) == 1
    assert len([c for c in responses.calls if "/messages" in c.request.url]) >= 1
    sends = len([c for c in responses.calls if "/messages" in c.request.url])
    http.post("/callback", data=raw, headers=signed_headers(raw))
    app.extensions["bot"].worker.run_until_idle()
    assert len([c for c in responses.calls if "/messages" in c.request.url]) == sends


def test_get_on_callback_and_unknown_paths_are_json_errors(http):
    assert http.get("/callback").status_code == 405
    assert http.get("/nope").get_json() == {"error": "not found"}


def test_healthz(app, http):
    assert http.get("/healthz").get_json() == {"status": "ok", "database": "ok"}


@pytest.mark.parametrize("issued, status", [
    ("2026-11-15T01:00:00.000Z", 400),  # two days before the clock: a captured callback replayed
    ("2026-11-17T00:54:00.000Z", 400),  # six minutes old
    ("2026-11-17T01:06:00.000Z", 400),  # six minutes ahead
    ("not a time", 400), (None, 400),
    ("2026-11-17T00:56:00.000Z", 200),  # four minutes old: within the window
    ("2026-11-17T01:00:00.000Z", 200),
    ("2026-11-17T10:00:00+09:00", 200),  # the same moment written in Japan's time
])
def test_only_a_callback_issued_near_our_clock_is_kept(app, http, issued, status, caplog):
    event = text_event()
    if issued is None:
        del event["issuedTime"]
    else:
        event["issuedTime"] = issued
    response = post_event(http, event)
    assert response.status_code == status
    assert len(stored_rows(app)) == (1 if status == 200 else 0)
    if status == 400:
        assert "issuedTime" in response.get_json()["error"]
        assert any("issuedTime" in r.getMessage() for r in caplog.records)
