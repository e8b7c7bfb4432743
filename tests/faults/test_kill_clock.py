"""The clock process killed with SIGKILL in the middle of a reminder broadcast, then run again on the
same database: no eligible member is left out, and nobody gets the reminder twice except for the
few messages that were being sent at the moment of the kill.

`python -m scheduler send ID` (the same enumerate-and-send path as the clock's broadcaster thread)
runs as a real process, in a process group of its own, against an in-process emulator with ~400
directory members; when about a third of them have the reminder, the whole process group is killed
with SIGKILL; the same command is then run again, which resumes the occurrence (it is idempotent).

The child is started through `scheduler.__main__.main(["send", ID], settings=...)` rather than the
bare `python -m scheduler` because two settings cannot be given in the environment:
- the reminder: it is a day off or quiet hours in Tokyo whenever the test happens to run at such a
  time, and only an urgent reminder may be sent then, but config/reminders.yaml has none and
  reminders are read from `settings.config_dir` (code default config/). The child gets a copy of
  config/ whose reminders.yaml holds one urgent reminder (as bench/reminder_bench.py does);
- the rate: BOT_SEND_RATE_PER_MIN is capped at 240 a minute, so ~400 messages would take almost
  two minutes. The child sends RATE_PER_MIN (the pacing code is the same).
Everything else (settings from the environment, the runtime, ReminderService.request_send, the
Broadcaster with its sender threads, leases and dedup keys) is the production path.
"""
from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import yaml
from sqlalchemy import create_engine, func, select, update

from handlers import reminder_records as rr
from bot.store import outbox
from config.settings import normalise_database_url
from emulator.directory import synthetic_user_id
from emulator.testing import running_emulator
from tests.stack import ROOT, emulator_config, stack_env, stop_group

REMINDER_ID = "kill-clock"
TEXT = "クロック停止テスト用のお知らせです。"
DIRECTORY_SIZE = 400
SUSPENDED = [synthetic_user_id(n) for n in range(25, DIRECTORY_SIZE + 1, 50)]  # spread over the pages
RATE_PER_MIN = 3_000  # ~400 messages in ~8 s
KILL_AT = 1 / 3  # of the eligible members having the reminder

REMINDER = {
    "id": REMINDER_ID,
    "title": "強制終了テスト",
    # Urgent, so that it may be sent at whatever time the test runs (night, weekend, holiday).
    "urgent": True,
    "skip_holidays": False,
    "enabled": False,  # only sent by hand here
    "schedule": {"hour": 10, "minute": 0},
    "audience": "all",
    "message": {"text": TEXT},
}

CHILD = """
import sys
from dataclasses import replace
from pathlib import Path
from config.settings import load_settings
from scheduler.__main__ import main
settings = replace(load_settings(), config_dir=Path(sys.argv[1]), send_rate_per_min=int(sys.argv[2]))
sys.exit(main(["send", sys.argv[3]], settings=settings))
"""


def config_dir(tmp_path: Path) -> Path:
    """A copy of config/ whose reminders.yaml holds only REMINDER (policy, texts and commands kept)."""
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    data = yaml.safe_load((config / "reminders.yaml").read_text(encoding="utf-8"))
    data["reminders"] = [REMINDER]
    (config / "reminders.yaml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False),
                                           encoding="utf-8")
    return config


def start_send(env: dict, config: Path, log_path: Path) -> subprocess.Popen:
    with open(log_path, "ab") as log:
        return subprocess.Popen([sys.executable, "-c", CHILD, str(config), str(RATE_PER_MIN), REMINDER_ID],
                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def received(emulator) -> dict[str, int]:
    """user id -> how many times the emulator got the reminder for that member."""
    counts: dict[str, int] = {}
    for message in emulator.bot_messages():
        if message["target"]["kind"] == "user" and message["content"].get("text") == TEXT:
            counts[message["target"]["id"]] = counts.get(message["target"]["id"], 0) + 1
    return counts


def deliveries(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(select(outbox.c.status, func.count())
                                 .where(outbox.c.origin.like(f"{rr.ORIGIN_PREFIX}{REMINDER_ID}:%"))
                                 .group_by(outbox.c.status)).all())


def test_sigkill_of_clock_mid_broadcast_leaves_no_gap_and_repeats_only_in_flight(keypair, tmp_path, database_url):
    started = time.monotonic()
    config = config_dir(tmp_path)
    engine = create_engine(normalise_database_url(database_url))
    emulator_settings = emulator_config(keypair[1], None, directory_size=DIRECTORY_SIZE,
                                        rate_limit_per_minute=1_000_000)
    with running_emulator(emulator_settings) as emulator:
        state = emulator.app.extensions["emulator"]
        with state.lock:
            for user_id in SUSPENDED:
                state.directory.set_suspended(state.directory.find(user_id), True)
        members = emulator.directory()
        eligible = {m["userId"] for m in members if not (m["isSuspended"] or m["isDeleted"] or m["isPending"])}
        ineligible = {m["userId"] for m in members} - eligible
        assert len(eligible) > DIRECTORY_SIZE * 0.9 and len(ineligible) >= len(SUSPENDED) + 3
        env = dict(stack_env(keypair[0], database_url, emulator), PYTHONPATH=str(ROOT))

        # 1. The broadcast, killed when about a third of the members have it.
        send = start_send(env, config, tmp_path / "send-1.log")
        try:
            deadline = time.monotonic() + 30
            while len(received(emulator)) < len(eligible) * KILL_AT:
                assert send.poll() is None, f"send exited early ({send.returncode}): " \
                                            f"{(tmp_path / 'send-1.log').read_text()[-2000:]}"
                assert time.monotonic() < deadline, "the broadcast did not get a third of the way in 30 s"
                time.sleep(0.05)
            stop_group(send, signal.SIGKILL)
        finally:
            stop_group(send, signal.SIGKILL)
        assert send.returncode == -signal.SIGKILL

        at_kill = deliveries(engine)
        got_at_kill = received(emulator)
        sending_at_kill = at_kill.get("sending", 0)
        left_at_kill = at_kill.get("pending", 0) + sending_at_kill
        assert left_at_kill > 0 and len(got_at_kill) < len(eligible), \
            f"the kill did not land mid-broadcast ({at_kill}, {len(got_at_kill)} received)"
        with engine.connect() as conn:
            occurrences = conn.execute(select(rr.broadcasts).where(rr.broadcasts.c.reminder_id == REMINDER_ID)).all()
        assert len(occurrences) == 1 and occurrences[0].status == "running", occurrences
        broadcast = occurrences[0]

        # The dead clock's leases (120 s on the occurrence and on the outbox rows it claimed) would
        # run out by themselves; a killed process renews nothing, so letting them run out now is the
        # same as waiting that long.
        with engine.begin() as conn:
            conn.execute(update(outbox).where(outbox.c.status == "sending").values(lease_until=datetime(2000, 1, 1)))
            conn.execute(update(rr.broadcasts).where(rr.broadcasts.c.status == "running")
                         .values(lease_until=datetime(2000, 1, 1)))

        # 2. The same command again: it resumes the occurrence.
        resume = start_send(env, config, tmp_path / "send-2.log")
        try:
            resume.wait(60)
        finally:
            stop_group(resume, signal.SIGKILL)
        log = (tmp_path / "send-2.log").read_text()
        assert resume.returncode == 0, log[-3000:]

        got = received(emulator)
        missed = sorted(eligible - set(got))
        assert not missed, f"{len(missed)} eligible member(s) never got the reminder: {missed[:5]}"
        unexpected = sorted(set(got) - eligible)
        assert not unexpected, f"ineligible or unknown members got it: {unexpected}"
        # A repeat can only come from an outbox row that was claimed ("sending") when the process
        # died: a pending row was never sent, a row marked sent is never sent again, and a row whose
        # message reached the API but whose "sent" was not yet committed is sent again once its
        # lease is over. The message API has no idempotency key, so those are the unavoidable
        # repeats: members who got it twice <= rows "sending" at the kill, and none more than twice
        # (a row is claimed by one process at a time, and the resumed run was not killed).
        twice = sorted(m for m, n in got.items() if n > 1)
        assert len(twice) <= sending_at_kill, (twice, sending_at_kill)
        assert max(got.values()) <= 2, {m: n for m, n in got.items() if n > 2}

        with engine.connect() as conn:
            row = rr.get_broadcast(conn, broadcast.id)
        assert (row.status, row.phase) == ("done", "finished"), (row.status, row.phase)
        assert row.lease_owner is None and row.finished_at is not None
        assert (row.recipients, row.sent, row.failed, row.expired) == (len(eligible), len(eligible), 0, 0), row
        end = deliveries(engine)
        assert end == {"sent": len(eligible)}, end  # nothing left pending or sending
    engine.dispose()
    print(f"\nkilled after {len(got_at_kill)}/{len(eligible)} received with outbox {at_kill}; after the resume "
          f"all {len(eligible)} eligible members have it, {len(twice)} twice; {time.monotonic() - started:.1f} s")

