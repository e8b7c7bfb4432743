"""load_faq validation: every mistake raises FaqError naming the entry and the field."""
from pathlib import Path

import pytest
import yaml

from handlers import faq

CONFIG = Path(__file__).resolve().parents[2] / "config"


def base_doc() -> dict:
    return {
        "categories": [{"id": "cost", "title": "通信費"}],
        "messages": {
            "greeting": "こんにちは", "thanks": "どういたしまして", "fallback": "わかりません。{admin_name}へ",
            "suggest": "もしかして", "menu": "選んでください", "category": "「{category}」です",
            "feedback_up": "ありがとうございます", "feedback_down": "すみません",
        },
        "chips": {"menu": "よくある質問", "lost": "端末をなくした", "hours_category": "勤務時間", "contact": "連絡", "ask_person": "担当者に聞く",
                  "none_of_these": "どれでもない", "back_to_menu": "一覧へ", "helpful": "👍", "not_helpful": "👎",
                  "category_prefixes": ["カテゴリ:"]},
        "entries": [
            {"id": "comm-cost", "category": "cost", "title": "通信費の補助", "questions": ["通信費は？"],
             "answer": "月{allowance_yen}円です", "related": ["wifi"],
             "links": [{"label": "ヘルプ", "url": "https://help.worksmobile.com/ja/"}]},
            {"id": "wifi", "category": "cost", "title": "社内Wi-Fi", "questions": ["wifiある？"],
             "answer": "あります"},
        ],
    }


def load(tmp_path, doc, company=None):
    f, c = tmp_path / "faq.yaml", tmp_path / "company.yaml"
    f.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    c.write_text(yaml.safe_dump(company or {"allowance_yen": "3,000", "admin_name": "山田"}, allow_unicode=True),
                 encoding="utf-8")
    return faq.load_faq(f, c)


def error_of(tmp_path, doc, company=None) -> str:
    with pytest.raises(faq.FaqError) as info:
        load(tmp_path, doc, company)
    return str(info.value)


def test_real_config_loads():
    book = faq.load_faq(CONFIG / "faq.yaml", CONFIG / "company.yaml")
    assert len(book.entries) >= 20
    assert "{" not in "".join(e.answer for e in book.entries)


def test_minimal_doc_loads_and_fills_placeholders(tmp_path):
    book = load(tmp_path, base_doc())
    assert book.entry("comm-cost").answer == "月3,000円です"
    assert book.messages.fallback == "わかりません。山田へ"


def test_load_is_pure_and_returns_new_books(tmp_path):
    a, b = load(tmp_path, base_doc()), load(tmp_path, base_doc())
    assert a is not b and a.entries == b.entries


def test_missing_field_names_entry_and_field(tmp_path):
    doc = base_doc()
    del doc["entries"][0]["answer"]
    assert "faq.yaml: entry 'comm-cost': field 'answer': required" in error_of(tmp_path, doc)


def test_missing_id_names_position(tmp_path):
    doc = base_doc()
    del doc["entries"][1]["id"]
    assert "entry #2: field 'id': required" in error_of(tmp_path, doc)


def test_duplicate_id(tmp_path):
    doc = base_doc()
    doc["entries"][1]["id"] = "comm-cost"
    doc["entries"][0]["related"] = []
    assert "entry 'comm-cost': field 'id': duplicate id" in error_of(tmp_path, doc)


def test_unknown_related(tmp_path):
    doc = base_doc()
    doc["entries"][0]["related"] = ["nope"]
    assert "entry 'comm-cost': field 'related': unknown entry id 'nope'" in error_of(tmp_path, doc)


@pytest.mark.parametrize("url", ["http://example.com/", "ftp://x", "help.worksmobile.com", "https://"])
def test_bad_url(tmp_path, url):
    doc = base_doc()
    doc["entries"][0]["links"][0]["url"] = url
    assert "entry 'comm-cost': field 'links.0.url'" in error_of(tmp_path, doc)


def test_title_too_long(tmp_path):
    doc = base_doc()
    doc["entries"][1]["title"] = "あ" * 21
    assert "entry 'wifi': field 'title'" in error_of(tmp_path, doc)


def test_unknown_placeholder(tmp_path):
    doc = base_doc()
    doc["entries"][1]["answer"] = "{office_wifi_name} に接続"
    msg = error_of(tmp_path, doc)
    assert "entry 'wifi': field 'answer': unknown placeholder {office_wifi_name}" in msg


def test_unknown_placeholder_in_messages(tmp_path):
    doc = base_doc()
    doc["messages"]["fallback"] = "{nobody}"
    assert "messages: field 'fallback': unknown placeholder {nobody}" in error_of(tmp_path, doc)


def test_unknown_category_and_unknown_field(tmp_path):
    doc = base_doc()
    doc["entries"][1]["category"] = "misc"
    doc["entries"][0]["anwser"] = "typo"
    msg = error_of(tmp_path, doc)
    assert "entry 'comm-cost': field 'anwser': unknown field" in msg
    assert "entry 'wifi': field 'category': unknown category 'misc'" in msg


def test_answer_over_limit(tmp_path):
    doc = base_doc()
    doc["entries"][1]["answer"] = "あ" * 2001
    assert "entry 'wifi': field 'answer'" in error_of(tmp_path, doc)


def test_every_error_is_reported(tmp_path):
    doc = base_doc()
    del doc["entries"][0]["title"]
    doc["entries"][1]["questions"] = []
    err = pytest.raises(faq.FaqError, load, tmp_path, doc).value
    assert len(err.errors) == 2


def test_bad_yaml_and_missing_file(tmp_path):
    (tmp_path / "faq.yaml").write_text("entries: [", encoding="utf-8")
    (tmp_path / "company.yaml").write_text("a: 1", encoding="utf-8")
    with pytest.raises(faq.FaqError, match="not valid YAML"):
        faq.load_faq(tmp_path / "faq.yaml", tmp_path / "company.yaml")
    with pytest.raises(faq.FaqError, match="file not found"):
        faq.load_faq(tmp_path / "missing.yaml", tmp_path / "company.yaml")


def test_bad_company_value(tmp_path):
    msg = error_of(tmp_path, base_doc(), company={"allowance_yen": [1, 2], "admin_name": "x"})
    assert "company.yaml: key 'allowance_yen'" in msg


def test_chip_labels_are_required(tmp_path):
    doc = base_doc()
    del doc["chips"]["menu"]
    assert "faq.yaml: field 'chips.menu': required" in error_of(tmp_path, doc)
