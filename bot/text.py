"""The one text normaliser of the bot: every comparison of what a person typed goes through here.

`normalize` folds what people vary without meaning anything by it: full and half width (NFKC), case,
katakana and hiragana, romaji typed on a PC keyboard (「sumaho」), long-vowel marks, spaces and
punctuation. What is left is letters and digits only, so 「スマホ　なくした！」, 「すまほなくした」 and
「ｽﾏﾎなくした」 compare equal. `squash` keeps the script and the punctuation (NFKC, lower case, no white
space): for texts that are compared as written, such as the replies scored by the FAQ evaluation.
"""
from __future__ import annotations

import re
import unicodedata

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


def squash(text: str) -> str:
    """NFKC, lower case, no white space."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or "").lower())


# -- text a person typed, repeated in what the bot sends ----------------------------------------------

# Line and paragraph breaks, tabs and the other C0/C1 spacing controls: one space in a single-line field.
_BREAKS = re.compile(r"[ \u3000]*[\t\n\v\f\r\x1c-\x1f\x85\u2028\u2029][\s]*")
_SPACES = re.compile(r" {2,}")


def one_line(text: str | None, limit: int | None = None) -> str:
    """A person's free text made fit to be kept and shown to others as one line.

    Line breaks and tabs become one space (so an answer cannot draw a second, forged block under its
    label); format characters (Unicode Cf: the bidi overrides and isolates U+202A–U+202E and
    U+2066–U+2069, U+200E/U+200F, U+061C, zero-width characters, U+FEFF...), other control characters
    and lone surrogates are removed; the result is trimmed and cut to `limit` characters. The words
    themselves (script, width, punctuation, ideographic spaces) are kept as typed.
    """
    text = _BREAKS.sub(" ", text or "")
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf", "Cs"))
    text = _SPACES.sub(" ", text).strip()
    if limit is not None and len(text) > limit:
        text = text[:limit].rstrip()
    return text


def inert(text: str) -> str:
    """A person's text made safe to repeat in a message the bot sends to someone else or to a room.

    LINE WORKS reads `<m userId="...">` in a bot's text (plain text, button and link templates) as a
    real mention, and `<m userId="all">` as @All: text a person typed must never be able to make the
    bot mention anyone. The angle brackets become their full-width forms ＜ ＞, which read the same to
    a person and are not markup. Everything else is left as it is (no HTML escaping: a chat message is
    not HTML).
    """
    return text.replace("<", "＜").replace(">", "＞")
