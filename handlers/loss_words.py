"""Is this message about a phone that is gone? One answer for the whole bot.

The lost-device flow starts on it, and the FAQ hands such a message to the flow, so a lost phone is
never answered with an unrelated entry or a fallback. The words are in config/vocabulary.yaml
(`lost_device`), compared after the bot's normaliser (bot/text.py), so a non-developer can add 「パクられた」
or a dialect form without touching code.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from bot.text import normalize
from config.vocabulary import Vocabulary, default_vocabulary

SHORT_MESSAGE = 12  # normalised characters: 「電車で落とした」 says enough without naming the phone


def _folded(words: list[str]) -> tuple[str, ...]:
    return tuple(sorted({normalize(w) for w in words if normalize(w)}, key=len, reverse=True))


@dataclass(frozen=True)
class LossWords:
    loss: tuple[str, ...]
    devices: tuple[str, ...]
    other_belongings: tuple[str, ...]
    not_a_loss: tuple[str, ...]

    @classmethod
    def from_vocabulary(cls, vocabulary: Vocabulary) -> "LossWords":
        v = vocabulary.lost_device
        return cls(_folded(v.loss_words), _folded(v.device_words), _folded(v.other_belongings),
                   _folded(v.not_a_loss))

    def is_loss(self, text: str) -> bool:
        """「スマホどっかいった」 yes; 「財布を落とした」 no; 「社用携帯がなくなって私物を使うことに」 no: a loss word with
        a device word, or a short message with a loss word that names no other belonging."""
        norm = normalize(text)
        if not any(w in norm for w in self.loss):
            return False
        if any(w in norm for w in self.not_a_loss):
            return False
        if any(w in norm for w in self.devices):
            return True
        return len(norm) <= SHORT_MESSAGE and not any(w in norm for w in self.other_belongings)


@lru_cache(maxsize=1)
def default_loss_words() -> LossWords:
    return LossWords.from_vocabulary(default_vocabulary())


def is_loss_message(text: str) -> bool:
    return default_loss_words().is_loss(text)
