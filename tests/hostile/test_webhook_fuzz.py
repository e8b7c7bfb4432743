"""POST /callback under fuzzed, correctly signed bodies.

Whatever the body, a signed callback is answered 200, 400 or 413 (never 500); a refusal stores
nothing; an acknowledged event is stored at most once and exactly as received; and the worker that
then processes it always finishes the row (done or failed), with no exception escaping.
"""
from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, event, given, settings as hsettings, strategies as st
from hypothesis.control import currently_in_test_context

from tests.hostile.conftest import api_mock, counts, drain, inbox_rows
from tests.platform.helpers import make_app, signed_headers

FUZZ = hsettings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                        HealthCheck.too_slow,
                                                                        HealthCheck.data_too_large])

ODD_TEXT = st.sampled_from([
    "\u0000", "a\u0000b", "\ud800", "\udfff", "x\ud83d", "\u202e逆向き\u202c", "\u200f\u200e", "😀🙈👨‍👩‍👧",
    "ＡＢＣ１２３", "ｽﾏﾎﾅｸｼﾀ", "スマホなくした", "/lockout admin-1", "/audit", "紛失報告", "\ufeff", "\uffff",
    "'; DROP TABLE inbox; --", "<script>alert(1)</script>", "", " ", "\n\t",
])
ANY_TEXT = st.one_of(ODD_TEXT, st.text(max_size=40), st.text(alphabet=st.characters(codec="utf-8"), max_size=20))
SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=False),
                   ANY_TEXT)
JSON_VALUE = st.recursive(SCALAR, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                          st.dictionaries(ANY_TEXT, inner, max_size=4)),
                          max_leaves=12)


KINDS = ["message", "postback", "join", "leave", "joined", "left", "reaction"]
CONTENT_KINDS = ["text", "location", "sticker", "image", "file", "audio", "video", "hologram"]
IDS = st.sampled_from(["u1", "admin-1", "u2", "ユーザー①", "\u202eu3"]) | ANY_TEXT


@st.composite
def plausible_event(draw) -> dict:
    """A documented-looking event of any type, with odd text in its free fields."""
    kind = draw(st.sampled_from(KINDS))
    source = {"userId": draw(IDS), "domainId": draw(st.integers(0, 2**40))}
    if draw(st.booleans()):
        source["channelId"] = draw(st.sampled_from(["ch-1", "admin-room"]) | ANY_TEXT)
    body = {"type": kind, "source": source, "issuedTime": draw(st.sampled_from([ISSUED] * 3) | ANY_TEXT)}
    if kind == "message":
        content_kind = draw(st.sampled_from(CONTENT_KINDS))
        content = {"type": content_kind}
        if content_kind == "text":
            content["text"] = draw(ANY_TEXT)
            if draw(st.booleans()):
                content["postback"] = draw(st.sampled_from(["lost:start", "lost:cancel", "admin:confirm:x",
                                                            "admin:lockout:1", "faq:up:x"]) | ANY_TEXT)
        elif content_kind == "location":
            content.update(address=draw(ANY_TEXT), latitude=draw(st.floats(-90, 90)),
                           longitude=draw(st.floats(-180, 180)))
        elif content_kind == "sticker":
            content.update(packageId=draw(ANY_TEXT), stickerId=draw(ANY_TEXT))
        else:
            content["fileId"] = draw(ANY_TEXT)
        body["content"] = content
    elif kind == "postback":
        body["data"] = draw(st.sampled_from(["lost:start", "admin:confirm:x", "admin:resolve:1"]) | ANY_TEXT)
    elif kind in ("joined", "left"):
        body["members"] = draw(st.lists(IDS, max_size=3))
    return body


def _paths(value, prefix=()):
    if isinstance(value, dict):
        for key, inner in value.items():
            yield prefix + (key,)
            yield from _paths(inner, prefix + (key,))


@st.composite
def event_shaped(draw) -> dict:
    """A plausible event with 0-3 mutations: a field dropped, or replaced by any JSON value."""
    body = draw(plausible_event())
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 1, 2, 3]))):
        paths = list(_paths(body))
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = body
        for key in path[:-1]:
            parent = parent[key]
        if draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(JSON_VALUE)
    return body


def _encode(value, ensure_ascii: bool) -> bytes:
    # Lone surrogates cannot be UTF-8 encoded raw: they travel as \uXXXX escapes, which is legal JSON.
    text = json.dumps(value, ensure_ascii=ensure_ascii)
    return text.encode("utf-8", "backslashreplace") if not ensure_ascii else text.encode()


def deep(depth: int, kind: str) -> bytes:
    if kind == "list":
        return b"[" * depth + b"]" * depth
    if kind == "dict":
        return b'{"a":' * depth + b"1" + b"}" * depth
    # a valid text event carrying a deeply nested extra field
    inner = b"[" * depth + b"]" * depth
    return (b'{"type":"message","source":{"userId":"u1"},"issuedTime":"@ISSUED@",'
            b'"content":{"type":"text","text":"hi"},"extra":' + inner + b"}")


RAW_BODIES = st.one_of(
    st.binary(max_size=64),
    st.sampled_from([b"\xff\xfe", b'{"type":"message\xc3\x28"}', b"\xed\xa0\x80",  # a raw UTF-8 surrogate
                     b'{"type":"message","source":{"userId":"u1\xff"},"content":{"type":"text","text":"x"}}',
                     b'\xef\xbb\xbf{"type":"join","source":{"channelId":"c"}}', b"", b"null", b"1e999999",
                     b'{"type":"message","source":{"userId":"u1"},"content":{"type":"text","text":"\\ud800"}}',
                     b'{"type":"message","source":{"userId":"u1"},"content":{"type":"text","text":"a\\u0000"}}']),
)


@st.composite
def huge_text_event(draw) -> bytes:
    size = draw(st.sampled_from([0, 1, 2000, 65_536, 200_000, 349_500, 360_000, 900_000]))
    # 900 K characters make a body over the limit (413); ASCII ones would be just under it, and take the
    # FAQ matcher seconds to answer, so the largest body answered here is 349,500 "あ" (about 1 MB).
    chars = ["あ", "😀", "\u0000", "\\", '"'] + (["a"] if size < 900_000 else [])
    char = draw(st.sampled_from(chars))
    event = {"type": "message", "source": {"userId": "u1"}, "issuedTime": ISSUED,
             "content": {"type": "text", "text": char * size}}
    return json.dumps(event, ensure_ascii=draw(st.booleans())).encode()


ISSUED = "@ISSUED@"  # replaced by the app clock's time when posted: the event is fresh


def stamped(app, raw: bytes) -> bytes:
    """`raw` with ISSUED replaced by the time on the app's clock."""
    now = app.extensions["bot"].clock.now().isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return raw.replace(ISSUED.encode(), now.encode())


def post_signed(app, http, raw: bytes):
    raw = stamped(app, raw)
    return http.post("/callback", data=raw, headers=signed_headers(raw))


def check_one(app, http, raw: bytes) -> tuple[int, set[int]]:
    """Post one signed body; check the status and what was (not) stored. Returns it and the new row ids."""
    runtime = app.extensions["bot"]
    before = counts(runtime.store)
    ids_before = {r.id for r in inbox_rows(runtime.store)}
    raw = stamped(app, raw)
    response = http.post("/callback", data=raw, headers=signed_headers(raw))
    assert response.status_code in (200, 400, 413), (response.status_code, raw[:200])
    assert response.is_json
    after = counts(runtime.store)
    if currently_in_test_context():  # for --hypothesis-show-statistics: how many examples got through
        event(f"{response.status_code} {(response.get_json() or {}).get('status', '')}")
    if response.status_code != 200:
        assert after == before, raw[:200]
        return response.status_code, set()
    status = response.get_json()["status"]
    new_rows = [r for r in inbox_rows(runtime.store) if r.id not in ids_before]
    assert len(new_rows) <= 1
    assert {k: v for k, v in after.items() if k != "inbox"} == {k: v for k, v in before.items() if k != "inbox"}
    if status == "ok" and not new_rows:  # a body sent before: the import skipped it
        assert raw in [r.body.encode("utf-8") for r in inbox_rows(runtime.store)]
    elif status == "ok":
        assert new_rows[0].body.encode("utf-8") == raw  # exactly the raw body, not a re-serialisation
        assert new_rows[0].status == "pending"
    else:
        assert status in ("ignored", "duplicate") and new_rows == []
    return response.status_code, {r.id for r in new_rows}


def process_and_check(app, clock, ids: set[int]) -> None:
    """Run the worker; the rows of this example must end done (a handler crash would leave "failed")."""
    runtime = app.extensions["bot"]
    with api_mock():
        drain(runtime, clock)  # an exception escaping the worker fails the test here
    rows = [r for r in inbox_rows(runtime.store) if r.id in ids]
    stuck = [(r.id, r.status, r.last_error) for r in rows if r.status not in ("done", "failed")]
    assert stuck == []
    failed = [(r.id, r.last_error, r.body[:120]) for r in rows if r.status == "failed"]
    # A verified, well-formed event must be handled; "failed" means a handler crashed on it.
    assert failed == []


@pytest.fixture
def fuzz_app(settings, clock):
    return make_app(settings, clock)


@FUZZ
@given(value=JSON_VALUE, ensure_ascii=st.booleans())
def test_any_json_value(fuzz_app, clock, value, ensure_ascii):
    _, ids = check_one(fuzz_app, fuzz_app.test_client(), _encode(value, ensure_ascii))
    process_and_check(fuzz_app, clock, ids)


@FUZZ
@given(body=event_shaped(), ensure_ascii=st.booleans())
def test_event_shaped_dicts_with_wrong_types_and_missing_fields(fuzz_app, clock, body, ensure_ascii):
    _, ids = check_one(fuzz_app, fuzz_app.test_client(), _encode(body, ensure_ascii))
    process_and_check(fuzz_app, clock, ids)


@hsettings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=RAW_BODIES)
def test_raw_bytes_deep_nesting_and_invalid_utf8(fuzz_app, clock, raw):
    _, ids = check_one(fuzz_app, fuzz_app.test_client(), raw)
    process_and_check(fuzz_app, clock, ids)


@pytest.mark.parametrize("kind", ["list", "dict", "event"])
def test_deep_nesting(fuzz_app, clock, kind):
    """Nesting 10,000 deep is refused (400), never a 500; an event with a moderately deep extra field
    is kept verbatim and processed."""
    for depth in (10, 500, 900, 1000, 2000, 10_000):
        status, ids = check_one(fuzz_app, fuzz_app.test_client(), deep(depth, kind))
        if kind != "event" or depth >= 2000:
            assert (depth, status) == (depth, 400)
        if kind == "event" and depth <= 500:
            assert (depth, status, len(ids)) == (depth, 200, 1)
        process_and_check(fuzz_app, clock, ids)


@hsettings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=huge_text_event())
def test_huge_strings(fuzz_app, clock, raw):
    status, ids = check_one(fuzz_app, fuzz_app.test_client(), raw)
    if len(raw) > 1024 * 1024:
        assert status == 413
    process_and_check(fuzz_app, clock, ids)


# -- focused cases, on SQLite and PostgreSQL --------------------------------------------------------------

NUL_TEXT = b'{"type":"message","source":{"userId":"u1"},"issuedTime":"@ISSUED@","content":{"type":"text","text":"nul:\\u0000:end"}}'
SURROGATE_TEXT = b'{"type":"message","source":{"userId":"u1"},"issuedTime":"@ISSUED@","content":{"type":"text","text":"half \\ud83d"}}'
NUL_USER = b'{"type":"message","source":{"userId":"u\\u00001"},"issuedTime":"@ISSUED@","content":{"type":"text","text":"hi"}}'
NUL_POSTBACK = b'{"type":"postback","source":{"userId":"u1"},"issuedTime":"@ISSUED@","data":"lost:start\\u0000"}'
NUL_MEMBER = b'{"type":"joined","source":{"channelId":"c1"},"issuedTime":"@ISSUED@","members":["u1","u\\u0000"]}'
NUL_UNUSED = (b'{"type":"message","source":{"userId":"u1"},"issuedTime":"@ISSUED@","content":{"type":"text","text":"hello"},'
              b'"extra":"\\u0000 and \\ud800"}')


@pytest.mark.parametrize("raw", [NUL_TEXT, SURROGATE_TEXT, NUL_USER, NUL_POSTBACK, NUL_MEMBER],
                         ids=["nul-text", "surrogate-text", "nul-user", "nul-postback", "nul-member"])
def test_nul_and_lone_surrogates_in_fields_the_bot_uses_are_refused(settings_for, database_url, clock, raw):
    """Legal JSON escapes that no database column can hold (PostgreSQL refuses NUL; neither takes a
    lone surrogate): refused at the door with 400 on every database, rather than stored and then
    failing every write of the event."""
    app = make_app(settings_for(database_url), clock)
    runtime = app.extensions["bot"]
    try:
        response = post_signed(app, app.test_client(), raw)
        assert response.status_code == 400
        assert "NUL" in response.get_json()["error"] or "Unicode" in response.get_json()["error"]
        assert counts(runtime.store)["inbox"] == 0
    finally:
        runtime.store.engine.dispose()


def test_nul_escape_in_a_field_the_bot_does_not_use_is_stored_and_processed(settings_for, database_url, clock):
    """The raw body keeps the escape as six ASCII characters: PostgreSQL stores it like SQLite does."""
    app = make_app(settings_for(database_url), clock)
    runtime = app.extensions["bot"]
    try:
        response = post_signed(app, app.test_client(), NUL_UNUSED)
        assert response.get_json() == {"status": "ok"}
        rows = inbox_rows(runtime.store)
        assert len(rows) == 1 and rows[0].body.encode().startswith(NUL_UNUSED.split(b"@ISSUED@")[0])
        assert rows[0].body.encode().endswith(NUL_UNUSED.split(b"@ISSUED@")[1])
        with api_mock() as mock:
            drain(runtime, clock)
            sent = [c for c in mock.calls if "/users/u1/messages" in c.request.url]
        assert inbox_rows(runtime.store)[0].status == "done"
        assert sent  # answered
    finally:
        runtime.store.engine.dispose()


def test_nul_in_a_lost_device_report_on_every_database(settings_for, database_url, clock):
    """Notes with a NUL are refused (400) and the conversation waits for them; typed again without it,
    the report is filed. Before the fix, PostgreSQL lost the whole report to a DataError."""
    from handlers import records

    app = make_app(settings_for(database_url), clock)
    http = app.test_client()
    runtime = app.extensions["bot"]

    def say(text: str | None = None, raw: bytes | None = None, postback: str | None = None) -> int:
        if raw is None:
            content = {"type": "text", "text": text}
            if postback:
                content["postback"] = postback
            raw = json.dumps({"type": "message", "source": {"userId": "u1"}, "issuedTime": ISSUED,
                              "content": content}, ensure_ascii=False).encode()
        status = post_signed(app, http, raw).status_code
        with api_mock():
            drain(runtime, clock)
        return status

    def stored(table) -> list:
        with runtime.store.engine.connect() as conn:
            return list(conn.execute(table.select()))

    try:
        assert say("紛失報告") == 200
        assert say("私物スマートフォン", postback="lost:device:phone") == 200
        assert say("駅で") == 200
        assert say("設定していた", postback="lost:lock:yes") == 200
        assert say(raw=b'{"type":"message","source":{"userId":"u1"},"issuedTime":"@ISSUED@",'
                       b'"content":{"type":"text","text":"memo\\u0000x"}}') == 400
        assert [c.step for c in stored(records.conversations)] == ["notes"]
        assert say("memo x") == 200
        assert say("この内容で報告する", postback="lost:submit") == 200
        assert [(r.lost_when_where, r.notes) for r in stored(records.reports)] == [("駅で", "memo x")]
        assert {r.status for r in inbox_rows(runtime.store)} == {"done"}
    finally:
        runtime.store.engine.dispose()


def test_a_stored_event_the_parser_now_refuses_is_failed_not_claimed_forever(settings_for, database_url, clock):
    """An inbox row kept by an earlier, less strict version (here: a lone surrogate in the text, which
    the webhook now refuses) must not poison the worker: it ends "failed", the rows after it are
    handled, and no exception escapes the worker pass."""
    import hashlib

    app = make_app(settings_for(database_url), clock)
    runtime = app.extensions["bot"]
    old = SURROGATE_TEXT.decode()
    good = json.dumps({"type": "message", "source": {"userId": "u1"}, "content": {"type": "text", "text": "hi"}})
    try:
        for body in (old, good):
            runtime.store.add_inbox(hashlib.sha256(body.encode()).hexdigest(), body, "message/text")
        with api_mock() as mock:
            drain(runtime, clock)
            answered = [c for c in mock.calls if "/users/u1/messages" in c.request.url]
        rows = inbox_rows(runtime.store)
        assert [(r.status, r.last_error) for r in rows] == [("failed", "EventError"), ("done", None)]
        assert len(answered) == 1
        clock.advance(minutes=10)
        runtime.worker.run_until_idle()
        assert [r.attempts for r in inbox_rows(runtime.store)] == [1, 1]  # not claimed again
    finally:
        runtime.store.engine.dispose()
