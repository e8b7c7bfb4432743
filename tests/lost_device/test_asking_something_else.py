"""In the middle of a report, an employee may ask something else without typing キャンセル: the other
question is answered and the report waits for its answer (on the in-process bot)."""
import pytest
from sqlalchemy import select

from handlers import records
from tests.in_process import InProcessBot

MEMBERS = {"u1": {"userId": "u1", "email": "u1@example.com", "userName": {"lastName": "田中", "firstName": "一郎"}}}


@pytest.fixture
def bot(settings_for, sqlite_url, clock):
    bot = InProcessBot(settings_for(sqlite_url), clock, users=MEMBERS)
    yield bot
    bot.close()


def step(bot) -> str | None:
    with bot.runtime.store.engine.connect() as conn:
        row = conn.execute(select(records.conversations)).first()
    return row.step if row else None


def say(bot, text):
    bot.clock.advance(seconds=1)
    return bot.say("u1", text)


@pytest.mark.parametrize("at", ["device", "screen_lock"])
def test_a_clear_question_mid_report_is_answered_and_the_report_waits(bot, at):
    say(bot, "紛失報告")
    if at == "screen_lock":
        say(bot, "スマホ")
        say(bot, "今朝、駅のホームで")
    assert step(bot) == at
    answer = say(bot, "通信費は誰が払うの？")
    assert any("3,000" in t for t in answer)
    assert step(bot) == at  # the report is still there, at the same question


def test_the_menu_and_other_buttons_are_not_taken_as_answers(bot):
    say(bot, "紛失報告")
    menu = say(bot, "よくある質問")
    assert any("カテゴリ" in t for t in menu) and step(bot) == "device"
    say(bot, "スマホ")
    assert step(bot) == "when_where"


def test_an_answer_that_sounds_like_a_question_is_still_an_answer(bot):
    say(bot, "紛失報告")
    say(bot, "スマホ")
    say(bot, "駅で落としたかも？")
    assert step(bot) == "screen_lock"


@pytest.mark.parametrize("answer, expected_step", [("わからないの", "notes"), ("分からないの？", "notes"),
                                                   ("指紋認証ありの", "notes")])
def test_a_screen_lock_answer_that_sounds_like_a_question_is_an_answer(bot, answer, expected_step):
    say(bot, "紛失報告")
    say(bot, "スマホ")
    say(bot, "今朝、駅のホームで")
    assert step(bot) == "screen_lock"
    say(bot, answer)
    assert step(bot) == expected_step


def test_an_faq_chip_pressed_mid_report_is_answered_not_stored_as_the_answer(bot):
    say(bot, "紛失報告")
    say(bot, "スマホ")
    assert step(bot) == "when_where"
    bot.clock.advance(seconds=1)
    answer = bot.say("u1", "通知をオフにする方法は？", postback="faq:chip")
    assert step(bot) == "when_where" and answer
    with bot.runtime.store.engine.connect() as conn:
        row = conn.execute(select(records.conversations)).first()
    assert "通知" not in str(row.data)


def test_a_typed_question_mid_report_says_the_report_is_waiting(bot):
    say(bot, "紛失報告")
    replies = say(bot, "通信費は誰が払うの？")
    assert any("紛失報告はまだ途中" in t for t in replies) and any("3,000" in t for t in replies)
    assert step(bot) == "device"
