"""The inbox writer (the intake on PostgreSQL), on SQLite and PostgreSQL: group commit, duplicates,
errors, recovery."""
import hashlib
import threading
import time

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from bot.store import Store, inbox, make_engine
from config.settings import normalise_database_url


@pytest.fixture
def store(database_url, clock):
    engine = make_engine(normalise_database_url(database_url))
    yield Store(engine, clock)
    engine.dispose()


def stored(store):
    with store.engine.connect() as conn:
        return list(conn.execute(select(inbox).order_by(inbox.c.id)))


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_rows_are_stored_as_the_rest_of_the_store_reads_them(store, clock):
    row_id = store.inbox_writer.add(digest("a"), '{"type":"message"}', "message/text")
    [row] = stored(store)
    assert (row.id, row.body, row.event_type, row.status, row.attempts) == (row_id, '{"type":"message"}',
                                                                           "message/text", "pending", 0)
    assert row.received_at == row.next_attempt_at == clock.now().replace(tzinfo=None)
    [claimed] = store.claim_inbox("worker-1")  # due at once: the worker's claim finds it
    assert claimed.id == row_id


def test_a_body_already_stored_is_not_stored_again(store):
    first = store.inbox_writer.add(digest("same"), "{}", "message/text")
    assert store.inbox_writer.add(digest("same"), "{}", "message/text") is None
    assert [r.id for r in stored(store)] == [first]


def test_concurrent_callbacks_each_get_their_own_committed_row(store):
    """Many threads at once (as the web server's threads): every caller gets a distinct id, every row is
    there, and the two duplicates in the crowd are each stored once."""
    bodies = [f"body-{i}" for i in range(60)] + ["body-7", "body-8"]
    results: dict[int, int | None] = {}
    start = threading.Barrier(len(bodies))

    def post(index: int, body: str) -> None:
        start.wait()
        results[index] = store.inbox_writer.add(digest(body), body, "message/text")

    threads = [threading.Thread(target=post, args=(i, b)) for i, b in enumerate(bodies)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    rows = stored(store)
    assert sorted(r.body for r in rows) == sorted(set(bodies))
    ids = [v for v in results.values() if v is not None]
    assert len(results) == len(bodies) and len(ids) == 60 == len(set(ids))
    assert sorted(ids) == [r.id for r in rows]


def queue_behind_a_write(store, bodies) -> tuple[list[threading.Thread], dict]:
    """Callbacks that arrive while another thread is committing: they queue and wait. Returns their
    threads and, once joined, what each add returned or raised. The caller ends the write."""
    writer = store.inbox_writer
    with writer._lock:
        writer._writing = True  # as if another thread were committing now
    outcomes: dict[str, object] = {}

    def post(body: str) -> None:
        try:
            outcomes.setdefault(body, []).append(store.inbox_writer.add(digest(body), body, "message/text"))
        except OperationalError as exc:
            outcomes.setdefault(body, []).append(exc)

    threads = [threading.Thread(target=post, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 10
    while len(writer._queue) < len(bodies):
        assert time.monotonic() < deadline, "the callbacks did not queue"
        threading.Event().wait(0.01)
    return threads, outcomes


def end_write(store, notify: bool) -> None:
    with store.inbox_writer._lock:
        store.inbox_writer._writing = False
        if notify:
            store.inbox_writer._lock.notify_all()


def test_callbacks_queued_during_a_write_share_the_next_commit(store, monkeypatch):
    """Four callbacks (one a duplicate) arrive while a write is under way: the next writer stores them
    in one transaction, and each caller gets its own answer."""
    writer = store.inbox_writer
    batches = []
    insert = writer._insert
    monkeypatch.setattr(writer, "_insert", lambda cursor, conn, batch: (batches.append(len(batch)),
                                                                        insert(cursor, conn, batch)))
    threads, outcomes = queue_behind_a_write(store, ["q1", "q2", "q3", "q2"])
    end_write(store, notify=True)  # the first waiter to wake writes for all
    for t in threads:
        t.join(10)
    assert batches == [4]
    rows = stored(store)
    assert sorted(r.body for r in rows) == ["q1", "q2", "q3"]
    ids = {r.body: r.id for r in rows}
    assert outcomes["q1"] == [ids["q1"]] and outcomes["q3"] == [ids["q3"]]
    assert sorted(outcomes["q2"], key=str) == sorted([ids["q2"], None], key=str)  # stored once


def test_callers_waiting_on_an_interrupted_write_get_an_error_not_a_silent_none(store, monkeypatch):
    def interrupted(cursor, conn, batch):
        raise KeyboardInterrupt

    monkeypatch.setattr(store.inbox_writer, "_insert", interrupted)
    threads, outcomes = queue_behind_a_write(store, ["w1", "w2"])
    end_write(store, notify=False)  # the waiters sleep on: this thread leads the next write
    with pytest.raises(KeyboardInterrupt):
        store.inbox_writer.add(digest("leader"), "leader", "message/text")
    for t in threads:
        t.join(10)
    assert [type(v) for vs in outcomes.values() for v in vs] == [OperationalError, OperationalError]
    assert stored(store) == []


def test_a_database_error_is_raised_and_the_next_write_reconnects(store):
    writer = store.inbox_writer
    store.inbox_writer.add(digest("before"), "{}", "message/text")
    driver_error = store.engine.dialect.loaded_dbapi.OperationalError

    class LostConnection:
        def cursor(self):
            raise driver_error("connection lost")

        def close(self):
            pass

    writer._connection = LostConnection()
    with pytest.raises(OperationalError):  # the webhook answers 503 on this
        store.inbox_writer.add(digest("during"), "{}", "message/text")
    assert writer._connection is None  # dropped, not reused
    assert store.inbox_writer.add(digest("after"), "{}", "message/text") is not None
    assert [r.body_hash for r in stored(store)] == [digest("before"), digest("after")]


def test_a_connection_the_server_closed_is_replaced_without_refusing_the_callback(store, database_url):
    """PostgreSQL restarted (or an idle connection cut): the kept connection is dead. The callback is
    still stored, on a new connection, instead of being answered 503."""
    store.inbox_writer.add(digest("before"), "{}", "message/text")
    writer = store.inbox_writer
    dead = writer._connection
    if database_url.startswith("sqlite"):
        dead.close()
    else:
        with store.engine.begin() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": dead.info.backend_pid})
    assert store.inbox_writer.add(digest("after"), "{}", "message/text") is not None
    assert writer._connection is not dead
    assert [r.body_hash for r in stored(store)] == [digest("before"), digest("after")]
