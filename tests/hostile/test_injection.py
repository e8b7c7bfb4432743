"""SQL metacharacters, markup and format strings in every free-text field, through the emulator stack.

What is typed is stored as typed (one line: no line breaks, no bidi or other control characters), shown
to the administrators as plain text (not HTML-escaped, not interpreted) with LINE WORKS mention markup
made inert (`<` and `>` as full-width ＜ ＞, so `<m userId="all">` mentions no one), and changes nothing
else: every table is still there and no account action is taken.
"""
from __future__ import annotations

import pytest
from sqlalchemy import inspect, select

from handlers import records
from emulator.directory import ADMIN, ADMIN_CHANNEL_ID, SEED_USERS
from tests.hostile.conftest import FastTalk as Talk, counts
from tests.stack import running_stack
from tests.talk import message_text

TANAKA = SEED_USERS["tanaka"]
ACCOUNT_OPS = ("force-logout", "suspend", "unsuspend")

PAYLOADS = {
    "sql": {"device": "'; DROP TABLE reports; --", "when_where": '" OR 1=1 --',
            "notes": "<script>alert(1)</script>"},
    "markup": {"device": "<img src=x onerror=alert(1)>", "when_where": "%", "notes": "\\"},
    "mixed": {"device": "_", "when_where": "<script>alert(1)</script>' OR '1'='1 %_\\",
              "notes": "'; DROP TABLE users; -- {0} {notes} %s %(x)s \\x00 &lt;b&gt; ${7*7}"},
}


@pytest.fixture
def stack(keypair, database_url, clock):
    with running_stack(keypair, database_url, clock=clock) as stack:
        stack.runtime.worker.housekeeping.every_seconds = 0.0
        yield stack


def table_names(stack) -> set[str]:
    return set(inspect(stack.runtime.store.engine).get_table_names())


def all_rows(stack, table) -> list:
    with stack.runtime.store.engine.connect() as conn:
        return list(conn.execute(select(table).order_by(list(table.c)[0])))


def account_calls(stack) -> list:
    return [c for c in stack.emulator.calls() if c["path"].rsplit("/", 1)[-1] in ACCOUNT_OPS]


def shown(text: str) -> str:
    """How a typed value reads in a message from the bot: angle brackets full-width, nothing else changed."""
    return text.replace("<", "＜").replace(">", "＞")


def file_typed_report(employee: Talk, device: str, when_where: str, notes: str,
                      shown_notes: str | None = None) -> list[dict]:
    """The report conversation with the device typed (not chosen), and every answer free text."""
    employee.say("紛失報告", expect=2)
    employee.say(device)  # -> when and where?
    lock_q = employee.say(when_where)
    employee.press(lock_q[-1], "設定していた")
    summary = employee.say(notes)
    assert (shown_notes or shown(notes)) in message_text(summary[-1])  # the summary shows it back
    return employee.press(summary[-1], "この内容で報告する")


def test_report_fields_and_admin_arguments_are_data_not_code(stack):
    """One stack per database: three reports with hostile fields, then hostile admin commands."""
    employee = Talk(stack.emulator, TANAKA.user_id)
    check_report_fields_are_stored_and_shown_verbatim(stack, employee)
    check_admin_command_arguments_are_data_not_code(stack, employee)


def check_report_fields_are_stored_and_shown_verbatim(stack, employee):
    tables_before = table_names(stack)
    for number, fields in enumerate(PAYLOADS.values(), start=1):
        done = file_typed_report(employee, **fields)
        assert f"R-{number:04d}" in message_text(done[0])

        report = all_rows(stack, records.reports)[-1]
        assert report.id == number
        assert (report.device, report.lost_when_where, report.notes) == (
            fields["device"], fields["when_where"], fields["notes"])
        assert report.reporter_id == TANAKA.user_id and report.status == "open"

        notices = stack.emulator.wait_for_bot_messages(number, channel_id=ADMIN_CHANNEL_ID)
        notice = message_text(notices[number - 1]["content"])
        assert f"R-{number:04d}" in notice
        for value in fields.values():
            assert shown(value) in notice
        assert "<" not in notice and ">" not in notice
        assert "&lt;" not in notice.replace(shown(fields["notes"]), "")  # not HTML-escaped for a chat message

    assert table_names(stack) == tables_before
    stored = counts(stack.runtime.store)
    assert (stored["reports"], stored["conversations"], stored["confirmations"], stored["account_actions"]) == (
        3, 0, 0, 0)
    assert [a.action for a in all_rows(stack, records.audit_log)] == ["report_filed"] * 3
    assert account_calls(stack) == []


def check_admin_command_arguments_are_data_not_code(stack, employee):
    fields = PAYLOADS["sql"]  # R-0001's
    admin_room = Talk(stack.emulator, ADMIN.user_id, channel_id=ADMIN_CHANNEL_ID)
    admin_room.wait_new(0, expect=len(PAYLOADS))  # the three notices
    tables_before = table_names(stack)
    reports_before = all_rows(stack, records.reports)

    # A target that cannot be a user id or an email: refused with the argument shown as typed, before
    # any directory call; nothing queued, no account call.
    reply = message_text(admin_room.say("/lockout '; DROP TABLE users; --")[0])
    assert "「';」" in reply and "読み取れませんでした" in reply
    audit = all_rows(stack, records.audit_log)[-1]
    assert (audit.actor_id, audit.action, audit.target, audit.result) == (
        ADMIN.user_id, "lockout_requested", "';", "invalid target")
    looked_up = [c["path"] for c in stack.emulator.calls() if c["path"].startswith("/v1.0/users")]
    assert looked_up and all(p == f"/v1.0/users/{TANAKA.user_id}" for p in looked_up)  # the reporter only

    # A report number with a tautology: not found, and no report's details leak.
    reply = message_text(admin_room.say("/report R-0001' OR '1'='1")[0])
    assert "R-0001'" in reply and "見つかりませんでした" in reply
    assert fields["notes"] not in reply and fields["device"] not in reply

    assert all_rows(stack, records.reports) == reports_before
    assert all_rows(stack, records.confirmations) == [] and all_rows(stack, records.account_actions) == []
    assert account_calls(stack) == []

    # A real command whose note is markup: done, and the note kept and passed on as typed.
    before_employee = employee.seen()
    resolved = message_text(admin_room.say("/resolve R-0001 <script>")[0])
    assert "R-0001" in resolved and "対応済み" in resolved
    report = all_rows(stack, records.reports)[0]
    assert (report.status, report.closed_by, report.close_note) == ("resolved", ADMIN.user_id, "<script>")
    told = message_text(employee.wait_new(before_employee)[0])
    assert told.endswith("＜script＞")
    detail = message_text(admin_room.say("/report R-0001")[0])
    for value in fields.values():
        assert shown(value) in detail

    assert table_names(stack) == tables_before
    assert all_rows(stack, records.reports)[1:] == reports_before[1:]  # the others untouched
    assert account_calls(stack) == []


def test_markup_in_notes_renders_as_text_in_the_chat_page(browser, keypair, sqlite_url):
    payload = "<img src=x onerror=\"document.title='pwned'\">"
    with running_stack(keypair, sqlite_url) as stack:
        employee = Talk(stack.emulator, TANAKA.user_id)
        file_typed_report(employee, device="<b>太字</b>", when_where="<i>駅</i>", notes=payload)
        stack.emulator.wait_for_bot_messages(1, channel_id=ADMIN_CHANNEL_ID)

        page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="ja-JP")
        try:
            page.goto(stack.emulator.base_url + "/")
            page.wait_for_selector(f"#identity option[value='{ADMIN.user_id}']", state="attached")
            page.select_option("#identity", ADMIN.user_id)
            title = page.title()
            page.click("#admin-tab")
            notice = page.wait_for_selector(".msg.bot >> text=紛失報告 R-0001")
            text = notice.inner_text()
            assert shown(payload) in text and "＜b＞太字＜/b＞" in text and "＜i＞駅＜/i＞" in text
            assert page.locator("#messages img").count() == 0
            assert page.locator("#messages b, #messages i").count() == 0
            page.wait_for_timeout(300)  # an onerror handler would have run by now
            assert page.title() == title != "pwned"
        finally:
            page.close()
