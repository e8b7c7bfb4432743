"""The lost-device flow's repositories: the database one and the in-memory one keep one contract, and
the flow runs on the in-memory one without a database (a fast unit test of the whole report)."""
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine

from bot.dispatcher import Context
from bot.events import MessageEvent, Source, TextContent
from bot.replies import Recipient
from bot.store import metadata
from config.settings import load_settings
from config.tree import load_config
from handlers import lost_device
from handlers.records import ReportStatus
from handlers.repositories import Records
from handlers.services import Services
from tests.conftest import make_env

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)


@pytest.fixture(params=["sql", "memory"])
def repos(request):
    if request.param == "memory":
        yield Records.memory()
        return
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with engine.begin() as tx:
        yield Records.sql(tx)


def test_a_conversation_is_kept_until_it_ends_or_expires(repos):
    repos.conversations.save("u1", "lost_device", "device", {"a": 1}, NOW, timedelta(minutes=30), "ch1")
    repos.conversations.save("u2", "lost_device", "notes", {}, NOW, timedelta(minutes=5))
    kept = repos.conversations.get("u1")
    assert (kept.step, kept.data, kept.channel_id, kept.expires_at) == ("device", {"a": 1}, "ch1",
                                                                        NOW + timedelta(minutes=30))
    repos.conversations.save("u1", "lost_device", "notes", {"a": 2}, NOW, timedelta(minutes=30))
    assert repos.conversations.get("u1").step == "notes"

    expired = repos.conversations.take_expired(NOW + timedelta(minutes=10))
    assert [c.user_id for c in expired] == ["u2"] and repos.conversations.get("u2") is None
    repos.conversations.end("u1")
    assert repos.conversations.get("u1") is None


def test_reports_are_numbered_found_by_reporter_and_closed(repos):
    first = repos.reports.create("u1", "山田", "スマホ", "駅", "yes", "なし", NOW)
    second = repos.reports.create("u2", None, "PC", "車内", "no", "", NOW + timedelta(hours=1))
    assert second == first + 1
    assert repos.reports.filed_since("u1", NOW - timedelta(days=1)) == 1
    assert repos.reports.filed_since("u1", NOW + timedelta(minutes=1)) == 0
    assert repos.reports.open_for("u1").id == first

    repos.reports.set_status(first, ReportStatus.FOUND, NOW + timedelta(hours=2))
    assert repos.reports.open_for("u1") is None  # found: the device is no longer missing
    assert [r.id for r in repos.reports.listing(only_open=True)] == [second, first]  # still listed, newest first
    repos.reports.set_status(first, ReportStatus.RESOLVED, NOW + timedelta(hours=3), by="admin", note="返却済み")
    closed = repos.reports.get(first)
    assert (closed.status, closed.closed_by, closed.close_note) == (ReportStatus.RESOLVED, "admin", "返却済み")
    assert [r.id for r in repos.reports.listing(only_open=True)] == [second]
    assert [r.id for r in repos.reports.listing(only_open=False)] == [second, first]


@dataclass
class OfflineDirectory:
    names: dict

    def get_user(self, user_id):
        return {"userId": user_id, "userName": {"lastName": self.names[user_id]}}


def test_the_whole_report_runs_on_memory_records(keypair, tmp_path):
    settings = load_settings(make_env(keypair[0], f"sqlite:///{tmp_path}/unused.sqlite3",
                                      BOT_ADMIN_CHANNEL_ID="admins"))
    records = Records.memory()
    ctx = Context(now=NOW, settings=settings, tx=None, texts=load_config().texts,
                  services=Services(directory=OfflineDirectory({"u1": "山田"}), admins=None), records=records)

    def say(text):
        event = MessageEvent(Source("u1", None, None), None, TextContent(text))
        return (lost_device.handle_conversation(event, ctx) or lost_device.handle_entry(event, ctx))

    say("紛失報告")
    assert records.conversations.get("u1").step == "device"
    say("スマホ")
    say("今朝 駅のホームで")
    say("設定していた")
    assert records.conversations.get("u1").step == "notes"
    say("特になし")
    replies = say("この内容で報告する")

    report = records.reports.get(1)
    assert (report.reporter_id, report.reporter_name, report.lost_when_where, report.screen_lock) == (
        "u1", "山田", "今朝 駅のホームで", "設定していた")
    assert records.conversations.get("u1") is None
    assert [(e.action, e.report_id) for e in records.audit.entries] == [("report_filed", 1)]
    to_admins = [r for r in replies if getattr(r, "to", None) == Recipient(channel_id="admins")]
    assert to_admins and "R-0001" in str(to_admins[0])
