"""Lemmas of the content words of a Japanese text, with SudachiPy and its core dictionary.

Inflection is where employees' wording varies most (辞めたら / 辞めて / 辞めます, 休めない / 休む,
送らなきゃ / 送る): the lemma (Sudachi's normalised form) turns them into one word, so an example
question and a casual one share it. Only content words count (nouns, verbs, adjectives, adverbs):
particles and endings say how something is asked, not what.

The dictionary ships inside the SudachiDict-core package: nothing is downloaded. A tokenizer is not
safe to share between threads, so each thread gets its own (they share the dictionary).
"""
from __future__ import annotations

import threading

CONTENT_POS = frozenset({"名詞", "動詞", "形容詞", "形状詞", "副詞", "代名詞"})
# Lemmas so common that they say nothing about the question.
STOP_LEMMAS = frozenset({"する", "ある", "いる", "なる", "こと", "もの", "よう", "の", "ん", "これ", "それ",
                         "どう", "何", "いう", "言う", "思う", "できる", "出来る", "くる", "来る", "いく", "行く",
                         "ない", "いい", "良い", "やる", "とき", "時", "方", "ため"})


class Morphology:
    def __init__(self):
        from sudachipy import Dictionary, SplitMode

        self._dictionary = Dictionary(dict="core")
        self._mode = SplitMode.C
        self._local = threading.local()

    def _tokenizer(self):
        tokenizer = getattr(self._local, "tokenizer", None)
        if tokenizer is None:
            tokenizer = self._local.tokenizer = self._dictionary.tokenizer(mode=self._mode)
        return tokenizer

    def lemmas(self, text: str) -> list[str]:
        """Normalised forms of the content words, in order ("会社やめたら" -> ["会社", "やめる"])."""
        out = []
        for m in self._tokenizer().tokenize(text):
            if m.part_of_speech()[0] not in CONTENT_POS:
                continue
            lemma = m.normalized_form()
            if lemma and lemma not in STOP_LEMMAS:
                out.append(lemma)
        return out

    def reading(self, text: str) -> str:
        """How the text is read, in katakana (「通知を止めたい」 -> ツウチヲトメタイ): what someone typing
        only in kana writes."""
        return "".join(m.reading_form() for m in self._tokenizer().tokenize(text)
                       if m.part_of_speech()[0] not in ("補助記号", "空白"))


_shared: Morphology | None = None
_shared_lock = threading.Lock()


def shared() -> Morphology:
    """The process's one Morphology (the dictionary is loaded once)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Morphology()
        return _shared
