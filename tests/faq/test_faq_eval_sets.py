"""Accuracy on the dev set and on our own held-out set (>= 95% in scope, >= 90% out of scope)."""
from pathlib import Path

import pytest

from handlers import faq, faq_eval

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def ask():
    return faq_eval.default_ask(faq.load_faq())


@pytest.mark.parametrize("name", ["faq_dev.yaml", "faq_heldout.yaml"])
def test_eval_set_scores(ask, name):
    report = faq_eval.score(DATA / name, ask)
    print(report.summary())
    detail = "\n".join(f.describe() for f in report.failures)
    assert report.in_rate >= faq_eval.IN_SCOPE_TARGET, detail
    assert report.out_rate >= faq_eval.OUT_OF_SCOPE_TARGET, detail


def test_heldout_set_is_big_enough():
    data = faq_eval.load_set(DATA / "faq_heldout.yaml")
    questions = data["questions"]
    assert len(questions) >= 60
    assert sum(q["topic"] == "none" for q in questions) >= 15
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
    assert faq_eval.main([str(DATA / "faq_dev.yaml")]) == 0
    assert faq.main(["evaluate", str(DATA / "faq_dev.yaml")]) == 0
    assert "in scope" in capsys.readouterr().out
