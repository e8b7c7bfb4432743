"""Japanese free-text matching for the FAQ (pure: no I/O, no globals mutated after import).

Pipeline, for both the indexed example questions and the user's text:

1. `normalize`: NFKC (full/half width, compatibility forms), lower case, katakana folded to hiragana,
   romaji-looking ASCII words turned into hiragana, long-vowel marks and everything that is not a
   letter or digit removed.
2. `canonicalize`: synonym variants replaced by one canonical surface (スマホ/携帯/端末 -> すまほ,
   なくした/落とした/盗まれた -> 紛失, ...), longest variant first, so inflected casual forms and kanji
   or kana spellings land on the same characters.
3. Features: character bigrams of the canonical text (plus the whole text when it is one character).
4. Scoring per entry: IDF-weighted coverage of the query's features by the entry's questions and
   title (a number in [0, 1]; features no entry knows get the highest IDF, so unrelated questions score
   low), plus a bonus for the entry's weighted keywords found in the query.

The index is built once (`Matcher(...)`); a query touches only the postings of its own features, so
the cost grows with the number of entries sharing those features, at worst linearly.
"""
from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field

# ----------------------------------------------------------------------------- normalisation

_KATA_TO_HIRA = {c: c - 0x60 for c in range(0x30A1, 0x30F7)}

# ASCII words that are real terms, not romaji: never converted to kana.
ASCII_KEEP = frozenset(
    """wifi wi fi lan pc ip mdm os ios ipad iphone android line works lineworks byod ssid gb mb web
    chrome safari edge ok id sim vpn app apps pdf usb mac windows qr sms url faq it""".split()
)

_ROMAJI = {
    # three letters
    "kya": "きゃ", "kyu": "きゅ", "kyo": "きょ", "sha": "しゃ", "shi": "し", "shu": "しゅ", "sho": "しょ",
    "she": "しぇ", "cha": "ちゃ", "chi": "ち", "chu": "ちゅ", "cho": "ちょ", "che": "ちぇ", "tsu": "つ",
    "nya": "にゃ", "nyu": "にゅ", "nyo": "にょ", "hya": "ひゃ", "hyu": "ひゅ", "hyo": "ひょ",
    "mya": "みゃ", "myu": "みゅ", "myo": "みょ", "rya": "りゃ", "ryu": "りゅ", "ryo": "りょ",
    "gya": "ぎゃ", "gyu": "ぎゅ", "gyo": "ぎょ", "bya": "びゃ", "byu": "びゅ", "byo": "びょ",
    "pya": "ぴゃ", "pyu": "ぴゅ", "pyo": "ぴょ", "jya": "じゃ", "jyu": "じゅ", "jyo": "じょ",
    # two letters
    "ka": "か", "ki": "き", "ku": "く", "ke": "け", "ko": "こ", "sa": "さ", "si": "し", "su": "す",
    "se": "せ", "so": "そ", "ta": "た", "ti": "ち", "tu": "つ", "te": "て", "to": "と", "na": "な",
    "ni": "に", "nu": "ぬ", "ne": "ね", "no": "の", "ha": "は", "hi": "ひ", "hu": "ふ", "fu": "ふ",
    "he": "へ", "ho": "ほ", "ma": "ま", "mi": "み", "mu": "む", "me": "め", "mo": "も", "ya": "や",
    "yu": "ゆ", "yo": "よ", "ra": "ら", "ri": "り", "ru": "る", "re": "れ", "ro": "ろ", "wa": "わ",
    "wo": "を", "ga": "が", "gi": "ぎ", "gu": "ぐ", "ge": "げ", "go": "ご", "za": "ざ", "ji": "じ",
    "zi": "じ", "zu": "ず", "ze": "ぜ", "zo": "ぞ", "da": "だ", "di": "ぢ", "du": "づ", "de": "で",
    "do": "ど", "ba": "ば", "bi": "び", "bu": "ぶ", "be": "べ", "bo": "ぼ", "pa": "ぱ", "pi": "ぴ",
    "pu": "ぷ", "pe": "ぺ", "po": "ぽ", "ja": "じゃ", "ju": "じゅ", "jo": "じょ", "je": "じぇ",
    "fa": "ふぁ", "fi": "ふぃ", "fe": "ふぇ", "fo": "ふぉ", "va": "ゔぁ", "vi": "ゔぃ", "vu": "ゔ",
    "ve": "ゔぇ", "vo": "ゔぉ", "ti": "ち", "di": "ぢ", "nn": "ん",
    # one letter
    "a": "あ", "i": "い", "u": "う", "e": "え", "o": "お", "n": "ん",
}
_CONSONANTS = set("bcdfghjklmpqrstvwxyz")


def romaji_to_hiragana(word: str) -> str | None:
    """Hepburn-ish romaji to hiragana; None when the word is not plausible romaji."""
    out: list[str] = []
    i = 0
    while i < len(word):
        ch = word[i]
        # doubled consonant -> small tsu (but "nn" is ん)
        if ch in _CONSONANTS and ch != "n" and i + 1 < len(word) and word[i + 1] == ch:
            out.append("っ")
            i += 1
            continue
        for size in (3, 2, 1):
            piece = word[i : i + size]
            kana = _ROMAJI.get(piece)
            if kana is None:
                continue
            # a lone "n" before a vowel or "y" belongs to the next syllable
            if piece == "n" and i + 1 < len(word) and word[i + 1] in "aiueoy":
                continue
            out.append(kana)
            i += size
            break
        else:
            return None
    return "".join(out)


_ASCII_WORD = re.compile(r"[a-z]+")


def _romaji_pass(text: str) -> str:
    def convert(match: re.Match) -> str:
        word = match.group(0)
        if len(word) < 2 or word in ASCII_KEEP:
            return word
        kana = romaji_to_hiragana(word)
        return kana if kana is not None else word

    return _ASCII_WORD.sub(convert, text)


def normalize(text: str) -> str:
    """Fold width, case, katakana/hiragana and romaji; keep only letters and digits."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    text = text.replace("wi-fi", "wifi").replace("wi fi", "wifi")
    text = _romaji_pass(text)
    text = text.translate(_KATA_TO_HIRA)
    return "".join(
        ch for ch in text if ch != "ー" and unicodedata.category(ch)[0] in ("L", "N")
    )


# ----------------------------------------------------------------------------- synonyms

# canonical surface -> variants (written naturally; normalised when the table is compiled).
SYNONYMS: dict[str, list[str]] = {
    "すまほ": ["スマホ", "スマートフォン", "スマフォ", "携帯電話", "携帯", "ケータイ", "けいたい",
              "端末", "デバイス", "モバイル端末", "sumaho"],
    "私物すまほ": ["BYOD", "私用スマホ", "私用の携帯", "個人のスマホ", "自分のスマホ", "個人所有"],
    "wifi": ["Wi-Fi", "wifi", "ワイファイ", "無線LAN", "無線ラン", "無線"],
    "通信量": ["ギガ", "パケット", "データ量", "データ通信量", "通信量", "データ通信", "データ容量",
              "通信容量", "ぎが"],
    "通信費": ["通信費", "通信料", "携帯代", "携帯料金", "スマホ代", "電話代", "パケット代", "ギガ代",
              "通話料", "通信料金", "つうしんひ"],
    "補助": ["補助", "手当", "補填", "補てん", "支給額"],
    "退職": ["退職", "退社", "離職", "辞める", "辞めた", "辞めて", "辞め", "やめる人", "やめた人",
            "やめる社員", "やめた社員", "会社をやめ", "たいしょく"],
    "紛失": ["紛失", "なくした", "なくしちゃ", "なくして", "なくし", "無くし", "失くし", "無くな",
            "なくなっ", "落とした", "落としちゃ", "落として", "落とし", "盗まれ", "盗難", "盗ら",
            "とられ", "置き忘れ", "置いてき", "忘れてき", "見当たらな", "見つからな", "ふんしつ"],
    "利点": ["メリット", "利点", "良い点", "いい点", "よい点", "良いところ", "いいところ",
               "よいところ", "いいこと", "良いこと", "長所", "得なこと", "得する", "得になる", "プラス面"],
    "欠点": ["デメリット", "欠点", "短所", "不利な点", "悪い点", "問題点", "弱点", "マイナス面"],
    "通知": ["通知", "プッシュ", "つうち", "アラート"],
    "返信": ["返信", "返事", "レス", "応答"],
    "時間外": ["業務時間外", "勤務時間外", "就業時間外", "営業時間外", "時間外", "終業後", "定時後",
              "勤務外", "夜間", "夜中", "深夜", "休日", "休みの日", "土日", "週末", "祝日"],
    "pc": ["パソコン", "PC", "ピーシー", "デスクトップ", "ノートパソコン", "windows", "mac"],
    "ぶらうざ": ["ブラウザ", "ブラウザー", "web版", "ウェブ版", "chrome", "safari", "edge"],
    "仕事": ["しごと", "業務"],
    "会社": ["かいしゃ", "企業"],
    "社員": ["社員", "従業員", "メンバー", "スタッフ", "職員"],
    "管理者": ["管理者", "管理人", "情シス", "情報システム", "システム管理者", "アドミン"],
    "画像": ["画像", "写真", "写メ", "ピクチャ", "photo"],
    "画質": ["画質", "画像の品質", "品質", "解像度"],
    "有償": ["有償", "有料", "課金", "有料版", "有償版", "有料プラン", "有償プラン"],
    "ふりぷらん": ["フリープラン", "無料プラン", "無料版"],
}


@dataclass(frozen=True)
class SynonymTable:
    pattern: re.Pattern | None
    mapping: dict[str, str]

    def apply(self, text: str) -> str:
        if self.pattern is None:
            return text
        return self.pattern.sub(lambda m: self.mapping[m.group(0)], text)


def compile_synonyms(table: dict[str, list[str]]) -> SynonymTable:
    mapping: dict[str, str] = {}
    for canonical, variants in table.items():
        canon = normalize(canonical)
        for variant in [canonical, *variants]:
            v = normalize(variant)
            if v and v != canon:
                mapping.setdefault(v, canon)
    if not mapping:
        return SynonymTable(None, {})
    ordered = sorted(mapping, key=len, reverse=True)
    return SynonymTable(re.compile("|".join(map(re.escape, ordered))), mapping)


DEFAULT_SYNONYMS = compile_synonyms(SYNONYMS)


def canonicalize(text: str, synonyms: SynonymTable = DEFAULT_SYNONYMS) -> str:
    """normalize + synonym folding: the form both the index and the queries are compared in."""
    return synonyms.apply(normalize(text))


def _is_kanji(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"


def features(canon: str, ngram: tuple[int, ...] = (2,), kanji_unigrams: bool = False) -> dict[str, int]:
    """Character n-gram counts of an already canonicalised text (+ single kanji, optionally)."""
    out: dict[str, int] = {}
    if len(canon) == 1:
        out[canon] = 1
        return out
    if kanji_unigrams:
        for ch in canon:
            if _is_kanji(ch):
                out[ch] = out.get(ch, 0) + 1
    for n in ngram:
        for i in range(len(canon) - n + 1):
            g = canon[i : i + n]
            out[g] = out.get(g, 0) + 1
    return out


# ----------------------------------------------------------------------------- small talk

_GREETINGS = [normalize(w) for w in (
    "おはようございます", "おはよう", "こんにちは", "こんにちわ", "こんばんは", "こんばんわ",
    "はじめまして", "よろしくお願いします", "よろしくおねがいします", "よろしくお願いいたします",
    "よろしく", "お疲れ様です", "お疲れさまです", "おつかれさまです", "お疲れ様", "おつかれ",
    "お世話になっております", "お世話になります", "もしもし", "やあ", "ハロー", "hello", "hi",
    "hey", "失礼します", "すみません", "すいません",
)]
_THANKS = [normalize(w) for w in (
    "ありがとうございました", "ありがとうございます", "ありがとう", "有難うございます", "有難う",
    "サンキュー", "thanks", "thankyou", "thx", "助かりました", "助かります", "助かった", "了解しました",
    "了解です", "了解", "承知しました", "わかりました", "分かりました", "OKです", "どうも",
)]
_FILLER = re.compile("[ですますねよ〜笑w]*")


def smalltalk_kind(text: str) -> str | None:
    """'greeting' / 'thanks' when the text is only small talk, else None."""
    rest = normalize(text)
    if not rest:
        return None
    kind = None
    for phrases, name in ((_THANKS, "thanks"), (_GREETINGS, "greeting")):
        for phrase in sorted(phrases, key=len, reverse=True):
            if phrase and phrase in rest:
                rest = rest.replace(phrase, "")
                kind = kind or name
    if kind and not _FILLER.fullmatch(rest):
        return None
    return kind


def strip_smalltalk(text: str) -> str:
    """Remove leading greeting/thanks phrases so 'おはよう、スマホなくした' matches on the rest."""
    rest = normalize(text)
    for phrase in sorted(_GREETINGS + _THANKS, key=len, reverse=True):
        if phrase and rest.startswith(phrase):
            rest = rest[len(phrase):]
    return rest


# ----------------------------------------------------------------------------- index

@dataclass(frozen=True)
class MatchParams:
    ngram: tuple[int, ...] = (2,)
    kanji_unigrams: bool = False
    k1: float = 1.2            # term-frequency saturation within an entry
    keyword_weight: float = 0.18  # bonus per keyword weight unit found in the query
    keyword_cap: float = 0.6   # max keyword bonus
    use_synonyms: bool = True
    use_keywords: bool = True
    answer_threshold: float = 0.5
    suggest_threshold: float = 0.45
    margin: float = 0.05       # top must beat the runner-up by this much to answer outright
    bare_coverage: float = 0.7  # without any keyword of the entry, answer only above this coverage
    close_call: float = 0.9    # top two within `margin` but both this strong: answer the top one
    oos_penalty: float = 0.35  # subtracted when an out-of-scope term is present...
    strong_keyword: float = 2.5  # ...unless the entry's keyword weight found reaches this


@dataclass
class IndexedDoc:
    id: str
    texts: list[str]
    keywords: dict[str, float] = field(default_factory=dict)
    # What the entry is about (a phone) and what it is not (a wallet): a question that names something
    # it is not about, and nothing it is about, does not get the entry. 「財布を落とした」 is not about a phone.
    about: tuple[str, ...] = ()
    not_about: tuple[str, ...] = ()


@dataclass(frozen=True)
class Ranked:
    id: str
    score: float
    coverage: float
    keyword: float


class Matcher:
    """An index over FAQ entries, built once; `rank` scores a query against it."""

    def __init__(
        self,
        docs: list[IndexedDoc],
        params: MatchParams = MatchParams(),
        synonyms: dict[str, list[str]] | None = None,
        out_of_scope: list[str] = (),
    ):
        self.params = params
        self.synonyms = (
            compile_synonyms(synonyms) if synonyms is not None else DEFAULT_SYNONYMS
        ) if params.use_synonyms else SynonymTable(None, {})
        self.ids = [d.id for d in docs]
        n = len(docs)
        tfs: list[dict[str, int]] = []
        df: dict[str, int] = {}
        for d in docs:
            tf: dict[str, int] = {}
            for t in d.texts:
                for g, c in features(self.canon(t), params.ngram, params.kanji_unigrams).items():
                    tf[g] = tf.get(g, 0) + c
            tfs.append(tf)
            for g in tf:
                df[g] = df.get(g, 0) + 1
        self.n = n
        self.idf = {g: self._idf(c) for g, c in df.items()}
        self.unknown_idf = self._idf(0)
        # postings: feature -> list of (doc index, saturated tf in [0, 1])
        k1 = params.k1
        self.postings: dict[str, list[tuple[int, float]]] = {}
        for i, tf in enumerate(tfs):
            for g, c in tf.items():
                sat = (c * (k1 + 1) / (c + k1)) / (k1 + 1) if k1 > 0 else 1.0
                # scale so that a single occurrence already counts for most of the weight
                sat = 0.7 + 0.3 * sat
                self.postings.setdefault(g, []).append((i, sat))
        # keywords: canonical keyword -> list of (doc index, weight)
        self.keywords: dict[str, list[tuple[int, float]]] = {}
        if params.use_keywords:
            for i, d in enumerate(docs):
                for kw, w in d.keywords.items():
                    ck = self.canon(kw)
                    if ck:
                        self.keywords.setdefault(ck, []).append((i, float(w)))
        self._kw_pattern = (
            re.compile("|".join(map(re.escape, sorted(self.keywords, key=len, reverse=True))))
            if self.keywords else None
        )
        self.out_of_scope = [self.canon(t) for t in out_of_scope if self.canon(t)]
        self.about = [[self.canon(t) for t in d.about if self.canon(t)] for d in docs]
        self.not_about = [[self.canon(t) for t in d.not_about if self.canon(t)] for d in docs]

    def _idf(self, df: int) -> float:
        return math.log(1 + (self.n - df + 0.5) / (df + 0.5))

    def canon(self, text: str) -> str:
        return self.synonyms.apply(normalize(text))

    def _keyword_hits(self, canon: str) -> dict[int, float]:
        hits: dict[int, float] = {}
        if self._kw_pattern is None:
            return hits
        # leftmost-longest, non-overlapping: デメリット does not also count as メリット
        found = {m.group(0) for m in self._kw_pattern.finditer(canon)}
        for kw in found:
            for i, w in self.keywords[kw]:
                hits[i] = hits.get(i, 0.0) + w
        return hits

    def rank(self, text: str, limit: int = 5) -> list[Ranked]:
        p = self.params
        canon = self.canon(text)
        if not canon:
            return []
        q = features(canon, p.ngram, p.kanji_unigrams)
        total = 0.0
        acc: dict[int, float] = {}
        for g in q:
            w = self.idf.get(g, self.unknown_idf)
            total += w
            for i, sat in self.postings.get(g, ()):
                acc[i] = acc.get(i, 0.0) + w * sat
        kw = self._keyword_hits(canon)
        off_topic = any(t in canon for t in self.out_of_scope)
        out: list[Ranked] = []
        for i in set(acc) | set(kw):
            cov = acc.get(i, 0.0) / total if total else 0.0
            bonus = min(p.keyword_cap, p.keyword_weight * kw.get(i, 0.0))
            if any(t in canon for t in self.not_about[i]) and not any(t in canon for t in self.about[i]):
                continue  # 「財布を落とした」: about another thing than the entry's
            # an off-topic word (会議室, 交通費...) only stands if the entry has a decisive keyword
            penalty = p.oos_penalty if off_topic and kw.get(i, 0.0) < p.strong_keyword else 0.0
            out.append(Ranked(self.ids[i], cov + bonus - penalty, cov, bonus))
        out.sort(key=lambda r: (-r.score, r.id))
        return out[:limit]


@dataclass(frozen=True)
class Decision:
    kind: str  # "answer" | "suggest" | "fallback"
    top: list[Ranked]


def decide(ranked: list[Ranked], params: MatchParams) -> Decision:
    """Three outcomes from a ranking: confident answer, 'did you mean', or out of scope."""
    if not ranked or ranked[0].score < params.suggest_threshold:
        return Decision("fallback", ranked[:3])
    best = ranked[0]
    second = ranked[1].score if len(ranked) > 1 else 0.0
    confident = best.score >= params.answer_threshold and (
        best.keyword > 0 or best.coverage >= params.bare_coverage
    )
    if confident and (best.score - second >= params.margin or best.score >= params.close_call):
        # a close call between two strong entries: answer the best, the caller offers the other
        return Decision("answer", ranked[:3])
    candidates = [r for r in ranked[:3] if r.score >= params.suggest_threshold]
    if len(candidates) == 1 and confident:
        return Decision("answer", candidates)
    return Decision("suggest", candidates)
