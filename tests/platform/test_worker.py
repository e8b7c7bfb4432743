"""Inbox and outbox on SQLite and PostgreSQL: processing, retries, crash recovery, no double claims."""
import json
import threading
from datetime import timedelta

import pytest
import responses
from sqlalchemy import select, update

from bot.dispatcher import Dispatcher, Route
from bot.replies import Reply, Text
from bot.store import OutgoingMessage, Store, inbox, make_engine, outbox
from bot.worker import web_worker
from tests.platform.helpers import USER_MESSAGES, make_app, mock_token, post_event, sent_messages, text_event

CHANNEL_MESSAGES = "https://api.test/v1.0/bots/2000001/channels/ch-9/messages"


@pytest.fixture
def app(settings_for, database_url, clock):
    return make_app(settings_for(database_url), clock)


def runtime(app):
    return app.extensions["bot"]


def rows(app, table):
    with runtime(app).store.engine.connect() as conn:
        return list(conn.execute(select(table).order_by(table.c.id)))


@responses.activate
def test_signed_message_gets_a_reply_through_the_outbox(app):
    mock_token()
    responses.add(responses.POST, USER_MESSAGES, status=201)
    assert post_event(app.test_client(), text_event("こんにちは")).status_code == 200
    runtime(app).worker.run_until_idle()
    assert [r.status for r in rows(app, inbox)] == ["done"]
    assert [r.status for r in rows(app, outbox)] == ["sent"]
    assert sent_messages()[0]["content"]["type"] == "text"


@responses.activate
def test_reply_goes_to_the_channel_when_the_event_came_from_one(app):
    mock_token()
    responses.add(responses.POST, CHANNEL_MESSAGES, status=201)
    post_event(app.test_client(), text_event("ボット こんにちは", channel="ch-9"))  # addressed to the bot
    runtime(app).worker.run_until_idle()
    assert [c.request.url for c in responses.calls if "/messages" in c.request.url] == [CHANNEL_MESSAGES]


@responses.activate
def test_event_held_by_a_dead_process_is_claimed_again_after_its_lease(app, clock):
    mock_token()
    responses.add(responses.POST, USER_MESSAGES, status=201)
    post_event(app.test_client(), text_event())
    store = runtime(app).store
    assert len(store.claim_inbox("dead-process", lease_seconds=60)) == 1  # then the process dies

    worker = runtime(app).worker
    worker.run_until_idle()
    assert sent_messages() == []  # the lease is live: not taken from its holder
    assert rows(app, inbox)[0].lease_owner == "dead-process"

    clock.advance(seconds=61)
    worker.run_until_idle()
    assert len(sent_messages()) == 1
    assert rows(app, inbox)[0].status == "done"


@responses.activate
def test_outbox_row_held_by_a_dead_process_is_sent_once_after_its_lease(app, clock):
    mock_token()
    responses.add(responses.POST, USER_MESSAGES, status=201)
    post_event(app.test_client(), text_event())
    worker = runtime(app).worker
    worker.inbox.process_due()
    assert len(runtime(app).store.claim_outbox("dead-process", lease_seconds=120)) == 1
    worker.run_until_idle()
    assert sent_messages() == []
    clock.advance(seconds=121)
    worker.run_until_idle()
    worker.run_until_idle()
    assert len(sent_messages()) == 1


@responses.activate
def test_failed_send_is_retried_with_backoff_and_survives_a_restart(settings_for, database_url, clock):
    settings = settings_for(database_url)
    first = make_app(settings, clock)
    mock_token()
    responses.add(responses.POST, USER_MESSAGES, status=500)
    post_event(first.test_client(), text_event())
    runtime(first).worker.run_until_idle()
    row = rows(first, outbox)[0]
    assert row.status == "pending" and row.attempts == 1 and "500" in row.last_error
    assert row.next_attempt_at > runtime(first).store.now()

    # The process restarts; the API has recovered.
    second = make_app(settings, clock)
    responses.replace(responses.POST, USER_MESSAGES, status=201)
    runtime(second).worker.run_until_idle()
    assert rows(second, outbox)[0].status == "pending"  # not before its time
    clock.advance(seconds=10)
    runtime(second).worker.run_until_idle()
    assert rows(second, outbox)[0].status == "sent"
    # One quick in-process retry (within the worker's short wait budget), then the durable retry.
    assert [c.response.status_code for c in responses.calls if "/messages" in c.request.url] == [500, 500, 201]


@responses.activate
def test_429_reschedules_at_rate_limit_reset(app, clock):
    mock_token()
    responses.add(responses.POST, USER_MESSAGES, status=429, headers={"rateLimit-reset": "30"},
                  json={"code": "TOO_MANY_REQUESTS", "description": "API rate limit exceeded"})
    post_event(app.test_client(), text_event())
    runtime(app).worker.run_until_idle()
    row = rows(app, outbox)[0]
    assert row.status == "pending"
    assert row.next_attempt_at == runtime(app).store.now() + timedelta(seconds=30)


@responses.activate
def test_refused_message_is_marked_failed_not_retried(app, clock):
    mock_token()
    responses.add(responses.POST, USER_MESSAGES, status=400, json={"code": "INVALID_PARAMETER", "description": "x"})
    post_event(app.test_client(), text_event())
    runtime(app).worker.run_until_idle()
    clock.advance(minutes=10)
    runtime(app).worker.run_until_idle()
    row = rows(app, outbox)[0]
    assert row.status == "failed" and "INVALID_PARAMETER" in row.last_error
    assert len(sent_messages()) == 1


@responses.activate
def test_stale_answer_expires_instead_of_arriving_hours_late(app, clock):
    mock_token()
    responses.add(responses.POST, USER_MESSAGES, status=503)
    post_event(app.test_client(), text_event())
    runtime(app).worker.run_until_idle()
    clock.advance(hours=2)
    runtime(app).worker.run_until_idle()
    assert rows(app, outbox)[0].status == "expired"


@responses.activate
def test_multi_part_row_resumes_after_the_parts_already_sent(app, clock):
    mock_token()
    store = runtime(app).store
    with store.transaction() as tx:
        store.enqueue(tx, [OutgoingMessage("user", "u1", [{"type": "text", "text": str(i)} for i in range(3)])])
    for status in (201, 500, 500, 201):  # part 1 fails twice: the in-process retry, then durably
        responses.add(responses.POST, USER_MESSAGES, status=status)
    runtime(app).worker.run_until_idle()
    assert rows(app, outbox)[0].parts_sent == 1
    clock.advance(seconds=10)
    runtime(app).worker.run_until_idle()
    texts = [m["content"]["text"] for m in sent_messages()]
    assert texts == ["0", "1", "1", "1", "2"]  # part 0 is not sent again
    assert rows(app, outbox)[0].status == "sent"


@responses.activate
def test_handler_error_is_retried_then_the_sender_is_told(settings_for, database_url, clock):
    settings = settings_for(database_url)
    app = make_app(settings, clock)
    rt = runtime(app)
    calls = []

    def broken(event, ctx):
        calls.append(1)
        with_write = ctx.tx  # a write inside the failed transaction must not survive
        with_write.execute(update(inbox).values(last_error="half-written"))
        raise RuntimeError("bug")

    worker = web_worker(rt.store, rt.client, Dispatcher([Route("broken", broken)]), rt.context,
                        error_reply=lambda: Reply(Text("エラー")))
    mock_token()
    responses.add(responses.POST, USER_MESSAGES, status=201)
    post_event(app.test_client(), text_event())
    for _ in range(3):
        worker.run_until_idle()
        assert not any(r.last_error == "half-written" for r in rows(app, inbox))
        clock.advance(minutes=1)
    assert len(calls) == 3
    assert rows(app, inbox)[0].status == "failed"
    assert [m["content"]["text"] for m in sent_messages()] == ["エラー"]


def test_two_workers_never_claim_the_same_row_on_postgres(postgres_url, clock):
    from tests.conftest import _truncate
    from config.settings import normalise_database_url

    _truncate(postgres_url)
    url = normalise_database_url(postgres_url)
    seed = Store(make_engine(url), clock)
    for i in range(300):
        seed.add_inbox(f"{i:064d}", json.dumps(text_event(str(i))), "message/text")
    stores = [Store(make_engine(url), clock) for _ in range(4)]
    claimed: list[list[int]] = [[] for _ in stores]
    barrier = threading.Barrier(len(stores))

    def claim_all(index):
        barrier.wait()
        while True:
            batch = stores[index].claim_inbox(f"worker-{index}", limit=7, lease_seconds=600)
            if not batch:
                return
            claimed[index].extend(r.id for r in batch)

    threads = [threading.Thread(target=claim_all, args=(i,)) for i in range(len(stores))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    everything = [row_id for ids in claimed for row_id in ids]
    assert len(everything) == 300 and len(set(everything)) == 300
    assert sum(1 for ids in claimed if ids) >= 2  # they really ran side by side
