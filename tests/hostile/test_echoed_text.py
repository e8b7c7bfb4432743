"""What a person types and the bot repeats to others: no mentions, no forged lines, no hidden controls.

LINE WORKS turns `<m userId="all">` (or any `<m userId="...">`) in a bot's message into a real @All /
@user mention, and a line break or a bidi control in a report field could draw what looks like a
second report inside the administrators' notice. Through the emulator stack: what is stored, and what
the administrators' room is sent.
"""
from __future__ import annotations

import unicodedata

import pytest
from sqlalchemy import select

from handlers import records
from emulator.directory import ADMIN, ADMIN_CHANNEL_ID, SEED_USERS
from tests.hostile.conftest import FastTalk as Talk
from tests.hostile.test_injection import file_typed_report
from tests.stack import running_stack
from tests.talk import message_text

TANAKA = SEED_USERS["tanaka"]
ALL = '<m userId="all">'
INERT_ALL = '＜m userId="all"＞'
NOTICE_LINES = 7  # admin.notice_new_report in config/messages.yaml


@pytest.fixture
def stack(keypair, database_url, clock):
    with running_stack(keypair, database_url, clock=clock) as stack:
        stack.runtime.worker.housekeeping.every_seconds = 0.0
        yield stack


def reports(stack) -> list:
    with stack.runtime.store.engine.connect() as conn:
        return list(conn.execute(select(records.reports).order_by(records.reports.c.id)))


def admin_notices(stack, count: int) -> list[str]:
    messages = stack.emulator.wait_for_bot_messages(count, channel_id=ADMIN_CHANNEL_ID)
    return [message_text(m["content"]) for m in messages]


def test_mention_markup_in_report_fields_mentions_no_one_in_the_admin_room(stack):
    employee = Talk(stack.emulator, TANAKA.user_id)
    device, when_where = f"{ALL}Galaxy", f"{ALL}新宿駅"
    notes = f'<m userId="{ADMIN.user_id}">至急</m> {ALL}'
    done = file_typed_report(employee, device, when_where, notes,
                             shown_notes=f'＜m userId="{ADMIN.user_id}"＞至急＜/m＞ {INERT_ALL}')
    assert "R-0001" in message_text(done[0])

    [report] = reports(stack)
    assert (report.device, report.lost_when_where, report.notes) == (device, when_where, notes)  # kept as typed

    [notice] = admin_notices(stack, 1)
    assert "<" not in notice and ">" not in notice
    assert f"端末: {INERT_ALL}Galaxy" in notice and f"いつ・どこで: {INERT_ALL}新宿駅" in notice
    assert f'補足: ＜m userId="{ADMIN.user_id}"＞至急＜/m＞ {INERT_ALL}' in notice

    # The same fields shown again on an administrator's command go through the same texts.
    admin_room = Talk(stack.emulator, ADMIN.user_id, channel_id=ADMIN_CHANNEL_ID)
    detail = message_text(admin_room.say("/report R-0001")[0])
    assert "<" not in detail and f"{INERT_ALL}新宿駅" in detail

    # An employee's question the bot could not answer, listed to the administrators.
    employee.say(f"{ALL}明日の天気はどうですか")
    listing = message_text(admin_room.say("/unanswered")[0])
    assert "<" not in listing and f"{INERT_ALL}明日の天気はどうですか" in listing


def test_line_breaks_and_bidi_controls_cannot_forge_a_second_report(stack):
    employee = Talk(stack.emulator, TANAKA.user_id)
    device = "Pixel\t8\u200f\u061c"
    when_where = "今朝 新宿駅\n\n【紛失報告 R-0002】\r\n報告者: 社長（ceo）\n端末: \u202e\u2066CP\u2069"
    notes = "特に\r\nなし\u2028\u202a\u202b\u202c\u202d\u2067\u2068\u200e\ufeff\x07\x1b[31m赤"
    done = file_typed_report(employee, device, when_where, notes, shown_notes="補足: 特に なし [31m赤")
    assert "R-0001" in message_text(done[0])

    [report] = reports(stack)
    assert report.device == "Pixel 8"
    assert report.lost_when_where == "今朝 新宿駅 【紛失報告 R-0002】 報告者: 社長（ceo） 端末: CP"
    assert report.notes == "特に なし [31m赤"

    [notice] = admin_notices(stack, 1)
    lines = notice.splitlines()
    assert len(lines) == NOTICE_LINES  # the forged "report" stays inside its field's line
    assert [line for line in lines if line.startswith("【")] == ["【紛失報告 R-0001】"]
    assert lines[3] == "いつ・どこで: 今朝 新宿駅 【紛失報告 R-0002】 報告者: 社長（ceo） 端末: CP"
    assert not [c for c in notice if c != "\n" and unicodedata.category(c) in ("Cc", "Cf")]

    # A long answer is kept to the field's limit (one line, cut at 500 characters).
    file_typed_report(employee, "Pixel", "駅\n" * 400, "なし")
    assert reports(stack)[1].lost_when_where == ("駅 " * 250).rstrip()
    assert len(admin_notices(stack, 2)[1].splitlines()) == NOTICE_LINES
