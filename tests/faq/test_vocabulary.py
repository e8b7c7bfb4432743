"""config/vocabulary.yaml is validated once, with errors that name the section and the field."""
import pytest
import yaml

from config.vocabulary import DEFAULT_VOCABULARY_PATH, VocabularyError, load_vocabulary


def written(tmp_path, change) -> str:
    data = yaml.safe_load(DEFAULT_VOCABULARY_PATH.read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "vocabulary.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return str(path)


def test_the_shipped_vocabulary_loads_with_the_report_words():
    vocabulary = load_vocabulary()
    assert "キャンセル" in vocabulary.report.cancel
    assert vocabulary.report.typed_screen_lock["していなかった"] == "no"
    assert vocabulary.emoji["🔕"] == "通知オフ"


def test_a_typed_answer_must_map_to_a_known_choice(tmp_path):
    path = written(tmp_path, lambda d: d["report"]["typed_device"].update({"スマートウォッチ": "watch"}))
    with pytest.raises(VocabularyError, match=r"field 'report\.typed_device\.スマートウォッチ'"):
        load_vocabulary(path)


def test_an_empty_word_is_refused(tmp_path):
    path = written(tmp_path, lambda d: d["report"]["cancel"].append("  "))
    with pytest.raises(VocabularyError, match=r"field 'report\.cancel'"):
        load_vocabulary(path)
