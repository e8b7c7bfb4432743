"""Accuracy floors on every question set (a drop below one fails the suite).

- faq_dev.yaml (the shared dev set) and faq_heldout.yaml (an older set in our own vocabulary): 100%.
- faq_tuning_everyday.yaml and faq_tuning2..7_everyday.yaml: employees' everyday words, written the
  same way by seven other people, used for tuning.
- faq_heldout_everyday.yaml: employees' everyday words, written from the source documents by someone who
  had not read config/faq.yaml, committed before tuning and never tuned on. Its floor sits just under
  what it measured, so that a change that makes unseen questions worse is caught.
"""
from pathlib import Path

import pytest

import manage
from handlers import faq, faq_eval

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def ask():
    return faq_eval.default_ask(faq.load_faq())


FLOORS = {  # name: (in scope, out of scope)
    "faq_dev.yaml": (1.0, 1.0),
    "faq_heldout.yaml": (1.0, 1.0),
    "faq_tuning_everyday.yaml": (0.97, 0.96),
    "faq_tuning2_everyday.yaml": (0.95, 0.96),
    "faq_tuning3_everyday.yaml": (0.94, 0.88),
    "faq_tuning4_everyday.yaml": (0.95, 0.94),
    "faq_tuning5_everyday.yaml": (0.95, 0.94),
    "faq_tuning6_everyday.yaml": (0.99, 0.97),
    "faq_tuning7_everyday.yaml": (0.99, 0.97),
    "faq_heldout_everyday.yaml": (0.94, 0.98),
}


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_eval_set_scores(ask, name):
    report = faq_eval.score(DATA / name, ask)
    print(report.summary())
    detail = "\n".join(f.describe() for f in report.failures)
    in_floor, out_floor = FLOORS[name]
    assert report.in_rate >= in_floor, detail
    assert report.out_rate >= out_floor, detail


@pytest.mark.parametrize("name, at_least, out_of_scope", [("faq_heldout_everyday.yaml", 150, 30),
                                                         ("faq_heldout.yaml", 60, 15)])
def test_held_out_sets_are_big_enough(name, at_least, out_of_scope):
    data = faq_eval.load_set(DATA / name)
    questions = data["questions"]
    assert len(questions) >= at_least
    assert sum(q["topic"] == "none" for q in questions) >= out_of_scope
    assert {q["topic"] for q in questions} - {"none"} == set(data["topics"])


def test_scoring_rules():
    data = {
        "topics": {"a": {"signature": ["紛失", "Wi-Fi"]}, "b": {"signature": ["返信"]}},
        "questions": [
            {"q": "x", "topic": "a", "expect": [["ログアウト"], ["報告", "連絡"]]},
            {"q": "y", "topic": "none"},
            {"q": "z", "topic": "none"},
        ],
    }
    import yaml, tempfile, os

    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False, encoding="utf-8") as fh:
        yaml.safe_dump(data, fh, allow_unicode=True)
    try:
        replies = {"x": ["ログ アウト して、管理者に報告"], "y": ["紛失 と wi-fi"], "z": ["ＷＩ－ＦＩ だけ"]}
        report = faq_eval.score(fh.name, lambda q: replies[q])
    finally:
        os.unlink(fh.name)
    assert (report.in_passed, report.in_total) == (1, 1)  # white space removed, NFKC applied
    assert (report.out_passed, report.out_total) == (1, 2)  # y holds two signature words
    assert report.failures[0].signatures == ["wi-fi", "紛失"]


def test_cli_exit_codes(capsys):
    assert manage.run(["faq", "evaluate", str(DATA / "faq_dev.yaml")]) == 0
    assert manage.run(["faq", "evaluate", "--words-only", str(DATA / "faq_dev.yaml")]) == 0
    assert manage.run(["faq", "evaluate"]) == 2  # a usage error
    out = capsys.readouterr().out
    assert "in scope 30/30" in out and "Hit@3 30/30" in out and "fallback rate" in out


def test_a_miss_says_what_the_bot_did_instead(tmp_path, capsys):
    one = tmp_path / "one.yaml"
    one.write_text("topics: {cost: {signature: [補助]}}\n"
                   "questions:\n  - {q: 通信費の補助はいくら？, topic: cost, expect: [[存在しない語]]}\n",
                   encoding="utf-8")
    assert manage.run(["faq", "evaluate", str(one)]) == 1
    out = capsys.readouterr().out
    assert "bot: answer comm-cost" in out and "in scope 0/1" in out and "Hit@3 0/1" in out


TAUGHT = [  # what administrators might teach from answered tickets (kind, entry id, question, title, answer)
    ("entry", "learned-1", "スマートウォッチでLINE WORKSの通知を受けてもいいですか", "スマートウォッチの通知",
     "スマートウォッチで通知を確認するのは構いません。返信はスマホで行ってください。"),
    ("entry", "learned-2", "社内報の原稿はいつまでに出せばいいですか", "社内報の原稿の締め切り",
     "社内報の原稿は毎月5日までに総務へ送ってください。"),
    ("entry", "learned-3", "来月の朝礼の場所はどこですか", "朝礼の場所", "朝礼は本社2階の会議室で行います。"),
    ("example", "snooze", "LINE WORKSの通知がうるさいときはどうすればいい？", None, None),
    ("example", "forgot-password", "パスワードを忘れてログインできなくなった", None, None),
]


@pytest.fixture(scope="module")
def ask_with_learned():
    from datetime import datetime, timezone

    from handlers.ticket_records import Learned, LearnedKind

    book = faq.load_faq()
    learned = [Learned(i, LearnedKind(kind), entry_id, "environment" if kind == "entry" else None, title, question,
                       answer, i, "admin-1", datetime(2026, 11, 27, tzinfo=timezone.utc))
               for i, (kind, entry_id, question, title, answer) in enumerate(TAUGHT, start=1)]
    content, left_out = faq.with_changes(book.content, learned)
    assert left_out == []
    taught = faq.build_book(content, book.vocabulary)
    assert faq.classify(taught, "スマートウォッチで通知を見てもいいですか").entry_id == "learned-1"
    return faq_eval.default_ask(taught)


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_eval_set_scores_with_learned_entries_present(ask_with_learned, name):
    """What administrators teach in the talk must not take questions away from the shipped entries."""
    report = faq_eval.score(DATA / name, ask_with_learned)
    in_floor, out_floor = FLOORS[name]
    assert report.in_rate >= in_floor, "\n".join(f.describe() for f in report.failures)
    assert report.out_rate >= out_floor, "\n".join(f.describe() for f in report.failures)
