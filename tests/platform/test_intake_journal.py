"""The intake journal (SQLite): what is kept before the 200, how it reaches the inbox, and what a
killed process or a failed write leaves behind. Also the flood signal the worker waits on."""
import fcntl
import hashlib
import json
import os
import shutil
import stat

import pytest
import responses
from sqlalchemy import select

from bot.intake_journal import FLOOD_FILE, IntakeJournal
from bot.migrate import upgrade
from bot.store import FLOOD_CALLBACKS, FLOOD_LINGER_SECONDS, Store, inbox, journal_directory, make_engine
from bot.dispatcher import Dispatcher
from bot.worker import Worker
from config.settings import normalise_database_url
from tests.platform.helpers import USER_MESSAGES, mock_token, post_event, text_event


@pytest.fixture
def db(tmp_path):
    url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    upgrade(url)
    return url


def make_store(url, clock) -> Store:
    return Store(make_engine(url), clock, journal=IntakeJournal(journal_directory(url)))


def inbox_rows(store):
    with store.engine.connect() as conn:
        return list(conn.execute(select(inbox).order_by(inbox.c.id)))


def journal_files(url):
    directory = journal_directory(url)
    return sorted(p.name for p in directory.glob("*.journal")) if directory.exists() else []


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_the_journal_sits_beside_a_sqlite_file_and_nowhere_else(tmp_path):
    assert journal_directory(f"sqlite:///{tmp_path}/bot.sqlite3") == tmp_path / "bot.sqlite3-intake"
    assert journal_directory("sqlite:///:memory:") is None
    assert journal_directory("postgresql+psycopg://postgres@127.0.0.1/test") is None


@responses.activate
def test_a_callback_is_in_the_journal_at_its_200_and_in_the_inbox_after_the_worker_s_pass(app, http, settings):
    mock_token()
    responses.add(responses.POST, USER_MESSAGES, status=201)
    response = post_event(http, text_event("通信費は誰が払うの？"))
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}
    store = app.extensions["bot"].store
    [name] = journal_files(settings.database_url)  # kept before the 200...
    assert inbox_rows(store) == []  # ...and not yet a row
    app.extensions["bot"].worker.run_until_idle()
    [row] = inbox_rows(store)
    assert (row.event_type, row.status) == ("message/text", "done")
    assert json.loads(row.body)["content"]["text"] == "通信費は誰が払うの？"
    assert journal_files(settings.database_url) == []  # imported, then deleted
    assert len([c for c in responses.calls if "/messages" in c.request.url]) == 1


def test_journal_files_are_private(db, clock):
    store = make_store(db, clock)
    store.add_inbox(digest("a"), "{}", "message/text")
    directory = journal_directory(db)
    [path] = directory.glob("*.journal")
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_file_still_being_appended_to_is_not_imported_by_another_process(db, clock):
    writer, other = make_store(db, clock), make_store(db, clock)
    writer.add_inbox(digest("a"), '{"n":1}', "message/text")
    assert other.import_journal() == 0  # the writer holds its file's lock
    assert inbox_rows(other) == [] and len(journal_files(db)) == 1
    assert writer.import_journal() == 1  # its owner finishes it and imports it
    assert [r.body for r in inbox_rows(other)] == ['{"n":1}'] and journal_files(db) == []


def test_what_a_killed_process_left_is_imported_and_a_record_cut_short_is_dropped(db, clock, caplog):
    dead = make_store(db, clock)
    for n in (1, 2):
        dead.add_inbox(digest(f"b{n}"), json.dumps({"n": n}), "message/text")
    [name] = journal_files(db)
    path = journal_directory(db) / name
    with open(path, "ab") as file:  # the start of a third record: the write that failed part-way
        file.write(b'["' + digest("b3").encode() + b'", "message/text", "2026-11-17T01:00:00", 9')
    os.close(dead.journal._fd)  # the process is gone: its lock with it

    survivor = make_store(db, clock)
    assert survivor.import_journal() == 2
    assert [json.loads(r.body)["n"] for r in inbox_rows(survivor)] == [1, 2]
    assert [r.received_at for r in inbox_rows(survivor)] == [clock.now().replace(tzinfo=None)] * 2
    assert journal_files(db) == []
    assert "do not form a record" in caplog.text


def test_a_file_imported_twice_stores_nothing_twice(db, clock, tmp_path):
    """A crash between the import's commit and the file's deletion: the next import reads it again."""
    store = make_store(db, clock)
    store.add_inbox(digest("c"), '{"n":"c"}', "message/text")
    store.journal._close_current()
    [name] = journal_files(db)
    shutil.copy(journal_directory(db) / name, tmp_path / "copy")
    assert store.import_journal() == 1
    shutil.copy(tmp_path / "copy", journal_directory(db) / name)  # as if never deleted
    assert store.import_journal() == 1
    assert len(inbox_rows(store)) == 1 and journal_files(db) == []


def test_a_replayed_body_becomes_one_inbox_row(db, clock):
    store = make_store(db, clock)
    assert store.add_inbox(digest("same"), "{}", "message/text") is True
    assert store.add_inbox(digest("same"), "{}", "message/text") is True  # unknown until the import
    store.import_journal()
    assert [r.body_hash for r in inbox_rows(store)] == [digest("same")]


@pytest.mark.parametrize("failure", ["error", "short"])
def test_a_failed_write_is_an_error_and_nothing_is_appended_after_it(db, clock, monkeypatch, failure):
    store = make_store(db, clock)
    store.add_inbox(digest("before"), '{"n":"before"}', "message/text")
    real_write = os.write

    def failing(fd, data):
        if failure == "short":
            return real_write(fd, data[: len(data) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", failing)
    with pytest.raises(OSError):
        store.add_inbox(digest("failed"), '{"n":"failed"}', "message/text")
    monkeypatch.setattr(os, "write", real_write)
    store.add_inbox(digest("after"), '{"n":"after"}', "message/text")
    assert len(journal_files(db)) == 2  # the failed file was closed; "after" went to a new one
    store.import_journal()
    assert [json.loads(r.body)["n"] for r in inbox_rows(store)] == ["before", "after"]


def test_a_failed_write_answers_503(app, http, monkeypatch):
    def full(fd, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    response = post_event(http, text_event())
    assert response.status_code == 503 and response.get_json() == {"error": "temporarily unavailable"}


def test_a_forked_process_appends_to_a_file_of_its_own(db, clock):
    """gunicorn forks its workers: an inherited descriptor (and its lock) belongs to the parent."""
    store = make_store(db, clock)
    store.add_inbox(digest("parent"), "{}", "message/text")
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            store.add_inbox(digest("child"), "{}", "message/text")
            code = 0
        finally:
            os._exit(code)
    assert os.waitpid(pid, 0)[1] == 0
    files = journal_files(db)
    assert len(files) == 2 and any(name.endswith(f"-{pid}.journal") for name in files)
    assert store.import_journal() == 2  # the child is gone: its file is finished
    assert {r.body_hash for r in inbox_rows(store)} == {digest("parent"), digest("child")}


def test_a_flood_is_seen_by_every_process_on_the_machine(db, clock):
    flooded, other = make_store(db, clock), make_store(db, clock)
    for i in range(FLOOD_CALLBACKS - 1):
        flooded.add_inbox(digest(f"x{i}"), "{}", "message/text")
    assert not flooded.intake_flooded()  # a few callbacks at once are no flood
    flooded.add_inbox(digest("last"), "{}", "message/text")
    assert flooded.intake_flooded() and other.intake_flooded()
    flooded._flood_seen -= FLOOD_LINGER_SECONDS  # as if the flood had passed...
    assert flooded.intake_flooded()  # ...but another process may still see it
    os.utime(journal_directory(db) / FLOOD_FILE, (0, 0))  # that mark is old too
    assert not flooded.intake_flooded() and not other.intake_flooded()


def test_without_a_journal_a_flood_is_seen_by_its_own_process(database_url, clock):
    store = Store(make_engine(normalise_database_url(database_url)), clock)
    for i in range(FLOOD_CALLBACKS):
        store.add_inbox(digest(f"y{i}"), "{}", "message/text")
    assert store.intake_flooded()
    store._flood_seen -= FLOOD_LINGER_SECONDS
    assert not store.intake_flooded()
    store.engine.dispose()


def worker_with(store, clock, flooded) -> tuple[Worker, list[float]]:
    worker = Worker(store, client=None, dispatcher=Dispatcher([]), make_context=lambda tx: None, clock=clock,
                    intake_flooded=flooded, flood_wait_seconds=30.0)
    waits: list[float] = []
    worker._stop.wait = lambda seconds: waits.append(seconds)
    return worker, waits


def test_the_worker_waits_while_callbacks_flood_in(db, clock):
    answers = iter([True, True, True, False])
    worker, waits = worker_with(make_store(db, clock), clock, lambda: next(answers))
    worker.wait_out_flood()
    assert len(waits) == 3  # until the flood passed


def test_the_worker_waits_no_longer_than_its_limit_in_an_endless_flood(db, clock, monkeypatch):
    import bot.worker as worker_module

    moments = iter([0.0, 10.0, 20.0, 30.0, 40.0])
    monkeypatch.setattr(worker_module.time, "monotonic", lambda: next(moments))
    worker, waits = worker_with(make_store(db, clock), clock, lambda: True)
    worker.wait_out_flood()
    assert len(waits) == 2  # at 10 and 20 s; at 30 s the limit is reached and it works a pass


def test_without_a_flood_the_worker_does_not_wait(db, clock):
    worker, waits = worker_with(make_store(db, clock), clock, lambda: False)
    worker.wait_out_flood()
    assert waits == []
