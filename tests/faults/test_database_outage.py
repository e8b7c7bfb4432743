"""PostgreSQL away for a moment, through the real code path: the app's DATABASE_URL points at a TCP
forwarder started here, which is stopped (listener closed, open connections cut) and started again.

While it is down: /healthz answers 503, a signed callback answers 503 and is not kept (LINE WORKS
would see a failure, not a false acknowledgement), and the worker thread keeps running. Once it is
back: /healthz 200 and a new callback is stored and answered, with no restart.
"""
from __future__ import annotations

import json
import logging
import socket
import threading
import time

import pytest
from sqlalchemy import select

from bot.store import inbox
from tests.conftest import _truncate
from tests.hostile.conftest import api_mock
from tests.platform.helpers import make_app, signed_headers, text_event

WORKER_LOGGERS = {"bot.worker", "bot.inbox", "bot.outbox", "bot.account_actions"}


class Forwarder:
    """127.0.0.1:<port> -> target, that can be stopped (connections refused and cut) and restarted."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.port = 0
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(32)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener:
            try:
                listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(); close() alone does not
            except OSError:
                pass
            listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed by stop()
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def wait_for(predicate, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


@pytest.fixture
def proxied_postgres(postgres_url):
    """(database URL through the forwarder, the forwarder); the schema is migrated, the tables empty."""
    from sqlalchemy.engine import make_url

    from config.settings import normalise_database_url

    _truncate(postgres_url)
    url = make_url(normalise_database_url(postgres_url))
    forwarder = Forwarder((url.host or "127.0.0.1", url.port or 5432))
    forwarder.start()
    try:
        yield url.set(host="127.0.0.1", port=forwarder.port).render_as_string(hide_password=False), forwarder
    finally:
        forwarder.stop()


def test_database_outage_is_answered_503_and_recovered_from_without_a_restart(proxied_postgres, settings_for,
                                                                             clock, caplog):
    caplog.set_level(logging.INFO)
    url, forwarder = proxied_postgres
    app = make_app(settings_for(url), clock)
    http = app.test_client()
    runtime = app.extensions["bot"]
    worker = runtime.worker
    worker.poll_seconds = 0.05

    def post(text: str, user: str):
        raw = json.dumps(text_event(text, user=user), ensure_ascii=False).encode()
        return raw, http.post("/callback", data=raw, headers=signed_headers(raw))

    def rows():
        with runtime.store.engine.connect() as conn:
            return list(conn.execute(select(inbox).order_by(inbox.c.id)))

    with api_mock() as api:
        def messages_to(user: str) -> int:
            return len([c for c in api.calls if f"/users/{user}/messages" in c.request.url])

        worker.start()
        try:
            assert http.get("/healthz").status_code == 200
            _, before = post("こんにちは", "u-before")
            assert before.get_json() == {"status": "ok"}
            wait_for(lambda: messages_to("u-before") >= 1)

            forwarder.stop()
            health = http.get("/healthz")
            assert health.status_code == 503
            assert health.get_json() == {"status": "unavailable", "database": "unreachable"}
            lost_raw, during = post("通信費は誰が払うの？", "u-during")
            assert during.status_code == 503, during.get_json()
            assert during.get_json() == {"error": "temporarily unavailable"}
            # The worker keeps trying and keeps running.
            def failed_passes() -> int:
                return sum("worker pass failed: database error" in r.getMessage() for r in caplog.records)

            wait_for(lambda: failed_passes() >= 1)
            seen = failed_passes()
            wait_for(lambda: failed_passes() > seen)  # it went round again: still running, still trying
            assert worker._thread.is_alive()
            assert messages_to("u-during") == 0  # refused with 503, so never stored: nothing to send

            forwarder.start()  # the same port: the app is not told anything
            wait_for(lambda: http.get("/healthz").status_code == 200)
            _, after = post("休日に返信しないとだめ？", "u-after")
            assert after.get_json() == {"status": "ok"}
            wait_for(lambda: messages_to("u-after") >= 1)
            assert worker._thread.is_alive()

            stored = rows()
            assert [json.loads(r.body)["source"]["userId"] for r in stored] == ["u-before", "u-after"]
            wait_for(lambda: all(r.status == "done" for r in rows()))
            # The refused delivery was not kept: sent again, it is new, not a duplicate.
            again = http.post("/callback", data=lost_raw, headers=signed_headers(lost_raw))
            assert again.get_json() == {"status": "ok"}
            wait_for(lambda: messages_to("u-during") >= 1)
        finally:
            worker.stop()
            runtime.store.engine.dispose()
    assert not any(r.levelno >= logging.ERROR and r.name in WORKER_LOGGERS for r in caplog.records)
