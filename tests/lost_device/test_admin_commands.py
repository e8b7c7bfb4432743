"""The administrator's side: lockout with confirmation, failures told truthfully, reports, audit."""
import time

from handlers import records
from emulator.directory import ADMIN, ADMIN_CHANNEL_ID, SEED_USERS, SUPER_ADMIN
from tests.lost_device.conftest import TANAKA, file_report, rows
from tests.stack import settled
from tests.talk import Talk, labels, message_text

ACCOUNT_OPS = ("force-logout", "suspend", "unsuspend")


def account_calls(stack):
    return [(c["path"].rsplit("/", 1)[-1], c["status"]) for c in stack.emulator.calls()
            if c["path"].rsplit("/", 1)[-1] in ACCOUNT_OPS]


def directory_entry(stack, user):
    return next(u for u in stack.emulator.directory() if u["userId"] == user.user_id)


def lockout(admin_room, who, reason="紛失のため"):
    confirm = admin_room.say(f"/lockout {who} {reason}")
    return confirm[0]


def test_confirmed_lockout_calls_force_logout_then_suspend_once_each(stack, admin_room):
    confirm = lockout(admin_room, TANAKA.email)
    text = message_text(confirm)
    assert "田中" in text and TANAKA.email in text and "5分" in text
    assert any("実行" in label for label in labels(confirm))
    assert account_calls(stack) == []  # nothing happens before the confirmation

    replies = admin_room.press(confirm, "実行", expect=2)
    result = message_text(replies[-1])
    assert "強制ログアウト: 完了" in result and "アカウント一時停止: 完了" in result
    assert "パスワード" in result and "https://guide.worksmobile.com" in result  # what the API cannot do
    assert account_calls(stack) == [("force-logout", 202), ("suspend", 204)]
    entry = directory_entry(stack, TANAKA)
    assert entry["isSuspended"] and entry.get("forceLoggedOutAt")
    actions = [a.action for a in rows(stack, records.audit_log)]
    assert actions == ["lockout_requested", "lockout_confirmed", "lockout_started", "lockout_result"]
    assert rows(stack, records.audit_log)[-1].result == "force_logout=ok, suspend=ok"


def test_second_press_of_the_same_confirmation_does_nothing(stack, admin_room):
    confirm = lockout(admin_room, TANAKA.user_id)
    admin_room.press(confirm, "実行", expect=2)
    again = admin_room.press(confirm, "実行")
    assert "すでに実行済み" in message_text(again[0])
    settled(stack)
    assert account_calls(stack) == [("force-logout", 202), ("suspend", 204)]


def test_confirmation_pressed_by_another_admin_does_nothing(stack, admin_room):
    confirm = lockout(admin_room, TANAKA.user_id)
    other = Talk(stack.emulator, SUPER_ADMIN.user_id, channel_id=ADMIN_CHANNEL_ID)
    reply = other.press(confirm, "実行")
    assert "別の管理者" in message_text(reply[0])
    assert account_calls(stack) == []
    assert rows(stack, records.confirmations)[0].used_at is None


def test_expired_confirmation_does_nothing(stack, admin_room, clock):
    confirm = lockout(admin_room, TANAKA.user_id)
    clock.advance(minutes=11)
    reply = admin_room.press(confirm, "実行")
    assert "有効期限" in message_text(reply[0])
    assert account_calls(stack) == []


def test_non_admin_is_refused_politely_with_no_api_call_and_an_audit_row(stack, employee):
    suzuki = SEED_USERS["suzuki"]
    reply = employee.say(f"/lockout {suzuki.email}")
    assert "管理者だけ" in message_text(reply[0])
    assert account_calls(stack) == []
    # The only directory call is about the sender (admins are partly configured by email), never the target.
    looked_up = [c["path"] for c in stack.emulator.calls() if c["path"].startswith("/v1.0/users/")]
    assert all(suzuki.user_id not in p and "suzuki" not in p for p in looked_up)
    audit = rows(stack, records.audit_log)
    assert [(a.actor_id, a.action, a.result) for a in audit] == [(TANAKA.user_id, "refused:lockout",
                                                                 "not an administrator")]


def test_admin_commands_from_an_ordinary_group_room_are_refused(stack):
    stack.emulator.send_event({"type": "join", "source": {"channelId": "ch-shop-floor", "domainId": 10000001}})
    shop_room = Talk(stack.emulator, ADMIN.user_id, channel_id="ch-shop-floor")
    shop_room.wait_new(0)  # the bot's greeting on joining
    reply = shop_room.say("/reports all")
    assert "個別トーク" in message_text(reply[0])
    assert rows(stack, records.audit_log)[-1].result == "group room"


def test_unknown_user_is_reported_not_pretended(stack, admin_room):
    reply = admin_room.say("/lockout nobody@example.co.jp")
    assert "見つかりませんでした" in message_text(reply[0])
    assert account_calls(stack) == []


def test_line_works_administrators_are_left_to_the_admin_console(stack, admin_room):
    # The super administrator (and any LINE WORKS administrator, isAdministrator in the directory):
    # no confirmation, no account call, a pointer to the admin console.
    for command in (f"/lockout {SUPER_ADMIN.email}", f"/logout {SUPER_ADMIN.user_id}", f"/unlock {SUPER_ADMIN.email}"):
        reply = admin_room.say(command)[0]
        assert "LINE WORKS の管理者" in message_text(reply) and "管理者画面" in message_text(reply)
        assert not reply.get("actions")
    assert account_calls(stack) == []
    assert rows(stack, records.confirmations) == [] and rows(stack, records.account_actions) == []
    audit = rows(stack, records.audit_log)
    assert [(a.action, a.target, a.result) for a in audit] == [
        (f"{kind}_requested", SUPER_ADMIN.user_id, "refused: LINE WORKS administrator")
        for kind in ("lockout", "logout", "unlock")]


def test_404_during_the_action_is_told_and_suspend_is_not_attempted(stack, admin_room):
    confirm = lockout(admin_room, TANAKA.user_id)
    stack.emulator.inject_fault(r"/force-logout$", status=404, count=1)
    replies = admin_room.press(confirm, "実行", expect=2)
    result = message_text(replies[-1])
    assert "強制ログアウト: 失敗" in result and "見つかりません" in result
    assert "アカウント一時停止: 未実行" in result
    assert account_calls(stack) == [("force-logout", 404)]
    assert not directory_entry(stack, TANAKA)["isSuspended"]


def test_lockout_survives_api_errors_and_reports_the_truth_when_it_recovers(stack, admin_room, clock):
    confirm = lockout(admin_room, TANAKA.user_id)
    stack.emulator.inject_fault(r"/suspend$", status=503, count=3)
    before = admin_room.seen()
    admin_room.press(confirm, "実行")
    for _ in range(30):
        clock.advance(seconds=20)
        time.sleep(0.1)
        if admin_room.seen() >= before + 2:
            break
    result = message_text(admin_room.wait_new(before, expect=2)[-1])
    assert "強制ログアウト: 完了" in result and "アカウント一時停止: 完了" in result
    calls = account_calls(stack)
    assert calls.count(("force-logout", 202)) == 1  # not repeated while suspend was retried
    assert calls[-1] == ("suspend", 204) and calls.count(("suspend", 503)) == 3


def test_lockout_from_the_report_notice_links_the_report_and_tells_the_reporter(stack, employee, admin_room):
    file_report(employee)
    notice = stack.emulator.wait_for_bot_messages(1, channel_id=ADMIN_CHANNEL_ID)[0]["content"]
    before_employee = employee.seen()
    confirm = admin_room.press(notice, "ロックアウト")
    assert "R-0001" in message_text(confirm[0])
    admin_room.press(confirm[0], "実行", expect=2)
    assert rows(stack, records.reports)[0].status == "locked_out"
    told = employee.wait_new(before_employee)
    assert "R-0001" in message_text(told[0]) and "保護" in message_text(told[0])


def test_logout_only_and_unlock(stack, admin_room):
    replies = admin_room.say(f"/logout {TANAKA.email}", expect=2)
    assert "強制ログアウト: 完了" in message_text(replies[-1]) and "5分" in message_text(replies[-1])
    assert account_calls(stack) == [("force-logout", 202)]
    confirm = lockout(admin_room, TANAKA.email)
    admin_room.press(confirm, "実行", expect=2)
    replies = admin_room.say(f"/unlock {TANAKA.email}", expect=2)
    result = message_text(replies[-1])
    assert "一時停止の解除: 完了" in result and "パスワード" in result
    assert account_calls(stack)[-1] == ("unsuspend", 204)
    assert not directory_entry(stack, TANAKA)["isSuspended"]


def test_reports_report_resolve_and_audit_commands(stack, employee, admin_room):
    file_report(employee)
    listing = message_text(admin_room.say("/reports")[0])
    assert "R-0001" in listing and "未対応" in listing
    detail = message_text(admin_room.say("/report R-0001")[0])
    assert "通勤電車" in detail and "警察に届けました" in detail
    before_employee = employee.seen()
    resolved = admin_room.say("/resolve R-0001 端末は交番で保管", expect=1)
    assert "対応済み" in message_text(resolved[0])
    assert "交番" in message_text(employee.wait_new(before_employee)[0])
    assert rows(stack, records.reports)[0].status == "resolved"
    assert "R-0001" not in message_text(admin_room.say("/reports open")[0])
    assert "R-0001" in message_text(admin_room.say("/reports all")[0])
    audit = message_text(admin_room.say("/audit 5")[0])
    assert "紛失報告を解決" in audit and "田中 太郎" in audit
    assert "/lockout" in message_text(admin_room.say("/help")[0])
    assert "見つかりませんでした" in message_text(admin_room.say("/report R-0099")[0])


def test_refused_attempts_do_not_push_what_was_done_out_of_the_audit(stack, employee, admin_room):
    file_report(employee)
    admin_room.say("/resolve R-0001 端末は交番で保管")
    for _ in range(15):  # an employee tries admin commands over and over
        employee.say(f"/lockout {TANAKA.email}")
    audit = message_text(admin_room.say("/audit 3")[0])
    assert "紛失報告を解決" in audit and "田中 太郎" in audit  # still listed
    assert "断った操作が15件" in audit and "田中 太郎 15件" in audit
    refused = [r for r in rows(stack, records.audit_log)
               if r.actor_id == TANAKA.user_id and r.action == "refused:lockout"]
    assert len(refused) == 15  # every attempt is kept in the log


def test_admin_listed_by_email_is_recognised_through_the_directory(stack):
    # SUPER_ADMIN is configured by email in this stack; the event carries only the user id.
    talk = Talk(stack.emulator, SUPER_ADMIN.user_id)
    assert "紛失報告" in message_text(talk.say("/reports")[0]) or "ありません" in message_text(talk.say("/reports")[0])
