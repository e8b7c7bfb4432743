"""No directory call inside a database transaction: the worker looks members up first, then runs the
handlers with the directory offline."""
from __future__ import annotations

import threading
from contextlib import contextmanager

import pytest
from sqlalchemy import select

from bot.errors import ApiError
from bot.directory import Directory
from emulator.directory import ADMIN, ADMIN_CHANNEL_ID, SEED_USERS, SUPER_ADMIN
from handlers import records
from tests.lost_device.conftest import file_report
from tests.stack import running_stack
from tests.talk import Talk, find_action, message_text


class FakeClient:
    def __init__(self, users: dict, failing: set = frozenset()):
        self.users, self.failing, self.calls = users, failing, []

    def get_user(self, ref):
        self.calls.append(ref)
        if ref in self.failing:
            raise ApiError("get-user", 503, "UNAVAILABLE", retryable=True)
        if ref not in self.users:
            raise ApiError("get-user", 404, "NOT_FOUND")
        return self.users[ref]


def test_offline_look_ups_are_answered_from_what_was_prepared_and_never_call_the_api():
    client = FakeClient({"u1": {"userId": "u1", "email": "a@example.com"}}, failing={"u2"})
    directory = Directory(client)
    directory.prepare([("u1", True), ("u2", True), ("nobody", True)])
    assert sorted(client.calls) == ["nobody", "u1", "u2"]
    with directory.offline():
        assert directory.get_user("u1", fresh=True) == {"userId": "u1", "email": "a@example.com"}
        assert directory.get_user("nobody", fresh=True) is None  # a 404 is an answer
        with pytest.raises(ApiError) as failed:
            directory.get_user("u2", fresh=True)
        assert failed.value.status == 503  # the failure the preparation met, not a new call
        with pytest.raises(ApiError) as unprepared:
            directory.get_user("u3")
        assert unprepared.value.code == "NOT_PREPARED"
    assert sorted(client.calls) == ["nobody", "u1", "u2"]  # nothing called while offline
    assert directory.get_user("u3") is None and client.calls[-1] == "u3"  # online again


def test_the_member_cache_is_bounded_and_expires():
    now = [0.0]
    client = FakeClient({f"u{i}": {"userId": f"u{i}"} for i in range(3)})
    directory = Directory(client, ttl_seconds=300.0, now=lambda: now[0], max_members=2)
    for ref in ("u0", "u1", "u2"):
        directory.get_user(ref)
    directory.get_user("u2")
    assert client.calls == ["u0", "u1", "u2"]  # u2 answered from the cache
    directory.get_user("u0")
    assert client.calls[-1] == "u0"  # pushed out by u2: at most two members are kept
    now[0] = 301.0
    directory.get_user("u0")
    assert client.calls == ["u0", "u1", "u2", "u0", "u0"]  # older than the TTL: read again


@contextmanager
def watching(stack):
    """Record every directory call and whether a database transaction was open on that thread."""
    state = threading.local()
    store, client = stack.runtime.store, stack.runtime.client
    inner_transaction, inner_get_user = store.transaction, client.get_user
    inside: list[str] = []

    @contextmanager
    def transaction(*args, **kwargs):
        depth = getattr(state, "depth", 0)
        state.depth = depth + 1
        try:
            with inner_transaction(*args, **kwargs) as tx:
                yield tx
        finally:
            state.depth = depth

    def get_user(ref):
        if getattr(state, "depth", 0):
            inside.append(ref)
        return inner_get_user(ref)

    store.transaction, client.get_user = transaction, get_user
    try:
        yield inside
    finally:
        store.transaction, client.get_user = inner_transaction, inner_get_user


def test_a_report_and_its_lockout_make_no_directory_call_inside_a_transaction(keypair, sqlite_url, clock):
    env = {"BOT_ADMIN_USER_IDS": f"{ADMIN.user_id},{SUPER_ADMIN.email}"}  # one admin by email: looked up
    with running_stack(keypair, sqlite_url, clock=clock, env_overrides=env) as stack:
        employee = Talk(stack.emulator, SEED_USERS["tanaka"].user_id)
        admin_room = Talk(stack.emulator, ADMIN.user_id, channel_id=ADMIN_CHANNEL_ID)
        with watching(stack) as inside:
            file_report(employee)  # the reporter's name is looked up for the report
            confirm = admin_room.say(f"/lockout {SEED_USERS['tanaka'].email}")[0]
            result = admin_room.press(confirm, "実行", expect=2)
            assert "アカウント一時停止: 完了" in message_text(result[-1])
            super_admin = Talk(stack.emulator, SUPER_ADMIN.user_id)
            assert message_text(super_admin.say("/reports")[0])  # an admin known by email only
        assert inside == []
        calls = [c["path"] for c in stack.emulator.calls() if c["path"].startswith("/v1.0/users/")]
        assert any(SEED_USERS["tanaka"].user_id in p or "tanaka" in p for p in calls)  # they were looked up


def test_a_slow_directory_call_does_not_hold_the_database_for_others(keypair, sqlite_url, clock):
    """Filing a report ends the conversation (a write) and looks the reporter's name up (an API call).
    While that look-up hangs, another writer gets the SQLite database at once: the call is made
    before the report's transaction, not inside it."""
    tanaka = SEED_USERS["tanaka"]
    with running_stack(keypair, sqlite_url, clock=clock) as stack:
        store, client = stack.runtime.store, stack.runtime.client
        employee = Talk(stack.emulator, tanaka.user_id)
        first = employee.say("スマホをなくしてしまいました", expect=2)
        employee.press(employee.press(first[-1], "報告する")[-1], "私物スマートフォン")
        employee.press(employee.say("今朝 駅で")[-1], "設定していた")
        summary = employee.say("特になし")

        entered, release = threading.Event(), threading.Event()
        inner_get_user = client.get_user

        def slow_get_user(ref):
            if ref == tanaka.user_id:
                entered.set()
                assert release.wait(30), "the test never released the directory call"
            return inner_get_user(ref)

        client.get_user = slow_get_user
        try:
            before = employee.seen()
            submit = find_action(summary[-1], "この内容で報告する")
            assert stack.emulator.say(tanaka.user_id, submit.get("text") or submit["label"],
                                      postback=submit.get("postback"))["status"] == 200
            assert entered.wait(30), "the reporter was never looked up"
            with store.engine.begin() as conn:  # fails after 200 ms if the worker holds the write lock
                conn.exec_driver_sql("PRAGMA busy_timeout = 200")
                records.audit(conn, clock.now(), "u-other", "other_conversation", "ok")
        finally:
            release.set()
            client.get_user = inner_get_user
        assert "R-0001" in message_text(employee.wait_new(before, expect=1)[0])
        with store.engine.connect() as conn:
            assert [r.reporter_name for r in conn.execute(select(records.reports))] == [f"{tanaka.last_name} {tanaka.first_name}"]
