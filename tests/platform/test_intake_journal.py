"""The intake journal (SQLite): what is kept before the 200, how it reaches the inbox, and what a
killed process or a failed write leaves behind. Also the flood signal the worker waits on."""
import fcntl
import hashlib
import time
import json
import os
import shutil
import stat

import pytest
import responses
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from bot.intake_journal import FLOOD_FILE, IntakeJournal
from bot.migrate import upgrade
from bot.intake import FLOOD_CALLBACKS, FLOOD_LINGER_SECONDS
from bot.store import Store, inbox, journal_directory, make_engine
from bot.worker import IntakeGate
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


def keep(store, body: str) -> bool:
    """What the webhook does with a verified body: keep it under the SHA-256 of its bytes."""
    return store.add_inbox(digest(body), body, "message/text")


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
    keep(store, "{}")
    directory = journal_directory(db)
    [path] = directory.glob("*.journal")
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_file_still_being_appended_to_is_not_imported_by_another_process(db, clock):
    writer, other = make_store(db, clock), make_store(db, clock)
    keep(writer, '{"n":1}')
    assert other.import_journal() == 0  # the writer holds its file's lock
    assert inbox_rows(other) == [] and len(journal_files(db)) == 1
    assert writer.import_journal() == 1  # its owner finishes it and imports it
    assert [r.body for r in inbox_rows(other)] == ['{"n":1}'] and journal_files(db) == []


def test_a_new_file_is_importable_only_once_its_owner_holds_it(db, clock, monkeypatch):
    """The moment between creating a file and locking it: an importer running then must not take the
    file (it would delete it, and the owner would append acknowledged callbacks to a deleted file)."""
    owner, importer = make_store(db, clock), make_store(db, clock)
    real_flock = fcntl.flock
    seen_during_creation = []

    def flock_after_an_import(fd, operation):
        if operation == fcntl.LOCK_EX and not seen_during_creation:  # the owner, about to lock its new file
            seen_during_creation.append(sorted(p.name for p in journal_directory(db).iterdir()))
            importer.import_journal()
        return real_flock(fd, operation)

    monkeypatch.setattr(fcntl, "flock", flock_after_an_import)
    keep(owner, '{"n":"kept"}')
    monkeypatch.setattr(fcntl, "flock", real_flock)
    [[name]] = seen_during_creation
    assert name.endswith(".new")  # not a name importers take
    assert owner.import_journal() == 1
    assert [r.body for r in inbox_rows(owner)] == ['{"n":"kept"}']


def test_a_new_file_abandoned_by_a_dead_creator_is_removed(db, clock):
    store = make_store(db, clock)
    directory = journal_directory(db)
    directory.mkdir()
    abandoned, fresh = directory / "1-1.new", directory / "2-2.new"
    abandoned.touch()
    fresh.touch()
    os.utime(abandoned, (time.time() - 120, time.time() - 120))
    store.import_journal()
    assert not abandoned.exists() and fresh.exists()  # a fresh one may be being created right now


def test_what_a_killed_process_left_is_imported_and_a_record_cut_short_is_dropped(db, clock, caplog):
    dead = make_store(db, clock)
    for n in (1, 2):
        keep(dead, json.dumps({"n": n}))
    [name] = journal_files(db)
    path = journal_directory(db) / name
    body = b'{"n":3}'
    header = json.dumps([hashlib.sha256(body).hexdigest(), "message/text", "2026-11-17T01:00:00", len(body)])
    with open(path, "ab") as file:  # the third record's write failed inside its body
        file.write(header.encode() + b"\n" + body[:4])
    os.close(dead.journal._fd)  # the process is gone: its lock with it

    survivor = make_store(db, clock)
    assert survivor.import_journal() == 2
    assert [json.loads(r.body)["n"] for r in inbox_rows(survivor)] == [1, 2]
    assert [r.received_at for r in inbox_rows(survivor)] == [clock.now().replace(tzinfo=None)] * 2
    assert journal_files(db) == []
    assert "do not form a record" in caplog.text


def test_a_record_whose_body_does_not_match_its_hash_is_dropped_and_the_next_one_kept(db, clock, caplog):
    store = make_store(db, clock)
    store.add_inbox(digest("another body"), '{"n":"damaged"}', "message/text")
    keep(store, '{"n":"good"}')
    store.import_journal()
    assert [r.body for r in inbox_rows(store)] == ['{"n":"good"}']
    assert "does not match its hash" in caplog.text


def test_a_file_imported_twice_stores_nothing_twice(db, clock, tmp_path):
    """A crash between the import's commit and the file's deletion: the next import reads it again."""
    store = make_store(db, clock)
    keep(store, '{"n":"c"}')
    store.journal._close_current()
    [name] = journal_files(db)
    shutil.copy(journal_directory(db) / name, tmp_path / "copy")
    assert store.import_journal() == 1
    shutil.copy(tmp_path / "copy", journal_directory(db) / name)  # as if never deleted
    assert store.import_journal() == 1
    assert len(inbox_rows(store)) == 1 and journal_files(db) == []


def test_a_file_that_cannot_be_imported_now_is_kept_and_does_not_hold_up_the_others(db, clock, monkeypatch):
    first, second = make_store(db, clock), make_store(db, clock)
    keep(first, '{"n":1}')
    keep(second, '{"n":2}')
    first.journal._close_current()
    second.journal._close_current()
    older, newer = journal_files(db)
    real_insert = first._insert_journal_rows
    calls = []

    def database_busy_for_the_first_file(rows):
        calls.append(len(rows))
        if len(calls) == 1:
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        return real_insert(rows)

    monkeypatch.setattr(first.intake, "insert_rows", database_busy_for_the_first_file)
    assert first.import_journal() == 1  # the second file went in
    assert journal_files(db) == [older]
    assert first.import_journal() == 1  # and the first on the next pass
    assert sorted(json.loads(r.body)["n"] for r in inbox_rows(first)) == [1, 2] and journal_files(db) == []


def test_a_full_file_is_finished_and_the_next_record_starts_another(db, clock, monkeypatch):
    monkeypatch.setattr("bot.intake_journal.MAX_FILE_BYTES", 200)
    store = make_store(db, clock)
    for n in range(3):
        keep(store, json.dumps({"n": n, "padding": "x" * 100}))
    assert len(journal_files(db)) == 3
    assert store.import_journal() == 3


def test_a_replayed_body_becomes_one_inbox_row(db, clock):
    first, other = make_store(db, clock), make_store(db, clock)
    assert keep(first, "{}") is True
    assert keep(first, "{}") is False  # this process kept it moments ago: a duplicate
    assert keep(other, "{}") is True  # another process cannot know until the import...
    first.import_journal()
    other.import_journal()
    assert [r.body_hash for r in inbox_rows(first)] == [digest("{}")]  # ...which skips it


def test_replays_of_one_body_are_no_flood(db, clock, monkeypatch):
    monkeypatch.setattr("bot.intake.time.monotonic", lambda: 1000.0)
    store = make_store(db, clock)
    for _ in range(FLOOD_CALLBACKS * 3):
        keep(store, '{"n":"the same"}')
    assert not store.intake_flooded()
    assert len(journal_files(db)) == 1 and store.import_journal() == 1


@pytest.mark.parametrize("cut", ["error", "in the header", "in the body"])
def test_a_failed_write_is_an_error_and_nothing_is_appended_after_it(db, clock, monkeypatch, cut):
    store = make_store(db, clock)
    keep(store, '{"n":"before"}')
    real_write = os.write

    def failing(fd, data):
        if cut == "error":
            raise OSError(28, "No space left on device")
        return real_write(fd, data[:40] if cut == "in the header" else data[:-3])

    monkeypatch.setattr(os, "write", failing)
    with pytest.raises(OSError):
        keep(store, '{"n":"failed", "text": "a body long enough to be cut inside"}')
    monkeypatch.setattr(os, "write", real_write)
    keep(store, '{"n":"after"}')
    assert len(journal_files(db)) == 2  # the failed file was closed; "after" went to a new one
    store.import_journal()
    assert [json.loads(r.body)["n"] for r in inbox_rows(store)] == ["before", "after"]


def test_a_failed_write_answers_503(app, http, monkeypatch):
    def full(fd, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    response = post_event(http, text_event())
    assert response.status_code == 503 and response.get_json() == {"error": "temporarily unavailable"}


def test_a_forked_process_appends_to_a_file_of_its_own_and_leaves_its_parent_s_lock_alone(db, clock):
    """A pre-forking server forks its workers: an inherited descriptor (and its lock) belongs to the parent."""
    store = make_store(db, clock)
    keep(store, '{"n":"parent"}')
    done, go_on = os.pipe(), os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            keep(store, '{"n":"child"}')
            os.write(done[1], b"x")
            os.read(go_on[0], 1)  # alive while the parent finishes its file
            code = 0
        finally:
            os._exit(code)
    os.read(done[0], 1)
    try:
        assert store.import_journal() == 1  # the parent's file: the live child does not hold it
    finally:
        os.write(go_on[1], b"x")
    assert os.waitpid(pid, 0)[1] == 0
    [child_file] = journal_files(db)
    assert child_file.endswith(f"-{pid}.journal")
    assert store.import_journal() == 1  # the child is gone: its file is finished
    assert sorted(json.loads(r.body)["n"] for r in inbox_rows(store)) == ["child", "parent"]


def test_a_flood_is_seen_by_every_process_on_the_machine(db, clock, monkeypatch):
    monkeypatch.setattr("bot.intake.time.monotonic", lambda: 1000.0)  # every callback at the same moment
    flooded, other = make_store(db, clock), make_store(db, clock)
    for i in range(FLOOD_CALLBACKS - 1):
        keep(flooded, f'{{"n":{i}}}')
    assert not flooded.intake_flooded() and not other.intake_flooded()  # a few at once are no flood
    keep(flooded, '{"n":"last"}')
    assert flooded.intake_flooded() and other.intake_flooded()
    flooded.intake._flood_seen -= FLOOD_LINGER_SECONDS  # as if the flood had passed...
    assert flooded.intake_flooded()  # ...but the mark other processes see is still recent
    os.utime(journal_directory(db) / FLOOD_FILE, (0, 0))  # that mark is old too
    assert not flooded.intake_flooded() and not other.intake_flooded()


def test_without_a_journal_a_flood_is_seen_by_its_own_process(database_url, clock, monkeypatch):
    monkeypatch.setattr("bot.intake.time.monotonic", lambda: 1000.0)
    store = Store(make_engine(normalise_database_url(database_url)), clock)
    for i in range(FLOOD_CALLBACKS):
        keep(store, f'{{"n":{i}}}')
    assert store.intake_flooded()
    store.intake._flood_seen -= FLOOD_LINGER_SECONDS
    assert not store.intake_flooded()
    store.engine.dispose()


class RecordingStop:
    """Stands in for the worker's stop event: records each wait instead of waiting."""

    def __init__(self, on_wait=None):
        self.waits: list[float] = []
        self.on_wait = on_wait

    def is_set(self) -> bool:
        return False

    def wait(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.on_wait:
            self.on_wait()


def test_the_worker_waits_while_callbacks_flood_in():
    answers = iter([True, True, True, False])
    stop = RecordingStop()
    IntakeGate(lambda: next(answers), wait_seconds=30.0).wait_out_flood(stop)
    assert len(stop.waits) == 3  # until the flood passed


def test_in_an_endless_flood_the_worker_still_answers_a_while_every_so_often(monkeypatch):
    import bot.worker as worker_module

    now = [0.0]
    monkeypatch.setattr(worker_module.time, "monotonic", lambda: now[0])
    gate = IntakeGate(lambda: True, wait_seconds=30.0)
    stop = RecordingStop(on_wait=lambda: now.__setitem__(0, now[0] + 10.0))
    gate.give_way(stop)
    assert len(stop.waits) == 3 and now[0] == 30.0  # waited up to its limit, 30 s...
    gate.give_way(stop)
    now[0] += 2.9
    gate.give_way(stop)
    assert len(stop.waits) == 3  # ...then passes without waiting for 3 s...
    now[0] += 0.2
    gate.give_way(stop)
    assert len(stop.waits) == 6  # ...and then gives way again


def test_without_a_flood_the_worker_does_not_wait():
    stop = RecordingStop()
    IntakeGate(lambda: False).wait_out_flood(stop)
    assert stop.waits == []
