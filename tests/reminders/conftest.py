"""Fixtures for reminder tests: a reminder book from YAML, fake time, the emulator with a runtime."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot.runtime import build_runtime
from bot.client import Credentials, LineWorksClient
from config.settings import load_settings
from emulator.directory import ADMIN_CHANNEL_ID, SEED_USERS, synthetic_user_id
from emulator.testing import running_emulator
from scheduler.broadcast import Broadcaster
from scheduler.config import load_reminders
from tests.stack import emulator_config, stack_env

CONFIG = Path(__file__).resolve().parents[2] / "config"
TZ = ZoneInfo("Asia/Tokyo")
ACTIVE_SEED = [u.user_id for u in SEED_USERS.values() if u.state == "active"]
MANAGERS = [u.user_id for u in SEED_USERS.values() if u.is_manager and u.state == "active"]

TEST_REMINDERS = [
    {"id": "all-hands", "title": "全員", "schedule": {"day_of_week": "mon-fri", "hour": 10, "minute": 0},
     "audience": "all", "message": {"text": "全員へのお知らせです（{date}）。"}},
    {"id": "managers", "title": "管理職", "schedule": {"day_of_week": "mon", "hour": 10, "minute": 0},
     "audience": "managers", "message": {"text": "管理職の皆さまへ。"}},
    {"id": "direct", "title": "指定", "schedule": {"day": 1, "hour": 10, "minute": 0},
     "audience": {"users": [SEED_USERS["tanaka"].user_id, SEED_USERS["suzuki"].user_id],
                  "rooms": [ADMIN_CHANNEL_ID]},
     "message": {"text": "指定メンバーへ。"}},
]


def book_from(tmp_path: Path, reminders=None, **top):
    """The shipped reminders.yaml with its reminders (or other top-level keys) replaced."""
    data = yaml.safe_load((CONFIG / "reminders.yaml").read_text(encoding="utf-8"))
    if reminders is not None:
        data["reminders"] = reminders
    data.update(top)
    path = tmp_path / "reminders.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load_reminders(path, TZ, CONFIG / "company.yaml")


@pytest.fixture
def book(tmp_path):
    return book_from(tmp_path, TEST_REMINDERS)


class FakeTime:
    """monotonic() and sleep() for the pacer: sleeping moves the test clock instead of waiting."""

    def __init__(self, clock):
        self.clock = clock
        self.now = 1000.0
        self.slept = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        self.now += seconds
        self.slept += seconds
        self.clock.advance(seconds=seconds)


@pytest.fixture
def fake_time(clock):
    return FakeTime(clock)


@contextmanager
def emulated(keypair, database_url, clock, directory_size=0, rate_limit=100000):
    """The emulator (no callbacks) and a bot runtime whose client talks to it."""
    private_key, public_key = keypair
    config = emulator_config(public_key, None, directory_size=directory_size, rate_limit_per_minute=rate_limit)
    with running_emulator(config) as emu:
        settings = load_settings(stack_env(private_key, database_url, emu))
        client = LineWorksClient(Credentials.from_settings(settings), timeout=(2, 4), max_wait=0,
                                 sleep=lambda s: None)
        runtime = build_runtime(settings, clock=clock, client=client)
        try:
            yield emu, runtime
        finally:
            runtime.store.engine.dispose()


def make_broadcaster(runtime, book, fake_time, rate=6000, **kwargs) -> Broadcaster:
    return Broadcaster(runtime.store, runtime.client, book, rate, timer=fake_time, **kwargs)


def delivered(emu) -> dict[tuple[str, str], int]:
    """(kind, id) -> how many messages the bot sent there, from the emulator's transcript."""
    counts: dict[tuple[str, str], int] = {}
    for entry in emu.messages():
        if entry["from"] == "bot":
            key = (entry["target"]["kind"], entry["target"]["id"])
            counts[key] = counts.get(key, 0) + 1
    return counts


def synthetic(n: int) -> list[str]:
    return [synthetic_user_id(i) for i in range(1, n + 1)]
