"""The web process killed with SIGKILL while hundreds of acknowledged callbacks are in flight, then
restarted on the same database: every acknowledged event is answered, none is lost, and at most the
few messages that were being sent at the moment of the kill are repeated.

The Procfile's web line (waitress, one process with its inbox/outbox worker thread) runs against
an in-process emulator; ~300 members each send one question through the emulator (signed callbacks,
exactly like LINE WORKS); the whole web process group is killed with SIGKILL right after the
last 200, while the workers are still processing and sending; then the web line is started again.
"""
from __future__ import annotations

import json
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import requests
from sqlalchemy import create_engine, func, select, update

from bot.store import inbox, journal_directory, outbox
from config.settings import normalise_database_url
from demo.stack import free_port
from emulator.directory import synthetic_user_id
from emulator.testing import running_emulator
from tests.stack import emulator_config, stack_env, start_procfile_web, stop_group

MEMBERS = 300
SENDER_THREADS = 16
QUESTIONS = ["通信費は誰が払うの？", "休日に返信しないとだめ？", "退職したらデータはどうなる？", "会社のWi-Fiは使える？"]
# Repeats can only come from outbox rows that were claimed ("sending") when the process died: a row
# still pending was never sent, a row marked sent is not sent again, and the handler's writes, its
# outbox rows and the inbox row's "done" commit in one transaction (a claimed inbox row is processed
# again, but its earlier attempt left nothing behind). A worker claims at most 10 outbox rows per
# pass (Worker.drain_outbox's limit) and sends them one after the other, so at most one message per
# web process can be in the API when the kill lands: repeats <= rows "sending" at the kill
# <= 10 per web process (one in the Procfile; two allowed for a deployment that runs more).
MAX_REPEATED = 2 * 10



def counts(engine, table) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(select(table.c.status, func.count()).group_by(table.c.status)).all())


def test_sigkill_of_web_loses_no_acknowledged_event(keypair, tmp_path, database_url):
    port = free_port()
    config = emulator_config(keypair[1], f"http://127.0.0.1:{port}/callback", directory_size=400,
                             rate_limit_per_minute=1_000_000)
    engine = create_engine(normalise_database_url(database_url))
    with running_emulator(config) as emulator:
        env = stack_env(keypair[0], database_url, emulator)
        members = [synthetic_user_id(n) for n in range(1, MEMBERS + 1)]
        local = threading.local()

        def say(index_member):
            index, member = index_member
            session = getattr(local, "session", None) or requests.Session()
            local.session = session
            response = session.post(f"{emulator.base_url}/_emulator/say", timeout=30,
                                    json={"userId": member, "text": QUESTIONS[index % len(QUESTIONS)]})
            response.raise_for_status()
            return member, response.json()["status"]

        web = start_procfile_web(env, port, tmp_path / "web-1.log")
        try:
            with ThreadPoolExecutor(SENDER_THREADS) as pool:
                statuses = dict(pool.map(say, enumerate(members)))
            stop_group(web, signal.SIGKILL)  # right after the last 200, with the workers busy
        finally:
            stop_group(web, signal.SIGKILL)
        acknowledged = {m for m, status in statuses.items() if status == 200}
        assert len(acknowledged) >= MEMBERS * 0.9, sorted(set(statuses.values()), key=str)

        inbox_at_kill, outbox_at_kill = counts(engine, inbox), counts(engine, outbox)
        # On SQLite, callbacks not yet moved into the inbox are in the killed processes' journal files.
        journal = journal_directory(normalise_database_url(database_url))
        journal_bytes_at_kill = sum(p.stat().st_size for p in journal.glob("*.journal")) if journal else 0
        unfinished = inbox_at_kill.get("pending", 0) + inbox_at_kill.get("processing", 0) \
            + outbox_at_kill.get("pending", 0) + outbox_at_kill.get("sending", 0) + journal_bytes_at_kill
        assert unfinished > 0, f"nothing was in flight at the kill ({inbox_at_kill}, {outbox_at_kill})"
        sending_at_kill = outbox_at_kill.get("sending", 0)
        assert sending_at_kill <= MAX_REPEATED

        # The dead process's leases (60 s inbox, 120 s outbox) would run out by themselves; a killed
        # process renews nothing, so letting them run out now is the same as waiting that long.
        with engine.begin() as conn:
            for table, working in ((inbox, "processing"), (outbox, "sending")):
                conn.execute(update(table).where(table.c.status == working).values(lease_until=datetime(2000, 1, 1)))

        web = start_procfile_web(env, port, tmp_path / "web-2.log")
        try:
            deadline, last, quiet_since = time.monotonic() + 60, -1, time.monotonic()
            while time.monotonic() < deadline:
                inbox_now, outbox_now = counts(engine, inbox), counts(engine, outbox)
                seen = len(emulator.messages())
                if seen != last:
                    last, quiet_since = seen, time.monotonic()
                idle = not (inbox_now.keys() & {"pending", "processing"} or outbox_now.keys() & {"pending", "sending"})
                if idle and time.monotonic() - quiet_since > 1.0:
                    break
                time.sleep(0.2)
        finally:
            stop_group(web)

        inbox_end, outbox_end = counts(engine, inbox), counts(engine, outbox)
        assert set(inbox_end) == {"done"}, inbox_end  # nothing pending, processing or failed
        assert inbox_end["done"] == len(acknowledged)  # one stored event per acknowledged callback
        assert set(outbox_end) == {"sent"}, outbox_end

        with engine.connect() as conn:
            parts: dict[str, int] = {}
            for recipient, contents in conn.execute(select(outbox.c.recipient_id, outbox.c.contents)):
                parts[recipient] = parts.get(recipient, 0) + len(json.loads(contents))
        received: dict[str, int] = {}
        for message in emulator.messages():
            if message["from"] == "bot" and message["target"]["kind"] == "user":
                received[message["target"]["id"]] = received.get(message["target"]["id"], 0) + 1

        unanswered = sorted(m for m in acknowledged if received.get(m, 0) == 0)
        assert not unanswered, f"{len(unanswered)} acknowledged members got no answer"
        incomplete = sorted(m for m in acknowledged if received.get(m, 0) < parts.get(m, 0))
        assert not incomplete, f"{len(incomplete)} members got only part of their answer"
        repeated = sorted(m for m in acknowledged if received.get(m, 0) > parts.get(m, 0))
        assert len(repeated) <= sending_at_kill, (repeated, sending_at_kill)
        print(f"\nkilled with inbox {inbox_at_kill}, outbox {outbox_at_kill}, journal {journal_bytes_at_kill} "
              f"bytes; after the restart all "
              f"{len(acknowledged)} acknowledged events answered, {len(repeated)} member(s) got a message twice")
    engine.dispose()
