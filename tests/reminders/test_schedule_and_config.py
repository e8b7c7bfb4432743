"""Next runs with a fixed clock (weekend, public holiday, month end), holiday rules, and the file's checks."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from scheduler.config import ReminderConfigError
from tests.reminders.conftest import CONFIG, TZ, book_from
from scheduler.config import load_reminders


def at(*args):
    return datetime(*args, tzinfo=TZ)


def runs(book, reminder_id, now, count=4):
    return [r.strftime("%Y-%m-%d %a %H:%M") for r in book.get(reminder_id).trigger.next_runs(now, count)]


@pytest.fixture
def shipped():
    return load_reminders(CONFIG / "reminders.yaml", TZ, CONFIG / "company.yaml")


def test_after_hours_skips_the_weekend_and_a_monday_public_holiday(shipped):
    # Thu 19th, then Fri 20th is the day before days off (another reminder), 21-22 weekend, 23 勤労感謝の日.
    assert runs(shipped, "after-hours", at(2026, 11, 19, 18, 0)) == [
        "2026-11-24 Tue 17:30", "2026-11-25 Wed 17:30", "2026-11-26 Thu 17:30", "2026-11-30 Mon 17:30"]


def test_before_days_off_runs_before_weekends_and_before_a_midweek_holiday(shipped):
    assert runs(shipped, "before-days-off", at(2026, 11, 17, 10, 0), 2) == ["2026-11-20 Fri 17:30",
                                                                            "2026-11-27 Fri 17:30"]
    # 2027-02-23 (Tue) is 天皇誕生日: Monday the 22nd is the day before a day off.
    assert runs(shipped, "before-days-off", at(2027, 2, 20, 10, 0), 2) == ["2027-02-22 Mon 17:30",
                                                                           "2027-02-26 Fri 17:30"]
    # Monday 28 December: the company's year-end break starts the next day.
    assert runs(shipped, "before-days-off", at(2026, 12, 26, 10, 0), 1) == ["2026-12-28 Mon 17:30"]


def test_before_days_off_message_names_the_days_off_and_the_next_working_day(shipped):
    text = shipped.contents(shipped.get("before-days-off"), date(2026, 11, 20), to_user=True)[0]["text"]
    assert "明日から3日間はお休みです。次の出勤日は11月24日（火）です。" in text


def test_monthly_runs_across_month_ends_move_off_days_off(shipped):
    # 1 Jan is a holiday, 2-3 Jan company holidays: the allowance reminder goes on Monday 4 Jan.
    assert runs(shipped, "monthly-allowance", at(2026, 11, 30, 12, 0), 3) == [
        "2026-12-01 Tue 10:00", "2027-01-04 Mon 10:00", "2027-02-01 Mon 10:00"]
    # 15 May 2027 is a Saturday: the security reminder moves to Monday the 17th.
    assert runs(shipped, "monthly-security", at(2027, 4, 16, 0, 0), 2) == ["2027-05-17 Mon 10:00",
                                                                           "2027-06-15 Tue 10:00"]


def test_last_day_of_month_and_holiday_skip(tmp_path):
    book = book_from(tmp_path, [
        {"id": "month-end", "title": "月末", "schedule": {"day": "last", "hour": 16, "minute": 0},
         "audience": "all", "message": {"text": "月末です。"}},
        {"id": "month-end-moved", "title": "月末", "audience": "all", "message": {"text": "月末です。"},
         "schedule": {"day": "last", "hour": 16, "minute": 0, "on_day_off": "next_working_day"}},
        {"id": "daily", "title": "毎日", "schedule": {"hour": 9, "minute": 0}, "audience": "all",
         "message": {"text": "おはようございます。"}},
    ])
    # 31 Dec is a company holiday, 31 Jan 2027 and 28 Feb are Sundays: skipped...
    assert runs(book, "month-end", at(2026, 11, 1, 0, 0), 3) == [
        "2026-11-30 Mon 16:00", "2027-03-31 Wed 16:00", "2027-04-30 Fri 16:00"]
    # ...or moved to the next working day, across the month end (31 Oct 2026 is a Saturday).
    assert runs(book, "month-end-moved", at(2026, 11, 1, 0, 0), 5) == [
        "2026-11-02 Mon 16:00", "2026-11-30 Mon 16:00", "2027-01-04 Mon 16:00", "2027-02-01 Mon 16:00", "2027-03-01 Mon 16:00"]
    # Daily (every day in cron) still never runs on weekends or 勤労感謝の日.
    assert runs(book, "daily", at(2026, 11, 20, 10, 0), 2) == ["2026-11-24 Tue 09:00", "2026-11-25 Wed 09:00"]


def test_apscheduler_sees_the_same_runs(shipped):
    trigger = shipped.get("after-hours").trigger
    first = trigger.get_next_fire_time(None, at(2026, 11, 20, 9, 0))
    assert first == at(2026, 11, 24, 17, 30)
    assert trigger.get_next_fire_time(first, first) == at(2026, 11, 25, 17, 30)


def test_urgent_reminders_may_ignore_days_off_and_quiet_hours(tmp_path):
    book = book_from(tmp_path, [{"id": "incident", "title": "障害", "urgent": True, "skip_holidays": False,
                                 "schedule": {"hour": 22, "minute": 0}, "audience": "all",
                                 "message": {"text": "緊急のお知らせです。"}}])
    assert runs(book, "incident", at(2026, 11, 21, 0, 0), 3) == [
        "2026-11-21 Sat 22:00", "2026-11-22 Sun 22:00", "2026-11-23 Mon 22:00"]
    assert book.may_send_now(book.get("incident"), at(2026, 11, 23, 23, 0)) is None


@pytest.mark.parametrize("change, expected", [
    ({"schedule": {"hour": 25}}, "reminder 'bad': field 'schedule.hour':"),
    ({"schedule": {"hour": 9, "minute": 0, "day_of_week": "someday"}}, "reminder 'bad': field 'schedule.day_of_week':"),
    ({"schedule": {"hour": "9,15", "minute": 0}}, "reminder 'bad': field 'schedule.hour/minute': a reminder runs at most once a day"),
    ({"schedule": {"hour": 22, "minute": 0}}, "reminder 'bad': field 'schedule.hour': 22:00 is in quiet hours"),
    ({"skip_holidays": False}, "reminder 'bad': field 'skip_holidays': only urgent reminders"),
    ({"audience": "everyone"}, "reminder 'bad': field 'audience':"),
    ({"audience": {"users": []}}, "reminder 'bad': field 'audience':"),
    ({"message": {"text": "{unknown_value}"}}, "reminder 'bad': field 'message.text': unknown placeholder(s) {unknown_value}"),
    ({"message": {"text": "x", "buttons": [{"label": "ラベル"}]}}, "reminder 'bad': field 'message.buttons.0':"),
    ({"schedule": {"hour": 9, "minute": 0, "on_day_off": "later"}}, "reminder 'bad': field 'schedule.on_day_off':"),
    ({"enabled": "sometimes"}, "reminder 'bad': field 'enabled':"),
    ({"colour": "red"}, "reminder 'bad': field 'colour': unknown field"),
])
def test_a_mistake_is_refused_naming_the_reminder_and_field(tmp_path, change, expected):
    bad = {"id": "bad", "title": "誤り", "schedule": {"hour": 9, "minute": 0}, "audience": "all",
           "message": {"text": "こんにちは。"}}
    bad.update(change)
    with pytest.raises(ReminderConfigError) as error:
        book_from(tmp_path, [{"id": "fine", "title": "正常", "schedule": {"hour": 9}, "audience": "all",
                              "message": {"text": "正常です。"}}, bad])
    assert expected in str(error.value), str(error.value)
    assert "'fine'" not in str(error.value)


def test_a_missing_field_and_a_duplicate_id_are_named(tmp_path):
    with pytest.raises(ReminderConfigError) as error:
        book_from(tmp_path, [{"id": "no-schedule", "title": "x", "audience": "all", "message": {"text": "x"}}])
    assert "reminder 'no-schedule': field 'schedule': required" in str(error.value)
    twice = {"id": "twice", "title": "x", "schedule": {"hour": 9}, "audience": "all", "message": {"text": "x"}}
    with pytest.raises(ReminderConfigError) as error:
        book_from(tmp_path, [twice, twice])
    assert "reminder 'twice': field 'id': used twice" in str(error.value)


def test_policy_mistakes_are_named(tmp_path):
    with pytest.raises(ReminderConfigError) as error:
        book_from(tmp_path, None, policy={"quiet_hours": {"start": "夜", "end": "08:00"}})
    assert "field 'policy.quiet_hours.start'" in str(error.value)
