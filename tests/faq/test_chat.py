"""The FAQ in the talk: answers with chips, feedback stored, unanswered listed, reload safely."""
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from handlers import records
from emulator.directory import ADMIN, SEED_USERS
from handlers.faq_chat import FaqLibrary
from tests.lost_device.conftest import rows
from tests.stack import running_stack
from tests.talk import Talk, labels, message_text

CONFIG = Path(__file__).resolve().parents[2] / "config"


@pytest.fixture
def stack(keypair, sqlite_url, clock):
    with running_stack(keypair, sqlite_url, clock=clock) as stack:
        yield stack


@pytest.fixture
def employee(stack):
    return Talk(stack.emulator, SEED_USERS["suzuki"].user_id)


@pytest.fixture
def admin(stack):
    return Talk(stack.emulator, ADMIN.user_id)


def test_confident_answer_has_related_chips_and_feedback(stack, employee):
    reply = employee.say("通信費は誰が払うの？")[0]
    assert "3,000" in message_text(reply) or "3000" in message_text(reply)
    chip_labels = labels(reply)
    assert any("👍" in label for label in chip_labels) and any("👎" in label for label in chip_labels)
    assert len((reply.get("quickReply") or {}).get("items", [])) <= 13
    question = rows(stack, records.faq_questions)[0]
    assert (question.outcome, question.entry_id) == ("answer", "comm-cost")


def test_feedback_is_stored_and_listed_for_admins(stack, employee, admin):
    reply = employee.say("休日に返信しないとだめ？")[0]
    thanks = employee.press(reply, "👎")
    assert "見直します" in message_text(thanks[0])
    vote = rows(stack, records.faq_feedback)[0]
    assert (vote.user_id, vote.vote) == (SEED_USERS["suzuki"].user_id, "down")
    listing = message_text(admin.say("/feedback")[0])
    assert "👎1" in listing and vote.entry_id in listing


def test_one_member_counts_once_per_entry(stack, employee, admin):
    reply = employee.say("休日に返信しないとだめ？")[0]
    for _ in range(5):
        employee.press(reply, "👎")
    employee.press(reply, "👍")  # a change of mind replaces the earlier vote
    votes = rows(stack, records.faq_feedback)
    assert [(v.user_id, v.vote) for v in votes] == [(SEED_USERS["suzuki"].user_id, "up")]
    listing = message_text(admin.say("/feedback")[0])
    assert "👎0" in listing and "👍1" in listing


def test_out_of_scope_question_falls_back_honestly_and_is_listed(stack, employee, admin):
    reply = employee.say("明日の天気はどうですか")[0]
    text = message_text(reply)
    assert "お答えしていない内容" in text and "内線" in text  # says so and how to reach an administrator
    assert "よくある質問" in labels(reply)
    listing = message_text(admin.say("/unanswered")[0])
    assert "明日の天気" in listing and "担当外" in listing


def test_question_nothing_is_close_to_gets_the_honest_fallback(stack, employee, admin):
    reply = employee.say("qwertyuiop")[0]
    text = message_text(reply)
    assert "見つかりませんでした" in text and "内線" in text
    listing = message_text(admin.say("/unanswered")[0])
    assert "qwertyuiop" in listing and "回答なし" in listing


def test_unsure_question_offers_candidates(stack, employee):
    reply = employee.say("だらだら働きっぱなしにならないようにするにはどうすれば")[0]
    assert "もしかして" in message_text(reply)
    assert len(labels(reply)) >= 2


def test_greeting_and_thanks_are_short_and_friendly(stack, employee):
    assert "こんにちは" in message_text(employee.say("こんにちは")[0])
    assert "どういたしまして" in message_text(employee.say("ありがとう")[0])


def test_menu_and_category_browsing(stack, employee):
    menu = employee.say("よくある質問")[0]
    assert "カテゴリ" in message_text(menu) and "通知と勤務時間" in labels(menu)
    category = employee.press(menu, "通知と勤務時間")[0]
    assert "通知と勤務時間" in message_text(category)
    answer = employee.press(category, labels(category)[0])[0]
    assert message_text(answer)


def test_non_admin_cannot_list_unanswered_questions(stack, employee):
    assert "管理者だけ" in message_text(employee.say("/unanswered")[0])


def test_reload_keeps_the_previous_faq_when_the_file_is_broken(stack, admin, employee, tmp_path):
    faq_file, company_file = tmp_path / "faq.yaml", tmp_path / "company.yaml"
    shutil.copy(CONFIG / "faq.yaml", faq_file)
    shutil.copy(CONFIG / "company.yaml", company_file)
    stack.runtime.services = replace(stack.runtime.services, faq=FaqLibrary(faq_file, company_file))

    faq_file.write_text(faq_file.read_text(encoding="utf-8").replace("  - id: comm-cost\n", "  - ide: comm-cost\n", 1),
                        encoding="utf-8")
    refused = message_text(admin.say("/faq reload")[0])
    assert "読み込み直しませんでした" in refused and "field" in refused
    assert "3,000" in message_text(employee.say("通信費の補助はいくら？")[0])  # still the old book

    good = (CONFIG / "faq.yaml").read_text(encoding="utf-8").replace("3,000円", "4,500円")
    company = (CONFIG / "company.yaml").read_text(encoding="utf-8").replace("3,000", "4,500").replace("3000", "4500")
    faq_file.write_text(good, encoding="utf-8")
    company_file.write_text(company, encoding="utf-8")
    assert "読み込み直しました" in message_text(admin.say("/faq reload")[0])
    assert "4,500" in message_text(employee.say("通信費の補助はいくら？")[0])


def test_a_huge_message_is_matched_on_its_beginning_only(monkeypatch):
    from handlers import faq

    book = faq.load_faq()
    seen = []
    original = type(book.matcher).rank

    def spy(self, query, *args, **kwargs):
        seen.append(len(query))
        return original(self, query, *args, **kwargs)

    monkeypatch.setattr(type(book.matcher), "rank", spy)
    outcome = faq.classify(book, "通信費は誰が払うの？" + "あ" * 900_000)
    assert outcome.kind == "answer" and outcome.entry_id == "comm-cost"
    assert seen and max(seen) <= faq.MAX_QUESTION_CHARS  # the 900 KB tail never reaches the matcher
