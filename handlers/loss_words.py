"""Is this message about a phone that is gone, or saying the phone is back? One answer for the whole bot.

The lost-device flow starts on a loss, and the FAQ hands such a message to the flow, so a lost phone is
never answered with an unrelated entry or a fallback. The words are in config/vocabulary.yaml
(`lost_device`), compared after the bot's normaliser (bot/text.py), so a non-developer can add 「パクられた」
or a dialect form without touching code.

"Found" closes a report, so it is read strictly (`is_found`): a found verb in a finished, affirmative
form (見つかった, 見つけました, 出てきた, 発見), not negated (未発見, 見つかっていない, まだ見つからない,
見つからへん, 発見できず), not a condition or a description (見つかったら, 見つけた人, 見つかった場合), and
about the phone: 「財布見つかった！」 names another belonging and is not the phone being found.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from bot.text import normalize
from config.vocabulary import Vocabulary, default_vocabulary

SHORT_MESSAGE = 12  # normalised characters: 「電車で落とした」 says enough without naming the phone
FOUND_MESSAGE = 30  # normalised characters: a longer message is telling something else

# Found verbs, on normalised text (katakana folded to hiragana, no punctuation). The forms are affirmative
# by construction: 見つからない, 見つかってない, 見つけられない, 出てこない, 出てきてない do not match.
_FOUND_VERB = re.compile(r"(?:見つ|みつ)(?:かった|かりました|かってん|けた|けました|けてん|けてもらった|"
                         r"けてもらいました|けてくれた|けてくれました)")  # 見つかってん: Kansai for 見つかった
# 発見 is a noun: 未発見, まだ発見されていない, 発見できず, 発見に至っていない, 発見なし are not found.
_FOUND_NOUN = re.compile(r"(?:発見|はっけん)(?:しました|した|されました|された|できました|できた)?")
_NOUN_NEGATED_BEFORE = re.compile(r"(?:未|まだ|未だ|いまだ)$")
_NOUN_NEGATED_AFTER = re.compile(r"(?:でき|され|し)?(?:て(?:い|お)?)?(?:な|ず|ませ|へん|らず)|せず|"
                                 r"に至(?:ら|って(?:い|お)?(?:な|らず))")
# Weaker verbs (熱が出てきた, 会社に戻ってきた): only with a device named, or opening the message.
_FOUND_WEAK = re.compile(r"(?:出て|でて|戻って|もどって)(?:きた|きました)")
_OPENING = re.compile(r"(?:あ|あっ|やっと|無事|ぶじ|よかった|良かった)?")
# あった counts only right after a device word: 「スマホあった！」, not 「会議があった」.
_THERE = re.compile(r"(?:が|も|は)?(?:あった|ありました)")
# A condition, a wish, a question, a guess or a description, not news that it was found: 見つかったら,
# 見つけたい, 見つけたくて, 見つかったの？, 見つかったか, 見つかったかも, 見つかったらしい, 見つかった場合, 見つけた人
_NOT_NEWS_AFTER = re.compile(r"ら|い|く|か(?!ら)|の(?:$|か)|場合|ばあい|時|とき|際|人|ひと|方|者|やつ|なら")
_PARTICLE = "(?:が|も|は|を|とも)?"


def _folded(words: list[str]) -> tuple[str, ...]:
    """The words as the normaliser leaves them, longest first. A word that folds to a single kana
    (「キー」 → 「き」) is left out: it would be found inside any word (置き忘れ, 出てきた)."""
    folded = {normalize(w) for w in words}
    return tuple(sorted((f for f in folded if f and not _single_kana(f)), key=len, reverse=True))


def _single_kana(word: str) -> bool:
    return len(word) == 1 and "\u3041" <= word <= "\u309f"


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
        # A not-a-loss phrase hides only itself: 「経費で落とせる？」 is no loss, but 「スマホ落とした、
        # 経費で落とせる？」 still is.
        rest = norm
        for phrase in self.not_a_loss:
            rest = rest.replace(phrase, "|")
        if not any(w in rest for w in self.loss):
            return False
        if any(w in norm for w in self.devices):
            return True
        return len(norm) <= SHORT_MESSAGE and not any(w in norm for w in self.other_belongings)

    def mentions_loss(self, text: str) -> bool:
        """A loss word anywhere (落とした, なくした, まだ見つからない...): the message talks about the loss."""
        norm = normalize(text)
        return any(w in norm for w in self.loss)

    def is_found(self, text: str) -> bool:
        """「見つかりました！」, 「スマホ出てきた」, 「携帯あった」 yes; 「未発見」, 「まだ見つからない」,
        「見つかったら連絡します」, 「財布見つかった！」 no. See the module's docstring."""
        norm = normalize(text)
        if not norm or len(norm) > FOUND_MESSAGE:
            return False
        other_thing = any(w in norm for w in self.other_belongings)
        for start, end, about_device in self._found_news(norm):
            if _NOT_NEWS_AFTER.match(norm, end):
                continue
            if other_thing and not (about_device or self._device_right_before(norm[:start])):
                continue  # 「財布見つかった」, 「鍵は見つけたけどスマホはまだ」: something else was found
            return True
        return False

    def _found_news(self, norm: str):
        """(start, end, names the device) of every affirmative found verb in the normalised text."""
        for match in _FOUND_VERB.finditer(norm):
            yield match.start(), match.end(), False
        for match in _FOUND_NOUN.finditer(norm):
            noun_end = match.start() + 2 if match.group().startswith("発見") else match.start() + 4
            if _NOUN_NEGATED_BEFORE.search(norm, 0, match.start()) or _NOUN_NEGATED_AFTER.match(norm, noun_end):
                continue
            yield match.start(), match.end(), False
        device_named = any(w in norm for w in self.devices)
        for match in _FOUND_WEAK.finditer(norm):
            if device_named or _OPENING.fullmatch(norm, 0, match.start()):
                yield match.start(), match.end(), False
        for device in self.devices:
            for match in re.finditer(re.escape(device), norm):
                there = _THERE.match(norm, match.end())
                if there:
                    yield match.start(), there.end(), True

    def _device_right_before(self, before: str) -> bool:
        return any(re.search(re.escape(d) + _PARTICLE + "$", before) for d in self.devices)


@lru_cache(maxsize=1)
def default_loss_words() -> LossWords:
    return LossWords.from_vocabulary(default_vocabulary())


def is_loss_message(text: str) -> bool:
    return default_loss_words().is_loss(text)


def is_found_message(text: str) -> bool:
    """Does this message say the lost phone was found? Strict: see LossWords.is_found."""
    return default_loss_words().is_found(text)


def mentions_loss(text: str) -> bool:
    return default_loss_words().mentions_loss(text)
