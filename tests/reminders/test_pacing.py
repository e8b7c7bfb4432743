"""The shared send budget: interactive answers first, the per-minute total, pauses after a 429."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from bot.store import OutgoingMessage, Store, make_engine, outbox
from bot.migrate import upgrade
from config.settings import normalise_database_url
from scheduler.broadcast import Pacer
from tests.reminders.conftest import FakeTime


def make_store(database_url, clock):
    url = normalise_database_url(database_url)
    if url.startswith("sqlite"):
        upgrade(url)
    return Store(make_engine(url), clock)


def add(store, priority, count=1, **values):
    with store.transaction() as tx:
        ids = store.enqueue(tx, [OutgoingMessage("user", f"u{priority}-{i}", [{"type": "text", "text": "x"}],
                                                 priority=priority) for i in range(count)])
        if values:
            tx.execute(update(outbox).where(outbox.c.id.in_(ids)).values(**values))
    return ids


def test_broadcast_stands_back_while_an_answer_is_waiting(database_url, clock):
    store = make_store(database_url, clock)
    time = FakeTime(clock)
    answer = add(store, 0)
    pacer = Pacer(store, 600, time.monotonic, time.sleep)
    original_sleep = time.sleep

    def sleep(seconds):  # the web worker sends the answer 0.3 s later
        original_sleep(seconds)
        if time.slept >= 0.3:
            with store.transaction() as tx:
                tx.execute(update(outbox).where(outbox.c.id.in_(answer)).values(status="sent",
                                                                                 sent_at=store.now()))

    pacer.sleep = sleep
    started = time.now
    assert pacer.acquire()
    assert time.now - started >= 0.3 and pacer.yields > 0


def test_total_per_minute_counts_interactive_sends(database_url, clock):
    store = make_store(database_url, clock)
    time = FakeTime(clock)
    add(store, 0, count=50, status="sent", sent_at=store.now())  # 50 answers just went out
    pacer = Pacer(store, 60, time.monotonic, time.sleep)
    start = time.now
    granted = []
    for _ in range(15):
        assert pacer.acquire()
        granted.append(time.now - start)
        add(store, 9, status="sent", sent_at=store.now())  # the broadcast message goes out
    assert sum(1 for t in granted if t < 59) == 10  # only what the answers left in the first minute
    assert all(b - a >= 1.0 - 1e-6 for a, b in zip(granted, granted[1:]))  # evenly spaced at 60/min


def test_a_429_pauses_the_broadcast_until_reset(database_url, clock):
    store = make_store(database_url, clock)
    time = FakeTime(clock)
    pacer = Pacer(store, 6000, time.monotonic, time.sleep)
    pacer.rate_limited(30)
    start = time.now
    assert pacer.acquire()
    assert time.now - start >= 30


def test_an_answer_rate_limited_pauses_the_broadcast_too(database_url, clock):
    store = make_store(database_url, clock)
    time = FakeTime(clock)
    answer = add(store, 0, last_error="429 TOO_MANY_REQUESTS", next_attempt_at=store.now() + timedelta(seconds=20))
    pacer = Pacer(store, 6000, time.monotonic, time.sleep)

    def sleep(seconds):  # once due, the web worker sends the answer first
        time.sleep(seconds)
        if time.slept >= 20.5:
            with store.transaction() as tx:
                tx.execute(update(outbox).where(outbox.c.id.in_(answer)).values(status="sent", sent_at=store.now()))

    pacer.sleep = sleep
    start = time.now
    assert pacer.acquire()
    assert time.now - start >= 20.4 and pacer.pauses == 1 and pacer.yields > 0
