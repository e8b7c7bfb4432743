"""The employee's side: self-help, the report conversation, cancel, timeout, restart, found."""
import time

from handlers import records
from bot.store import outbox
from emulator.directory import ADMIN_CHANNEL_ID
from tests.lost_device.conftest import TANAKA, file_report, rows
from tests.stack import running_stack, settled
from tests.talk import Talk, labels, message_text


def wait_for_channel(stack, count, timeout=10):
    return stack.emulator.wait_for_bot_messages(count, channel_id=ADMIN_CHANNEL_ID, timeout=timeout)


def test_whole_report_conversation_files_a_report_and_alerts_the_admin_room(stack, employee):
    done, summary, first = file_report(employee)

    self_help = message_text(first[0])
    assert "強制ログアウト" in self_help and "パスワード" in self_help and "https://help.worksmobile.com" in self_help
    assert any("報告する" in label for label in labels(first[1]))
    summary_text = message_text(summary[-1])
    assert "私物スマートフォン" in summary_text and "通勤電車" in summary_text and "設定していた" in summary_text
    assert "R-0001" in message_text(done[0])

    report = rows(stack, records.reports)[0]
    assert (report.reporter_id, report.device, report.screen_lock, report.status) == \
        (TANAKA.user_id, "私物スマートフォン", "設定していた", "open")
    assert report.reporter_name == "田中 一郎" or report.reporter_name.startswith("田中")
    assert rows(stack, records.conversations) == []

    notice = wait_for_channel(stack, 1)[0]["content"]
    text = message_text(notice)
    for part in ("R-0001", report.reporter_name, TANAKA.user_id, "私物スマートフォン", "通勤電車", "設定していた",
                 "警察に届けました"):
        assert part in text
    assert any("ロックアウト" in label for label in labels(notice))
    assert any("対応済み" in label for label in labels(notice))
    assert [a.action for a in rows(stack, records.audit_log)] == ["report_filed"]


def test_cancel_at_any_step_leaves_no_report(stack, employee):
    first = employee.say("携帯を落としたかも", expect=2)
    device_q = employee.press(first[-1], "報告する")
    employee.press(device_q[-1], "タブレット")
    reply = employee.say("キャンセル")
    assert "取り消しました" in message_text(reply[0])
    assert rows(stack, records.reports) == [] and rows(stack, records.conversations) == []
    # The next message is an ordinary question again.
    assert "返信" in message_text(employee.say("休日に返信しないとだめ？")[0])


def test_idle_conversation_expires_after_30_minutes_with_a_note(stack, employee, clock):
    first = employee.say("紛失報告", expect=2)
    assert "なくした端末" in message_text(first[-1])
    before = employee.seen()
    clock.advance(minutes=29)
    stack.runtime.worker.housekeeping.run_due(force=True)  # the expiry pass, run now at 29 minutes
    settled(stack)
    assert employee.seen() == before and len(rows(stack, records.conversations)) == 1
    clock.advance(minutes=2)
    note = employee.wait_new(before)
    assert "30分" in message_text(note[0])
    assert rows(stack, records.conversations) == []
    assert "report_expired" in [a.action for a in rows(stack, records.audit_log)]


def test_a_restart_in_the_middle_keeps_the_half_finished_report(keypair, database_url, clock):
    with running_stack(keypair, database_url, clock=clock) as first_run:
        talk = Talk(first_run.emulator, TANAKA.user_id)
        device_q = talk.say("紛失報告", expect=2)
        talk.press(device_q[-1], "パソコン")
    # The bot restarts (a new process on the same database; the platform side is new too).
    with running_stack(keypair, database_url, clock=clock) as second_run:
        talk = Talk(second_run.emulator, TANAKA.user_id)
        lock_q = talk.say("昨日の夜、居酒屋")
        assert "画面ロック" in message_text(lock_q[-1])
        notes_q = talk.press(lock_q[-1], "わからない")
        summary = talk.press(notes_q[-1], "特になし")
        assert "パソコン" in message_text(summary[-1]) and "居酒屋" in message_text(summary[-1])
        done = talk.press(summary[-1], "この内容で報告する")
        assert "R-0001" in message_text(done[0])
        assert rows(second_run, records.reports)[0].device == "パソコン"


def test_admin_notice_is_retried_until_the_api_recovers(stack, employee, clock):
    stack.emulator.inject_fault(r"/channels/.*/messages", status=500, count=4)
    file_report(employee)
    report = rows(stack, records.reports)[0]
    assert report.status == "open"  # the report is kept whatever the API does
    for _ in range(20):
        clock.advance(seconds=30)
        time.sleep(0.1)
        if stack.emulator.bot_messages(channel_id=ADMIN_CHANNEL_ID):
            break
    settled(stack)
    notices = stack.emulator.bot_messages(channel_id=ADMIN_CHANNEL_ID)
    assert len(notices) == 1 and "R-0001" in message_text(notices[0]["content"])
    failed_calls = [c for c in stack.emulator.calls() if "/channels/" in c["path"] and c["status"] == 500]
    assert len(failed_calls) == 4


def test_found_phone_updates_the_report_and_tells_the_admins(stack, employee):
    file_report(employee)
    wait_for_channel(stack, 1)
    reply = employee.say("見つかりました！")
    assert "R-0001" in message_text(reply[0])
    assert rows(stack, records.reports)[0].status == "found"
    notices = wait_for_channel(stack, 2)
    assert "見つかった" in message_text(notices[-1]["content"])


def test_found_without_a_report_just_says_so(stack, employee):
    reply = employee.say("見つかった")
    assert "報告は出ていない" in message_text(reply[0])


def test_lost_phone_mentioned_in_a_group_room_continues_in_private(stack):
    room = Talk(stack.emulator, TANAKA.user_id, channel_id=ADMIN_CHANNEL_ID)
    private = Talk(stack.emulator, TANAKA.user_id)
    before_private = private.seen()
    in_room = room.say("スマホなくした")
    assert "個別のトーク" in message_text(in_room[0])
    privately = private.wait_new(before_private, expect=2)
    assert "強制ログアウト" in message_text(privately[0])
    assert "報告しますか" in message_text(privately[-1])


def test_wallet_is_not_a_device(stack, employee):
    reply = employee.say("財布を落としました")
    assert not any("報告しますか" in message_text(m) for m in reply)  # no report flow for a wallet
    assert rows(stack, records.conversations) == []


# -- "found" is read strictly, and only in the 1:1 talk ----------------------------------------------

TEAM_ROOM = "team-room-found"


def admin_room_outbox(stack) -> list:
    return [row for row in rows(stack, outbox) if row.recipient_id == ADMIN_CHANNEL_ID]


def audit_actions(stack) -> list[str]:
    return [a.action for a in rows(stack, records.audit_log)]


def test_a_negated_found_in_an_answer_is_taken_as_the_answer(stack, employee):
    """「駅で落とした、未発見」 answers "when and where"; it does not cancel the report as found."""
    done, summary, _ = file_report(employee, where="駅で落とした、未発見", notes="まだ見つかっていません。交番に届けました")
    assert "R-0001" in message_text(done[0])
    report = rows(stack, records.reports)[0]
    assert (report.lost_when_where, report.notes, report.status) == (
        "駅で落とした、未発見", "まだ見つかっていません。交番に届けました", "open")
    wait_for_channel(stack, 1)

    # Later, in the 1:1 talk: still not found, so the report stays open and the admins hear nothing.
    for text in ("未発見です", "まだ見つからへん"):
        assert employee.say(text)
    assert rows(stack, records.reports)[0].status == "open"
    assert "report_found" not in audit_actions(stack)
    assert len(admin_room_outbox(stack)) == 1  # the new-report notice only


def test_found_instead_of_an_answer_ends_the_report_conversation(stack, employee):
    first = employee.say("スマホをなくしてしまいました", expect=2)
    device_q = employee.press(first[-1], "報告する")
    employee.press(device_q[-1], "私物スマートフォン")
    reply = employee.say("あ、スマホ見つかりました！")
    assert "取り消しました" in message_text(reply[0])
    assert rows(stack, records.conversations) == [] and rows(stack, records.reports) == []


def test_another_belonging_found_leaves_the_phone_report_open(stack, employee):
    file_report(employee)
    wait_for_channel(stack, 1)
    reply = employee.say("財布見つかった！")
    assert not any("R-0001" in message_text(m) for m in reply)
    assert rows(stack, records.reports)[0].status == "open"
    assert "report_found" not in audit_actions(stack)
    assert len(admin_room_outbox(stack)) == 1


def test_found_said_in_a_group_room_closes_nothing_and_shows_no_report(stack, employee):
    file_report(employee)
    wait_for_channel(stack, 1)
    joined = stack.emulator.send_event({"type": "join", "source": {"channelId": TEAM_ROOM, "domainId": 10000001}})
    assert joined["status"] == 200
    room = Talk(stack.emulator, TANAKA.user_id, channel_id=TEAM_ROOM)
    room.wait_new(0)  # the greeting
    name = getattr(stack.runtime.settings, "bot_name", "ボット")  # a group room speaks to the bot by name

    for text in (f"{name} 財布見つかった！", f"{name} スマホ見つかった！"):
        said = [message_text(m) for m in room.say(text)]
        assert not any("R-0001" in t or "停止" in t or "ロック" in t for t in said), said
    assert "個別のトーク" in said[0]  # the phone: only a pointer to the 1:1 talk

    assert rows(stack, records.reports)[0].status == "open"
    assert "report_found" not in audit_actions(stack)
    assert len(admin_room_outbox(stack)) == 1
    group_rows = [row for row in rows(stack, outbox) if row.recipient_id == TEAM_ROOM]
    assert not any("R-0001" in row.contents for row in group_rows)


def test_a_member_files_at_most_three_reports_a_day(stack, employee, clock):
    for _ in range(3):
        file_report(employee)
    notices_before = len(stack.emulator.bot_messages(channel_id=ADMIN_CHANNEL_ID))
    refused, _, _ = file_report(employee)
    assert "すでに3件" in message_text(refused[-1])
    assert len(rows(stack, records.reports)) == 3
    assert rows(stack, records.audit_log)[-1].action == "report_refused"
    clock.advance(days=1, minutes=1)
    file_report(employee)  # a day later: taken again, and the administrators are told
    assert len(rows(stack, records.reports)) == 4
    wait_for_channel(stack, notices_before + 1)
