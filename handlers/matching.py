"""Japanese free-text matching for the FAQ (pure: no I/O after the index is built).

Two signals, built once per FAQ book, for the entries' titles and example questions and for the user's
text:

1. **Words** (always on). The text goes through the bot's normaliser (bot/text.py) and the synonyms of
   config/vocabulary.yaml (スマホ/携帯/端末 -> すまほ, 携帯代 -> 通信費, ...). Its features are
   character bigrams of that form, the lemmas of its content words (SudachiPy: 辞めたら/辞めて ->
   辞める) and bigrams of its reading (「つうちとめたい」 reads like 通知を止めたい), each weighted by how
   rare it is among the entries (IDF). An entry scores the share of the
   query's weight it covers, plus a bonus for its weighted keywords found in the query.
2. **Meaning** (optional, `semantic=True`): the cosine between the text and the entry's closest example
   question, from a small multilingual sentence-embedding model (handlers/semantic.py). It finds the
   entry when the words differ (「ギガ足りない」 -> saving data).

The two are fused into one score per entry: `(1 - w) * words + w * meaning`, where meaning is the
cosine rescaled so that an unrelated sentence is near 0 and a paraphrase near 1. `decide` then picks
one of three outcomes: answer (the best entry clearly ahead), 「もしかして」 (two or three entries
genuinely close to each other), or an honest fallback.

Entries whose id starts with "_" are not answers (the FAQ's `not_ours` examples: pay, HR, office):
they compete like entries so that 「通勤手当」 lands on them rather than on the communication allowance.
"""
from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from bot import text as textnorm
from config.vocabulary import Vocabulary, default_vocabulary

normalize = textnorm.normalize  # the bot's one normaliser


# ----------------------------------------------------------------------------- synonyms

@dataclass(frozen=True)
class SynonymTable:
    pattern: re.Pattern | None
    mapping: dict[str, str]
    # Variants written with a long-vowel mark (ケータイ, ノーパソ), matched before the normaliser drops the
    # mark: without it they read けたい and のぱそ, which are inside 付けたい and 事務所のパソコン.
    marked_pattern: re.Pattern | None = None
    marked: dict[str, str] = field(default_factory=dict)

    def apply(self, text: str) -> str:
        if self.pattern is None:
            return text
        return self.pattern.sub(lambda m: self.mapping[m.group(0)], text)

    def canon(self, text: str) -> str:
        """The text normalised, with every variant read as its canonical form."""
        if self.marked_pattern is not None:
            text = self.marked_pattern.sub(lambda m: " " + self.marked[m.group(0)] + " ", with_marks(text))
        return self.apply(normalize(text))


_KATA_TO_HIRA = {c: c - 0x60 for c in range(0x30A1, 0x30F7)}
LONG_VOWEL = "ー"
SHORT_FOLDED = 3  # a variant this short once its long-vowel mark is dropped is matched only with the mark


def with_marks(text: str) -> str:
    """Width, case and katakana folded like the normaliser does, but the long-vowel mark kept."""
    return unicodedata.normalize("NFKC", text or "").lower().translate(_KATA_TO_HIRA)


def compile_synonyms(table: dict[str, list[str]]) -> SynonymTable:
    """Variants -> canonical form. The canonical form maps to itself, so that a variant inside it
    (パスワ in パスワード) is never replaced there: the longest match wins. A variant with a long-vowel
    mark is also matched as written, and only so when dropping the mark leaves a short, ambiguous form."""
    mapping: dict[str, str] = {}
    marked: dict[str, str] = {}
    for canonical, variants in table.items():
        canon = normalize(canonical)
        for variant in [canonical, *variants]:
            v = normalize(variant)
            if not v:
                continue
            written = "".join(ch for ch in with_marks(variant) if not ch.isspace())
            if LONG_VOWEL in written:
                marked.setdefault(written, canon)
                if len(v) <= SHORT_FOLDED:
                    continue
            mapping.setdefault(v, canon)
    if not mapping and not marked:
        return SynonymTable(None, {})

    def alternation(words):
        return re.compile("|".join(map(re.escape, sorted(words, key=len, reverse=True)))) if words else None

    return SynonymTable(alternation(mapping), mapping, alternation(marked), marked)


def emoji_reader(table: dict[str, str]) -> Callable[[str], str]:
    """「🔕にしたい」 -> 「通知オフにしたい」: emoji that stand for a word (config/vocabulary.yaml's `emoji`),
    written as the word before matching; the normaliser would drop them as symbols."""
    if not table:
        return lambda text: text
    pattern = re.compile("|".join(map(re.escape, sorted(table, key=len, reverse=True))))
    return lambda text: pattern.sub(lambda m: table[m.group(0)], text)


READING = "ʳ"  # prefix of the features taken from how a text is read (kana)
KANA_ONLY = 0.8  # share of hiragana from which a message counts as written in kana (the model reads it poorly)


def features(canon: str, lemmas: list[str] = (), prefix: str = "") -> dict[str, int]:
    """Character bigram counts of an already canonical text, plus one feature per lemma."""
    out: dict[str, int] = {}
    if len(canon) == 1:
        out[prefix + canon] = 1
    for i in range(len(canon) - 1):
        g = prefix + canon[i : i + 2]
        out[g] = out.get(g, 0) + 1
    for lemma in lemmas:
        key = "§" + lemma
        out[key] = out.get(key, 0) + 1
    return out


def kana_share(text: str) -> float:
    """Share of hiragana and Latin letters (romaji) among the letters of a text; katakana loanwords like
    メリット do not count. Such a text has no kanji for the model or the bigrams to hold on to."""
    # Latin words that are terms, not romaji (LINE WORKS, Wi-Fi, PC): 「LINE WORKS入れたら24時間働かされそう」
    # is written with kanji, not in kana.
    text = _LATIN_WORD.sub(lambda m: "" if m.group(0) in textnorm.ASCII_KEEP else m.group(0),
                           unicodedata.normalize("NFKC", text).lower())
    letters = [ch for ch in text if ch.isalnum()]
    return sum("ぁ" <= ch <= "ゖ" or ch.isascii() for ch in letters) / len(letters) if letters else 0.0


_LATIN_WORD = re.compile(r"[a-z]+")


# ----------------------------------------------------------------------------- small talk

class SmallTalk:
    """Greetings and thanks (config/vocabulary.yaml): a message made only of them is small talk."""

    _FILLER = re.compile("[ですますねよ〜笑w]*")

    def __init__(self, vocabulary: Vocabulary):
        def phrases(words):
            return sorted({normalize(w) for w in words if normalize(w)}, key=len, reverse=True)

        self.kinds = (("thanks", phrases(vocabulary.smalltalk.thanks)),
                      ("greeting", phrases(vocabulary.smalltalk.greetings)))
        self.all = sorted({p for _, ps in self.kinds for p in ps}, key=len, reverse=True)

    def kind(self, text: str) -> str | None:
        """'greeting' / 'thanks' when the text is only small talk, else None."""
        rest = normalize(text)
        if not rest:
            return None
        kind = None
        for name, phrases in self.kinds:
            for phrase in phrases:
                if phrase in rest:
                    rest = rest.replace(phrase, "")
                    kind = kind or name
        if kind and not self._FILLER.fullmatch(rest):
            return None
        return kind

    def strip(self, text: str) -> str:
        """Leading greetings removed, so 「おはよう、スマホなくした」 matches on the rest."""
        rest = text
        changed = True
        while changed:
            changed = False
            head = normalize(rest[:40])
            for phrase in self.all:
                if head.startswith(phrase):
                    rest = _drop_prefix(rest, phrase)
                    changed = True
                    break
        return rest


def _drop_prefix(text: str, phrase_norm: str) -> str:
    """Remove the shortest prefix of `text` whose normal form is `phrase_norm` (keeps the script)."""
    for i in range(1, min(len(text), 4 * len(phrase_norm) + 8) + 1):  # a greeting is short
        if normalize(text[:i]) == phrase_norm:
            return text[i:].lstrip(" 　、,。.!！")
    return text


# ----------------------------------------------------------------------------- index

@dataclass(frozen=True)
class MatchParams:
    k1: float = 1.2              # term-frequency saturation within an entry
    keyword_weight: float = 0.18  # bonus per keyword weight unit found in the query
    keyword_cap: float = 0.6     # max keyword bonus
    semantic: bool = True        # use the meaning signal (False: words only, for very small machines)
    semantic_weight: float = 0.7  # w in (1 - w) * words + w * meaning
    kana_semantic_weight: float = 0.3  # w for a message written in kana only
    cosine_floor: float = 0.80   # cosine of unrelated Japanese sentences: meaning 0 ...
    cosine_ceiling: float = 0.96  # ... and of a close paraphrase: meaning 1
    answer_threshold: float = 0.5
    suggest_threshold: float = 0.4
    margin: float = 0.04         # the best must lead the runner-up by this much to answer outright
    close_call: float = 0.55     # two strong entries within the margin: answer the best (the other is a chip)
    oos_penalty: float = 0.35    # subtracted when an out-of-scope term is present...
    strong_keyword: float = 2.5  # ...unless the entry's keyword weight found reaches this


WORDS_ONLY = dict(semantic=False, answer_threshold=0.5, suggest_threshold=0.45, margin=0.05)


@dataclass
class IndexedDoc:
    id: str
    texts: list[str]
    keywords: dict[str, float] = field(default_factory=dict)
    # What the entry is about (a phone) and what it is not (a wallet): a question that names something
    # it is not about, and nothing it is about, does not get the entry. 「財布を落とした」 is not about a phone.
    about: tuple[str, ...] = ()
    not_about: tuple[str, ...] = ()

    @property
    def answers(self) -> bool:
        return not self.id.startswith("_")


@dataclass(frozen=True)
class Ranked:
    id: str
    score: float
    words: float
    meaning: float

    @property
    def answers(self) -> bool:
        return not self.id.startswith("_")


class Matcher:
    """An index over FAQ entries, built once; `rank` scores a query against it."""

    def __init__(
        self,
        docs: list[IndexedDoc],
        params: MatchParams = MatchParams(),
        vocabulary: Vocabulary | None = None,
        out_of_scope: list[str] = (),
        other_apps: list[str] = (),
        lemmatize: Callable[[str], list[str]] | None = None,
        read: Callable[[str], str] | None = None,
        embedding_cache: Path | None = None,
    ):
        self.params = params
        vocabulary = vocabulary or default_vocabulary()
        self.synonyms = compile_synonyms(vocabulary.synonyms)
        self.smalltalk = SmallTalk(vocabulary)
        self.read_emoji = emoji_reader(vocabulary.emoji)
        self.lemmatize = lemmatize or (lambda text: [])
        self.read = read
        self.ids = [d.id for d in docs]
        self.n = len(docs)
        self._build_words(docs)
        self.out_of_scope = [self.canon(t) for t in out_of_scope if self.canon(t)]
        self.other_apps = [self.canon(t) for t in other_apps if self.canon(t)]
        self.ours = self.canon("LINE WORKS")
        self.about = [[self.canon(t) for t in d.about if self.canon(t)] for d in docs]
        self.not_about = [[self.canon(t) for t in d.not_about if self.canon(t)] for d in docs]
        self.semantic = None
        if params.semantic:
            from handlers.semantic import SemanticIndex

            examples = [(i, t) for i, d in enumerate(docs) for t in d.texts]
            self.semantic = SemanticIndex(examples, self.n, cache_path=embedding_cache)

    # -- words ------------------------------------------------------------------------------------

    def canon(self, text: str) -> str:
        return self.synonyms.canon(text)

    def kana_only(self, text: str) -> bool:
        return kana_share(text) >= KANA_ONLY

    def _features(self, text: str, canon: str | None = None) -> dict[str, int]:
        """Bigrams of the canonical text, lemmas, and bigrams of how the text is read: 「つうちとめたい」
        shares no character with 通知を止めたい but reads the same."""
        lemmas = [lemma for lemma in (self.canon(x) for x in self.lemmatize(text)) if lemma]
        if self.read is None:
            return features(self.canon(text) if canon is None else canon, lemmas)
        reading = features(normalize(self.read(text)), prefix=READING)
        if self.kana_only(text):  # its characters are its reading: counting them twice halves its coverage
            return {**features("", lemmas), **reading}
        return {**features(self.canon(text) if canon is None else canon, lemmas), **reading}

    def _build_words(self, docs: list[IndexedDoc]) -> None:
        tfs: list[dict[str, int]] = []
        df: dict[str, int] = {}
        for d in docs:
            tf: dict[str, int] = {}
            for t in d.texts:
                for g, c in self._features(t).items():
                    tf[g] = tf.get(g, 0) + c
            tfs.append(tf)
            for g in tf:
                df[g] = df.get(g, 0) + 1
        self.idf = {g: self._idf(c) for g, c in df.items()}
        self.unknown_idf = self._idf(0)
        k1 = self.params.k1
        # postings: feature -> list of (doc index, saturated tf in [0.7, 1]): one occurrence counts most
        self.postings: dict[str, list[tuple[int, float]]] = {}
        for i, tf in enumerate(tfs):
            for g, c in tf.items():
                sat = (c * (k1 + 1) / (c + k1)) / (k1 + 1)
                self.postings.setdefault(g, []).append((i, 0.7 + 0.3 * sat))
        # Keywords are compared in canonical form, so 会社 and 企業 (or iPhone and Android) are one
        # keyword: an entry counts the heaviest of those, not their sum.
        self.keywords: dict[str, list[tuple[int, float]]] = {}
        for i, d in enumerate(docs):
            weights: dict[str, float] = {}
            for kw, w in d.keywords.items():
                ck = self.canon(kw)
                if ck:
                    weights[ck] = max(weights.get(ck, 0.0), float(w))
            for ck, w in weights.items():
                self.keywords.setdefault(ck, []).append((i, w))
        self._kw_pattern = (
            re.compile("|".join(map(re.escape, sorted(self.keywords, key=len, reverse=True))))
            if self.keywords else None
        )

    def _idf(self, df: int) -> float:
        return math.log(1 + (self.n - df + 0.5) / (df + 0.5))

    def _keyword_hits(self, canon: str) -> dict[int, float]:
        hits: dict[int, float] = {}
        if self._kw_pattern is None:
            return hits
        # leftmost-longest, non-overlapping: デメリット does not also count as メリット
        for kw in {m.group(0) for m in self._kw_pattern.finditer(canon)}:
            for i, w in self.keywords[kw]:
                hits[i] = hits.get(i, 0.0) + w
        return hits

    def word_scores(self, text: str) -> np.ndarray:
        """Coverage + keyword bonus - out-of-scope penalty per entry; -1 for an entry excluded by
        `not_about`."""
        p = self.params
        canon = self.canon(text)
        scores = np.zeros(self.n, dtype=np.float64)
        if not canon:
            return scores
        total = 0.0
        for g in self._features(text, canon):
            w = self.idf.get(g, self.unknown_idf)
            total += w
            for i, sat in self.postings.get(g, ()):
                scores[i] += w * sat
        if total:
            scores /= total
        kw = self._keyword_hits(canon)
        off_topic = any(t in canon for t in self.out_of_scope)
        # 「インスタの通知止めたい」: about another app, and not about LINE WORKS: no entry answers it
        another_app = self.ours not in canon and any(t in canon for t in self.other_apps)
        for i in range(self.n):
            scores[i] += min(p.keyword_cap, p.keyword_weight * kw.get(i, 0.0))
            if off_topic and kw.get(i, 0.0) < p.strong_keyword and self.ids[i][0] != "_":
                scores[i] -= p.oos_penalty  # 会議室, 交通費...: only a decisive keyword keeps an entry
            if any(t in canon for t in self.not_about[i]) and not any(t in canon for t in self.about[i]):
                scores[i] = -1.0  # 「財布を落とした」: about another thing than the entry's
            if another_app and self.ids[i][0] != "_":
                scores[i] = -1.0
        return scores

    # -- both -------------------------------------------------------------------------------------

    def meaning_scores(self, text: str) -> np.ndarray:
        if self.semantic is None:
            return np.zeros(self.n)
        p = self.params
        cosine = self.semantic.closeness(text)
        return np.clip((cosine - p.cosine_floor) / (p.cosine_ceiling - p.cosine_floor), 0.0, 1.0)

    def rank(self, text: str, limit: int = 5) -> list[Ranked]:
        text = self.read_emoji(text)
        words = self.word_scores(text)
        meaning = self.meaning_scores(text)
        w = self.params.semantic_weight if self.semantic is not None else 0.0
        if self.kana_only(text):
            w = min(w, self.params.kana_semantic_weight)  # the model reads kana-only text poorly
        fused = (1 - w) * words + w * meaning
        fused[words < 0] = -1.0
        order = sorted(range(self.n), key=lambda i: (-fused[i], self.ids[i]))
        return [Ranked(self.ids[i], float(fused[i]), float(words[i]), float(meaning[i]))
                for i in order[:limit] if fused[i] > 0]


@dataclass(frozen=True)
class Decision:
    kind: str  # "answer" | "suggest" | "not_ours" | "fallback"
    top: list[Ranked]


def decide(ranked: list[Ranked], params: MatchParams) -> Decision:
    """Answer when the best entry is clearly ahead; 「もしかして」 only with two or three entries
    genuinely close to each other (never one); the `not_ours` answer when a pay/HR/office question
    wins; else an honest fallback."""
    if not ranked or ranked[0].score < params.suggest_threshold:
        return Decision("fallback", [])
    best = ranked[0]
    if not best.answers:
        return Decision("not_ours", [best])
    runners = [r for r in ranked[1:] if r.answers]
    second = runners[0].score if runners else 0.0
    clearly_ahead = best.score - second >= params.margin or best.score >= params.close_call
    if best.score >= params.answer_threshold and clearly_ahead:
        return Decision("answer", [best, *runners[:2]])
    close = [best] + [r for r in runners[:2] if r.score >= params.suggest_threshold
                      and best.score - r.score < params.margin]
    if len(close) >= 2:
        return Decision("suggest", close)
    if best.score >= params.answer_threshold:
        return Decision("answer", [best, *runners[:2]])
    return Decision("fallback", [])
