"""config/vocabulary.yaml: the words the bot understands (synonyms, loss words, small talk, emoji).

Validated once when loaded; a mistake names the section and the word. The lists are kept as written;
the matcher and the lost-device flow compare them after the bot's normaliser (bot/text.py).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from config.files import ConfigError, read_yaml, validate

DEFAULT_VOCABULARY_PATH = Path(__file__).resolve().parent / "vocabulary.yaml"


class VocabularyError(ConfigError):
    pass


def _words(values: list[str]) -> list[str]:
    cleaned = [str(v).strip() for v in values]
    if any(not v for v in cleaned):
        raise ValueError("empty word")
    return cleaned


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LostDeviceWords(_Strict):
    loss_words: list[str] = Field(min_length=1)
    device_words: list[str] = Field(min_length=1)
    other_belongings: list[str] = Field(default_factory=list)
    not_a_loss: list[str] = Field(default_factory=list)

    _clean = field_validator("*")(classmethod(lambda cls, v: _words(v)))


class ReportWords(_Strict):
    """What a member may type in the lost-device report instead of pressing a button."""

    start: list[str] = Field(min_length=1)  # starts a report at once
    entry_menu: list[str] = Field(min_length=1)  # the menu's "I lost my device": the self-help first
    cancel: list[str] = Field(min_length=1)
    submit: list[str] = Field(min_length=1)  # at the last step: file the report
    typed_device: dict[str, Literal["phone", "tablet", "pc", "other"]]  # word in the answer -> device
    typed_screen_lock: dict[str, Literal["yes", "no", "unknown"]]  # word -> was a screen lock set; first match wins

    _clean = field_validator("start", "entry_menu", "cancel", "submit")(classmethod(lambda cls, v: _words(v)))


class SmallTalk(_Strict):
    greetings: list[str] = Field(default_factory=list)
    thanks: list[str] = Field(default_factory=list)

    _clean = field_validator("*")(classmethod(lambda cls, v: _words(v)))


class Vocabulary(_Strict):
    synonyms: dict[str, list[str]] = Field(default_factory=dict)
    lost_device: LostDeviceWords
    report: ReportWords
    smalltalk: SmallTalk = Field(default_factory=SmallTalk)
    emoji: dict[str, str] = Field(default_factory=dict)  # an emoji -> the word it stands for

    @field_validator("synonyms")
    @classmethod
    def _synonyms(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        return {str(k).strip(): _words(words or []) for k, words in v.items()}


def load_vocabulary(path: str | Path = DEFAULT_VOCABULARY_PATH) -> Vocabulary:
    return validate(Vocabulary, read_yaml(path, VocabularyError), Path(path).name, VocabularyError)


@lru_cache(maxsize=1)
def default_vocabulary() -> Vocabulary:
    """The shipped vocabulary, read once per process."""
    return load_vocabulary()
