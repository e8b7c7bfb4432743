"""Logs carry ids, types, statuses and timings: never secrets, keys, tokens or what people wrote.

A whole session runs through the stack with every logger at DEBUG (the bot's, SQLAlchemy's, urllib3's,
werkzeug's...): a lost-device report, a lockout, an FAQ question, and API calls failing with 500s.
Then every record's message and exception text is searched for the things that must not be there.
The Procfile's web process (waitress) is checked the same way through its output.
"""
from __future__ import annotations

import logging
import time


from emulator.directory import ADMIN, ADMIN_CHANNEL_ID, SEED_USERS
from demo.stack import free_port
from emulator.testing import running_emulator
from tests.conftest import BOT_SECRET
from tests.hostile.conftest import FastTalk as Talk
from tests.stack import emulator_config, running_stack, serve_procfile_web, stack_env
from tests.talk import message_text

TANAKA = SEED_USERS["tanaka"]
CLIENT_SECRET = "test-client-secret"  # tests/stack.py identity
WHEN_WHERE = "品川駅の3番ホーム秘密の場所XYZ"
NOTES = "秘密のメモ123 ケースに社員証"
QUESTION = "通信費は誰が払うの？内緒の質問456"


def key_lines(private_key: str) -> list[str]:
    """The PEM body's lines (a very short last line is left out: it could match by chance)."""
    return [line.strip() for line in private_key.splitlines()
            if len(line.strip()) >= 12 and not line.startswith("-----")]


def issued_tokens(emulator) -> list[str]:
    state = emulator.app.extensions["emulator"]
    with state.lock:
        return list(state.tokens.access) + list(state.tokens.refresh)


def record_texts(records: list[logging.LogRecord]) -> list[str]:
    formatter = logging.Formatter()
    texts = []
    for record in records:
        texts.append(record.getMessage())
        if record.exc_info:
            texts.append(formatter.formatException(record.exc_info))
        if record.exc_text:
            texts.append(record.exc_text)
        if record.stack_info:
            texts.append(record.stack_info)
    return texts


def leaks(texts: list[str], secrets: dict[str, str]) -> list[tuple[str, str]]:
    return [(name, text[:300]) for text in texts for name, secret in secrets.items() if secret in text]


def wait_until(predicate, clock=None, timeout: float = 15.0, advance_seconds: float = 30.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        if clock is not None:
            clock.advance(seconds=advance_seconds)
        time.sleep(0.1)


def test_a_whole_session_at_debug_leaks_nothing(keypair, sqlite_url, clock, caplog):
    caplog.set_level(logging.DEBUG)  # the root logger: every library's records reach caplog
    for name in ("sqlalchemy.engine", "sqlalchemy.pool", "urllib3", "werkzeug", "bot", "handlers"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        with running_stack(keypair, sqlite_url, clock=clock) as stack:
            stack.runtime.worker.housekeeping.every_seconds = 0.0
            emulator = stack.emulator
            employee = Talk(emulator, TANAKA.user_id)
            admin_room = Talk(emulator, ADMIN.user_id, channel_id=ADMIN_CHANNEL_ID)

            # A report, whose admin notice first meets two 500s.
            emulator.inject_fault(r"/channels/.*/messages", status=500, count=2)
            employee.say("紛失報告", expect=2)
            employee.say("私物スマホ")
            lock_q = employee.say(WHEN_WHERE)
            employee.press(lock_q[-1], "設定していた")
            summary = employee.say(NOTES)
            employee.press(summary[-1], "この内容で報告する")
            wait_until(lambda: emulator.bot_messages(channel_id=ADMIN_CHANNEL_ID), clock)
            notice = message_text(emulator.bot_messages(channel_id=ADMIN_CHANNEL_ID)[0]["content"])
            assert NOTES in notice and WHEN_WHERE in notice

            # A lockout, whose suspend fails once with a 500 and is retried.
            emulator.inject_fault(r"/suspend$", status=500, count=1)
            confirm = admin_room.press(admin_room.wait_new(0)[0], "ロックアウト")
            before = admin_room.seen()
            admin_room.press(confirm[0], "実行")
            wait_until(lambda: admin_room.seen() >= before + 2, clock, advance_seconds=20)
            result = message_text(admin_room.wait_new(before, expect=2)[-1])
            assert "アカウント一時停止: 完了" in result
            # The reporter is told too; wait for it, so that the next fault meets the FAQ answer.
            wait_until(lambda: any("保護" in message_text(m["content"])
                                   for m in emulator.bot_messages(user_id=TANAKA.user_id)), clock)

            # An FAQ question, its answer failing twice, then sent; a token refresh on the way.
            emulator.expire_tokens()
            emulator.inject_fault(r"/users/.*/messages", status=500, count=2)
            before = employee.seen()
            assert emulator.say(TANAKA.user_id, QUESTION)["status"] == 200
            wait_until(lambda: employee.seen() > before, clock)
            tokens = issued_tokens(emulator)
            assert len(tokens) >= 2
            failures = [c for c in emulator.calls() if c["status"] == 500]
            assert len(failures) == 5
    finally:
        for name in ("sqlalchemy.engine", "sqlalchemy.pool", "urllib3", "werkzeug", "bot", "handlers"):
            logging.getLogger(name).setLevel(logging.NOTSET)

    secrets = {"bot secret": BOT_SECRET, "client secret": CLIENT_SECRET, "when/where": WHEN_WHERE,
               "notes": NOTES, "notes (part)": "秘密のメモ123", "question": "内緒の質問456"}
    secrets.update({f"private key line {i}": line for i, line in enumerate(key_lines(keypair[0]))})
    secrets.update({f"token {i}": token for i, token in enumerate(tokens)})
    texts = record_texts(caplog.records)
    assert len(texts) > 50  # the session was logged, at DEBUG, by several libraries
    assert {r.name.split(".")[0] for r in caplog.records} >= {"bot", "sqlalchemy", "urllib3"}
    assert leaks(texts, secrets) == []


def test_procfile_web_process_output_leaks_nothing(keypair, tmp_path, sqlite_url):
    port = free_port()
    log_path = tmp_path / "web.log"
    with running_emulator(emulator_config(keypair[1], f"http://127.0.0.1:{port}/callback")) as emulator:
        env = stack_env(keypair[0], sqlite_url, emulator)
        with serve_procfile_web(env, port, log_path):
            assert emulator.say(TANAKA.user_id, NOTES)["status"] == 200
            emulator.wait_for_bot_messages(1, user_id=TANAKA.user_id, timeout=15)
            tokens = issued_tokens(emulator)
            assert tokens
    output = log_path.read_text(encoding="utf-8", errors="replace")
    assert "type=message/text user=" in output  # the process did log the event, by id and type
    secrets = {"bot secret": BOT_SECRET, "client secret": CLIENT_SECRET, "message text": NOTES,
               "message text (part)": "秘密のメモ123"}
    secrets.update({f"private key line {i}": line for i, line in enumerate(key_lines(keypair[0]))})
    secrets.update({f"token {i}": token for i, token in enumerate(tokens)})
    assert leaks(output.splitlines(), secrets) == []


def test_a_failing_report_insert_is_logged_without_the_report(settings, clock, caplog):
    """The report's INSERT fails at the database three times (the worker then gives up and logs the
    error with its traceback): the statement's parameters, i.e. the report, are not in that text."""
    import json

    from sqlalchemy import text as sql

    from tests.hostile.conftest import api_mock, drain
    from tests.platform.helpers import make_app, signed_headers

    caplog.set_level(logging.DEBUG)
    app = make_app(settings, clock)
    http = app.test_client()
    runtime = app.extensions["bot"]
    with runtime.store.transaction() as tx:
        tx.execute(sql("CREATE TRIGGER no_reports BEFORE INSERT ON reports "
                       "BEGIN SELECT RAISE(ABORT, 'disk trouble'); END"))

    def say(text: str, postback: str | None = None) -> None:
        content = {"type": "text", "text": text, **({"postback": postback} if postback else {})}
        issued = clock.now().isoformat(timespec="milliseconds").replace("+00:00", "Z")
        raw = json.dumps({"type": "message", "source": {"userId": "u1"}, "issuedTime": issued,
                          "content": content}, ensure_ascii=False).encode()
        assert http.post("/callback", data=raw, headers=signed_headers(raw)).status_code == 200
        with api_mock():
            drain(runtime, clock)

    say("紛失報告")
    say("私物スマートフォン", postback="lost:device:phone")
    say(WHEN_WHERE)
    say("設定していた", postback="lost:lock:yes")
    say(NOTES)
    say("この内容で報告する", postback="lost:submit")

    gave_up = [r for r in caplog.records if r.name == "bot.inbox" and r.levelno == logging.ERROR]
    assert len(gave_up) == 1 and gave_up[0].exc_info  # the failure is logged, with its traceback
    texts = record_texts(caplog.records)
    assert any("disk trouble" in t and "INSERT INTO reports" in t for t in texts)
    assert leaks(texts, {"when/where": WHEN_WHERE, "notes": NOTES, "notes (part)": "秘密のメモ123"}) == []
