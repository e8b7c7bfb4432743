"""`python -m scheduler list`, `send --dry-run` and `send` (idempotent), and the refusal of a bad file."""
from __future__ import annotations

import io
import os
import subprocess
import sys
from dataclasses import replace
from datetime import datetime

from bot.clock import FixedClock
from config.settings import load_settings
from scheduler.__main__ import main
from tests.conftest import make_env
from tests.reminders.conftest import ACTIVE_SEED, CONFIG, TZ, delivered, emulated
from tests.stack import ROOT


def run(argv, settings, clock, client=None):
    out = io.StringIO()
    code = main(argv, clock=clock, client=client, out=out, settings=settings)
    return code, out.getvalue()


def test_list_prints_next_runs_in_the_time_zone_skipping_holidays(settings):
    code, out = run(["list", "--count", "3"], settings, FixedClock(datetime(2026, 11, 19, 18, 0, tzinfo=TZ)))
    assert code == 0
    assert "5 reminder(s)" in out and "time zone Asia/Tokyo" in out and "quiet hours 20:00-08:00" in out
    block = out.split("after-hours", 1)[1].split("\n\n")[0]
    # Fri 20th is the day before the weekend; Mon 23rd is 勤労感謝の日.
    assert block.splitlines()[1:] == ["    2026-11-24 Tue 17:30 JST", "    2026-11-25 Wed 17:30 JST",
                                      "    2026-11-26 Thu 17:30 JST"]
    assert "before-days-off" in out and "2026-11-20 Fri 17:30 JST" in out
    assert "managers-contact  [enabled]  audience: managers" in out


def test_send_dry_run_counts_recipients_and_sends_nothing(keypair, sqlite_url, clock):
    with emulated(keypair, sqlite_url, clock, directory_size=40) as (emu, runtime):
        code, out = run(["send", "after-hours", "--dry-run"], runtime.settings, clock, runtime.client)
        assert code == 0
        assert (f"after-hours: {len(ACTIVE_SEED) + 40} user(s) and 0 room(s) would receive it "
                f"(left out: 3 suspended/deleted/pending, 0 opted out); nothing sent.") in out
        assert delivered(emu) == {}


def test_send_twice_delivers_once(keypair, sqlite_url, clock):
    with emulated(keypair, sqlite_url, clock, directory_size=30) as (emu, runtime):
        fast = replace(runtime.settings, send_rate_per_min=60000)  # the pacing itself is tested elsewhere
        for _ in range(2):
            code, out = run(["send", "monthly-security"], fast, clock, runtime.client)
            assert code == 0, out
        assert f"monthly-security 2026-11-17: sent {len(ACTIVE_SEED) + 30}, failed 0, expired 0" in out
        got = delivered(emu)
        assert len(got) == len(ACTIVE_SEED) + 30 and set(got.values()) == {1}


def test_send_in_quiet_hours_is_refused(keypair, sqlite_url):
    clock = FixedClock(datetime(2026, 11, 17, 22, 0, tzinfo=TZ))
    with emulated(keypair, sqlite_url, clock) as (emu, runtime):
        code, out = run(["send", "after-hours"], runtime.settings, clock, runtime.client)
        assert code == 2 and "quiet hours" in out and delivered(emu) == {}


def test_clock_refuses_to_start_with_a_bad_file_naming_reminder_and_field(keypair, tmp_path):
    config = tmp_path / "config"
    config.mkdir()
    for name in ("messages.yaml", "company.yaml", "faq.yaml"):
        (config / name).write_text((CONFIG / name).read_text(encoding="utf-8"), encoding="utf-8")
    text = (CONFIG / "reminders.yaml").read_text(encoding="utf-8")
    (config / "reminders.yaml").write_text(text.replace("day: 15, hour: 10", "day: 15, hour: 31"), encoding="utf-8")
    settings = replace(load_settings(make_env(keypair[0], f"sqlite:///{tmp_path / 'db.sqlite3'}")),
                       config_dir=config)
    err = io.StringIO()
    old, sys.stderr = sys.stderr, err
    try:
        code = main([], settings=settings, clock=FixedClock(datetime(2026, 11, 17, 1, tzinfo=TZ)))
    finally:
        sys.stderr = old
    assert code == 3
    assert "reminder 'monthly-security': field 'schedule.hour'" in err.getvalue()


def test_list_needs_nothing_but_the_reminder_file():
    """No LINE WORKS credentials, no database: `list` only reads the schedule."""
    result = subprocess.run([sys.executable, "-m", "scheduler", "list", "--count", "2"], cwd=ROOT,
                            env={"PATH": os.environ["PATH"]}, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "after-hours" in result.stdout and "JST" in result.stdout


def test_list_runs_as_a_command(keypair, tmp_path):
    env = make_env(keypair[0], f"sqlite:///{tmp_path / 'db.sqlite3'}")
    result = subprocess.run([sys.executable, "-m", "scheduler", "list", "--count", "1"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "after-hours" in result.stdout and "JST" in result.stdout


def test_a_run_missed_while_the_clock_was_down_is_caught_up_within_the_grace_time(keypair, sqlite_url, tmp_path):
    from handlers import reminder_records as rr
    from scheduler.commands import catch_up
    from scheduler.broadcast import Broadcaster
    from scheduler.config import load_reminders

    book = load_reminders(CONFIG / "reminders.yaml", TZ, CONFIG / "company.yaml")
    clock = FixedClock(datetime(2026, 11, 17, 17, 50, tzinfo=TZ))  # after-hours ran at 17:30 (Tuesday)
    with emulated(keypair, sqlite_url, clock) as (emu, runtime):
        broadcaster = Broadcaster(runtime.store, runtime.client, book, 100)
        assert catch_up(book, broadcaster, clock.now()) == 1
        assert catch_up(book, broadcaster, clock.now()) == 0  # already written down
        with runtime.store.engine.connect() as conn:
            row = rr.find_broadcast(conn, "after-hours", "2026-11-17")
        assert row.requested_by == "schedule" and row.status == "pending"

        clock.set(datetime(2026, 11, 18, 18, 10, tzinfo=TZ))  # 40 minutes late: past the grace time
        assert catch_up(book, broadcaster, clock.now()) == 0
        with runtime.store.engine.connect() as conn:
            assert rr.find_broadcast(conn, "after-hours", "2026-11-18") is None
