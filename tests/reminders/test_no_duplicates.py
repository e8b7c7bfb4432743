"""Nobody gets a reminder twice when a send gets no response although LINE WORKS delivered it.

The message API has no idempotency key. A send whose response is lost (a read timeout on a stalled
server, a connection dropped after the request went out) may have been delivered; the broadcast used
to put such a row back in the outbox and send it again: a real second message. Found by
bench/reminder_bench.py on a loaded machine ("duplicates 3"); reproduced by stopping the emulator's
process for 13 s mid-broadcast (7 sends in flight -> 7 duplicates, each outbox row attempts=2).
"""
from __future__ import annotations

import requests
from sqlalchemy import select
from urllib3.exceptions import NewConnectionError

from bot.client import ApiError, _may_have_arrived
from bot.store import outbox
from tests.reminders.conftest import ACTIVE_SEED, delivered, emulated, make_broadcaster, synthetic
from tests.reminders.test_broadcast import broadcast_row, request


def run_to_end(broadcaster, clock, rounds=50):
    """Send until the occurrence is finished, letting the clock run on so that retries fall due."""
    for _ in range(rounds):
        broadcaster.take_requests()
        broadcaster.drain()
        if broadcaster.watch() == 0 and not broadcaster.take_requests():
            return
        clock.advance(seconds=10)
    raise AssertionError("broadcast did not finish")


class FlakySession(requests.Session):
    """Message sends that fail once each for the first `count` calls: `lost` delivers the message and
    then loses the response (read timeout); `unsent` fails before anything is sent (connect timeout)."""

    def __init__(self, mode: str, count: int):
        super().__init__()
        self.mode = mode
        self.count = count

    def request(self, method, url, *args, **kwargs):
        failing = method == "POST" and url.endswith("/messages") and self.count > 0
        if failing:
            self.count -= 1
            if self.mode == "unsent":
                raise requests.ConnectTimeout("connect timed out")
        response = super().request(method, url, *args, **kwargs)
        if failing:
            raise requests.ReadTimeout("read timed out")
        return response


def test_a_send_delivered_without_a_response_is_not_sent_again(keypair, database_url, clock, book, fake_time):
    with emulated(keypair, database_url, clock, directory_size=20) as (emu, runtime):
        runtime.client.session = FlakySession("lost", count=3)
        request(runtime, book, "all-hands")
        broadcaster = make_broadcaster(runtime, book, fake_time)
        run_to_end(broadcaster, clock)

        got = delivered(emu)
        assert set(got) == {("user", u) for u in ACTIVE_SEED + synthetic(20)}  # the 3 did arrive
        assert {k: n for k, n in got.items() if n > 1} == {}  # and nobody got it twice
        with runtime.store.engine.connect() as conn:
            unknown = conn.execute(select(outbox).where(outbox.c.status == "failed")).all()
        assert len(unknown) == 3
        assert all(r.attempts == 1 and "may have been delivered" in r.last_error for r in unknown)
        assert broadcast_row(runtime, "all-hands").status == "done"


def test_a_send_that_never_left_is_still_retried(keypair, database_url, clock, book, fake_time):
    with emulated(keypair, database_url, clock, directory_size=20) as (emu, runtime):
        runtime.client.session = FlakySession("unsent", count=3)
        request(runtime, book, "all-hands")
        broadcaster = make_broadcaster(runtime, book, fake_time)
        run_to_end(broadcaster, clock)

        got = delivered(emu)
        assert set(got) == {("user", u) for u in ACTIVE_SEED + synthetic(20)}  # no gap
        assert set(got.values()) == {1}
        assert broadcast_row(runtime, "all-hands").sent == len(got)


def test_which_failures_may_have_reached_the_server():
    assert _may_have_arrived(requests.ReadTimeout())
    assert _may_have_arrived(requests.ConnectionError("Connection aborted"))
    assert not _may_have_arrived(requests.ConnectTimeout())
    refused = requests.ConnectionError(type("MaxRetry", (), {"reason": NewConnectionError(None, "refused")})())
    assert not _may_have_arrived(refused)
    assert not ApiError("x", 500, "E").maybe_done  # an answer (even an error) is not "maybe done"
