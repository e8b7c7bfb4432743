"""Guardrails on /lockout, /logout and /unlock: what is refused, what is confirmed first, who is told.

In this module Tanaka is a bot administrator (BOT_ADMIN_USER_IDS) without being a LINE WORKS
administrator, so that the bot's own rules can be told apart from LINE WORKS' admin role.
"""

import pytest

from handlers import records
from emulator.directory import ADMIN, ADMIN_CHANNEL_ID, SEED_USERS, SUPER_ADMIN
from tests.lost_device.conftest import TANAKA, rows
from tests.stack import running_stack, settled
from tests.talk import Talk, labels, message_text

SUZUKI = SEED_USERS["suzuki"]
YOSHIDA = SEED_USERS["yoshida"]  # suspended in the seed (not through the bot)
MATSUMOTO = SEED_USERS["matsumoto"]  # pending in the seed
ACCOUNT_OPS = ("force-logout", "suspend", "unsuspend")


@pytest.fixture
def stack(keypair, database_url, clock):
    env = {"BOT_ADMIN_USER_IDS": f"{ADMIN.user_id},{SUPER_ADMIN.email},{TANAKA.email}"}
    with running_stack(keypair, database_url, clock=clock, env_overrides=env) as stack:
        stack.runtime.worker.housekeeping.every_seconds = 0.0
        yield stack


def account_calls(stack):
    return [(c["path"].rsplit("/", 1)[-1], c["status"]) for c in stack.emulator.calls()
            if c["path"].rsplit("/", 1)[-1] in ACCOUNT_OPS]


def directory_entry(stack, user):
    return next(u for u in stack.emulator.directory() if u["userId"] == user.user_id)


def file_report_for(stack, user, clock) -> int:
    with stack.runtime.store.transaction() as tx:
        return records.create_report(tx, user.user_id, f"{user.last_name} {user.first_name}", "私物スマートフォン",
                                     "駅で", "設定していた", "特になし", clock.now())


# -- 1. guardrails --------------------------------------------------------------------------------

def test_an_administrator_cannot_lock_out_or_log_out_their_own_account(stack, clock):
    report_id = file_report_for(stack, TANAKA, clock)
    me = Talk(stack.emulator, TANAKA.user_id)
    for command in (f"/lockout {TANAKA.email} 紛失", f"/logout {TANAKA.user_id}", f"/lockout {TANAKA.email.upper()}"):
        reply = me.say(command)[0]
        assert "ご自身のアカウント" in message_text(reply) and not reply.get("actions")
    # The lockout button of a report of their own, pressed in the admin room.
    room = Talk(stack.emulator, TANAKA.user_id, channel_id=ADMIN_CHANNEL_ID)
    assert "ご自身のアカウント" in message_text(room.say("ロックアウト", postback=f"admin:lockout:{report_id}")[0])

    settled(stack)
    assert account_calls(stack) == []
    assert rows(stack, records.confirmations) == [] and rows(stack, records.account_actions) == []
    assert [(a.action, a.target, a.result) for a in rows(stack, records.audit_log)] == [
        ("lockout_requested", TANAKA.user_id, "refused: own account"),
        ("logout_requested", TANAKA.user_id, "refused: own account"),
        ("lockout_requested", TANAKA.user_id, "refused: own account"),
        ("lockout_requested", TANAKA.user_id, "refused: own account"),
    ]
    assert rows(stack, records.reports)[0].status == "open"


def test_logout_of_another_bot_administrator_is_confirmed_first_and_the_admins_are_told(stack, admin_room):
    confirm = admin_room.say(f"/logout {TANAKA.email}")[0]
    assert "ボットの管理者" in message_text(confirm) and TANAKA.email in message_text(confirm)
    assert "強制ログアウトを実行" in labels(confirm)
    settled(stack)
    assert account_calls(stack) == [] and rows(stack, records.account_actions) == []
    [confirmation] = rows(stack, records.confirmations)
    assert (confirmation.action, confirmation.target_user_id) == ("logout", TANAKA.user_id)

    replies = admin_room.press(confirm, "実行", expect=2)
    result = message_text(replies[-1])
    assert "強制ログアウト: 完了" in result
    assert "ボットの管理者" in result and "佐藤 美咲" in result  # the notice, in the admin room itself
    assert account_calls(stack) == [("force-logout", 202)]
    assert [a.action for a in rows(stack, records.audit_log)] == [
        "logout_requested", "logout_confirmed", "logout_started", "logout_result", "admin_notified"]

    # An ordinary member is still logged out at once, with no notice.
    replies = admin_room.say(f"/logout {SUZUKI.email}", expect=2)
    assert "強制ログアウト: 完了" in message_text(replies[-1]) and "ボットの管理者" not in message_text(replies[-1])
    assert len(rows(stack, records.confirmations)) == 1


def test_a_bot_administrator_locked_out_by_another_is_told_to_every_administrator(stack):
    me = Talk(stack.emulator, ADMIN.user_id)  # the administrator's 1:1 talk, not the admin room
    confirm = me.say(f"/lockout {SUZUKI.email}")[0]
    me.press(confirm, "実行", expect=2)
    settled(stack)
    assert stack.emulator.bot_messages(channel_id=ADMIN_CHANNEL_ID) == []  # an ordinary member: no notice

    confirm = me.say(f"/lockout {TANAKA.email} 不審なログイン")[0]
    result = message_text(me.press(confirm, "実行", expect=2)[-1])
    assert "強制ログアウト: 完了" in result and "アカウント一時停止: 完了" in result
    [notice] = stack.emulator.wait_for_bot_messages(1, channel_id=ADMIN_CHANNEL_ID)
    text = message_text(notice["content"])
    assert "ボットの管理者" in text and TANAKA.email in text and "佐藤 美咲" in text
    assert "強制ログアウト・アカウント一時停止" in text
    assert directory_entry(stack, TANAKA)["isSuspended"]
    assert rows(stack, records.audit_log)[-1].action == "admin_notified"


def test_unlock_of_a_suspension_not_made_through_the_bot_is_confirmed_first(stack, admin_room):
    confirm = admin_room.say(f"/unlock {YOSHIDA.email}")[0]
    assert "ボットで行ったものではありません" in message_text(confirm)
    assert "一時停止の解除を実行" in labels(confirm)
    settled(stack)
    assert account_calls(stack) == [] and rows(stack, records.account_actions) == []
    assert directory_entry(stack, YOSHIDA)["isSuspended"]

    result = message_text(admin_room.press(confirm, "実行", expect=2)[-1])
    assert "一時停止の解除: 完了" in result
    assert account_calls(stack) == [("unsuspend", 204)]
    assert not directory_entry(stack, YOSHIDA)["isSuspended"]
    assert [a.action for a in rows(stack, records.audit_log)] == [
        "unlock_requested", "unlock_confirmed", "unlock_started", "unlock_result"]


# -- 2. suspend answers 400: the member is read again --------------------------------------------

def test_lockout_of_a_member_already_suspended_says_so_and_marks_the_report_locked(stack, admin_room, clock):
    file_report_for(stack, YOSHIDA, clock)
    confirm = admin_room.say(f"/lockout {YOSHIDA.email}")[0]
    assert "すでに一時停止中" in message_text(confirm) and "R-0001" in message_text(confirm)
    result = message_text(admin_room.press(confirm, "実行", expect=2)[-1])
    assert "強制ログアウト: 完了" in result
    assert "アカウント一時停止: 完了（すでに一時停止されていました）" in result
    assert account_calls(stack) == [("force-logout", 202), ("suspend", 400)]
    calls = [(c["method"], c["path"], c["status"]) for c in stack.emulator.calls()]
    refused = calls.index(("POST", f"/v1.0/users/{YOSHIDA.user_id}/suspend", 400))
    assert ("GET", f"/v1.0/users/{YOSHIDA.user_id}", 200) in calls[refused:]  # read again after the 400
    assert rows(stack, records.reports)[0].status == "locked_out"
    told = stack.emulator.wait_for_bot_messages(1, user_id=YOSHIDA.user_id)
    assert "R-0001" in message_text(told[-1]["content"])
    assert rows(stack, records.audit_log)[-1].result == "force_logout=ok, suspend=already"


def test_lockout_of_a_pending_member_reports_why_suspend_was_refused(stack, admin_room, clock):
    file_report_for(stack, MATSUMOTO, clock)
    confirm = admin_room.say(f"/lockout {MATSUMOTO.email}")[0]
    result = message_text(admin_room.press(confirm, "実行", expect=2)[-1])
    assert "アカウント一時停止: 失敗（招待中" in result
    assert account_calls(stack) == [("force-logout", 202), ("suspend", 400)]
    assert rows(stack, records.reports)[0].status == "open"  # not locked: the goal is not met
    assert not directory_entry(stack, MATSUMOTO)["isSuspended"]
    assert rows(stack, records.audit_log)[-1].result == "force_logout=ok, suspend=400"


# -- 3. targets are validated before any API call or storage ---------------------------------------

BAD_TARGETS = ["..", ".", "../users", "a/b", f"{TANAKA.email}/../x", "%2e%2e", f"{TANAKA.user_id}?x=1",
               "田中", "<script>", "a\x07b", "a\\b", "#frag"]


def test_targets_that_are_not_a_user_id_or_an_email_are_refused_before_any_api_call(stack, admin_room):
    kinds = ("lockout", "logout", "unlock")
    for n, target in enumerate(BAD_TARGETS):
        reply = message_text(admin_room.say(f"/{kinds[n % 3]} {target}")[0])
        assert "読み取れませんでした" in reply, (target, reply)
    too_long = "a" * 190 + "@example.co.jp"  # 204 characters: longer than the column that keeps a target
    reply = message_text(admin_room.say(f"/lockout {too_long}")[0])
    assert "長すぎます" in reply and "204文字" in reply and "200文字" in reply

    paths = [c["path"] for c in stack.emulator.calls()]
    assert not [p for p in paths if p.startswith("/v1.0/users") or p in ("/v1.0/", "/v1.0")], paths
    assert rows(stack, records.confirmations) == [] and rows(stack, records.account_actions) == []
    audit = rows(stack, records.audit_log)
    assert [a.result for a in audit] == ["invalid target"] * len(BAD_TARGETS) + ["invalid target: too long"]
    assert audit[0].target == ".." and audit[-1].target.startswith("aaaa")


def test_without_the_user_scope_account_commands_say_why_and_call_nothing(keypair, sqlite_url, clock):
    # The Free plan offers no `user` scope: lockout, logout and unlock cannot work, and say so.
    env = {"BOT_ADMIN_USER_IDS": ADMIN.user_id, "LINEWORKS_SCOPES": "bot user.profile.read"}
    with running_stack(keypair, sqlite_url, clock=clock, env_overrides=env) as stack:
        room = Talk(stack.emulator, ADMIN.user_id, channel_id=ADMIN_CHANNEL_ID)
        for command in (f"/lockout {SUZUKI.email}", f"/logout {SUZUKI.email}", f"/unlock {SUZUKI.email}"):
            reply = room.say(command)[0]
            assert "user" in message_text(reply) and "有償プラン" in message_text(reply)
            assert not reply.get("actions")
        assert account_calls(stack) == [] and rows(stack, records.confirmations) == []
        assert rows(stack, records.audit_log)[-1].result == "refused: no user scope"


def test_a_member_whose_admin_role_the_directory_does_not_tell_is_left_to_the_api(stack, admin_room):
    # The tenant's member settings may hide isAdministrator: the bot goes on, and LINE WORKS itself
    # refuses to suspend its super administrator.
    state = stack.emulator.app.extensions["emulator"]
    with state.lock:
        del state.directory.find(SUZUKI.user_id)["isAdministrator"]
    confirm = admin_room.say(f"/lockout {SUZUKI.email}")[0]
    result = message_text(admin_room.press(confirm, "実行", expect=2)[-1])
    assert "アカウント一時停止: 完了" in result
    assert account_calls(stack) == [("force-logout", 202), ("suspend", 204)]


def test_a_member_with_a_very_long_name_can_still_be_locked_out(stack, admin_room):
    # The label (name and email) is kept in a 300-character column: cut to fit, never a write that
    # PostgreSQL refuses on every retry.
    state = stack.emulator.app.extensions["emulator"]
    with state.lock:
        state.directory.find(SUZUKI.user_id)["userName"]["lastName"] = "長" * 400
    confirm = admin_room.say(f"/lockout {SUZUKI.email}")[0]
    result = message_text(admin_room.press(confirm, "実行", expect=2)[-1])
    assert "アカウント一時停止: 完了" in result
    [confirmation] = rows(stack, records.confirmations)
    [action] = rows(stack, records.account_actions)
    assert len(confirmation.target_label) == len(action.target_label) == 300
    assert account_calls(stack) == [("force-logout", 202), ("suspend", 204)]
