"""FAQ about using one's own smartphone for work (BYOD): loading, classifying, replying.

Public API (all pure; no flask/requests/os.environ):

    load_faq(faq_path, company_path) -> FaqBook          raises FaqError on any mistake
    classify(book, text) -> FaqOutcome                   answer / suggest / fallback / greeting / thanks
    replies_for(book, outcome) -> list[Reply]
    respond(book, text) -> list[Reply]                   browse_request first, then classify + replies_for
    browse_request(book, text) -> BrowseRequest | None   "よくある質問" / "カテゴリ:<title>"
    category_menu(book) -> list[Reply]
    category_entries(book, category_id) -> list[Reply]
    parse_feedback(data) -> (entry_id, "up" | "down") | None
    feedback_replies(book, entry_id, vote) -> list[Reply]

`python -m handlers.faq evaluate FILE` scores a dev set (see handlers.faq_eval);
`python -m handlers.faq check` validates config/; `python -m handlers.faq ask TEXT` shows one answer.
"""
from __future__ import annotations

import re
import string
import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import urlparse

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.replies import (
    LABEL_LIMIT,
    QUICK_REPLY_LIMIT,
    TEXT_LIMIT,
    Buttons,
    MessageAction,
    PostbackAction,
    Reply,
    Text,
    UriAction,
)
from handlers import matching, morphology
from config.vocabulary import DEFAULT_VOCABULARY_PATH, Vocabulary, VocabularyError, load_vocabulary
from handlers.loss_words import is_loss_message

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FAQ_PATH = ROOT / "config" / "faq.yaml"
DEFAULT_COMPANY_PATH = ROOT / "config" / "company.yaml"

FEEDBACK_PREFIX = "faq:"
MAX_LINKS = 4
MAX_QUESTION_CHARS = 500
NOT_OURS_ID = "_not_ours"
LOST_DEVICE_ID = "lost-device"  # answered by the lost-device flow in the talk (handlers/faq_chat.py)
DEFAULT_EMBEDDING_CACHE = ROOT / ".cache" / "faq-embeddings.npz"


class FaqError(ValueError):
    """A mistake in faq.yaml or company.yaml. `errors` lists every problem found, one line each."""

    def __init__(self, errors: list[str]):
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))


# ----------------------------------------------------------------------------- schema

_ID = r"^[a-z0-9][a-z0-9-]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


def _https(value: str) -> str:
    parsed = urlparse(value)
    if parsed.scheme != "https" or not parsed.netloc or " " in value or len(value) > 1000:
        raise ValueError("must be an https:// URL")
    return value


class Link(_Strict):
    label: str = Field(min_length=1, max_length=LABEL_LIMIT)
    url: str

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        return _https(v)


class ChipSpec(_Strict):
    label: str = Field(min_length=1, max_length=LABEL_LIMIT)
    text: str = Field(min_length=1, max_length=300)


class Category(_Strict):
    id: str = Field(pattern=_ID)
    title: str = Field(min_length=1, max_length=LABEL_LIMIT)


class Entry(_Strict):
    id: str = Field(pattern=_ID, max_length=60)
    category: str
    title: str = Field(min_length=1, max_length=LABEL_LIMIT)
    questions: list[str] = Field(min_length=1)
    keywords: dict[str, float] = Field(default_factory=dict)
    about: list[str] = Field(default_factory=list)
    not_about: list[str] = Field(default_factory=list)
    answer: str = Field(min_length=1, max_length=TEXT_LIMIT)
    related: list[str] = Field(default_factory=list)
    links: list[Link] = Field(default_factory=list, max_length=MAX_LINKS)
    actions: list[ChipSpec] = Field(default_factory=list, max_length=3)

    @field_validator("questions")
    @classmethod
    def _questions(cls, v: list[str]) -> list[str]:
        for q in v:
            if not q.strip():
                raise ValueError("empty question")
            if len(q) > 300:
                raise ValueError("question longer than 300 characters (it is sent by a chip)")
        return v

    _keywords = field_validator("keywords")(classmethod(lambda cls, v: _check_keywords(v)))


def _check_keywords(v: dict[str, float]) -> dict[str, float]:
    for k, w in v.items():
        if not str(k).strip():
            raise ValueError("empty keyword")
        if not 0 < w <= 5:
            raise ValueError(f"weight of {k!r} must be in (0, 5]")
    return v


class Messages(_Strict):
    greeting: str = Field(min_length=1)
    thanks: str = Field(min_length=1)
    fallback: str = Field(min_length=1)
    suggest: str = Field(min_length=1)
    menu: str = Field(min_length=1)
    category: str = Field(min_length=1)
    feedback_up: str = Field(min_length=1)
    feedback_down: str = Field(min_length=1)


class Chips(_Strict):
    """The buttons under the FAQ's answers. A chip sends its label as the member's message, which the
    FAQ (or the lost-device flow) then recognises."""
    menu: str = Field(min_length=1)  # opens the category menu
    lost: str = Field(min_length=1)  # "I lost my device": the lost-device help
    hours_category: str = Field(min_length=1)  # a category title, shown as a chip when it exists
    contact: str = Field(min_length=1)
    none_of_these: str = Field(min_length=1)  # under 「もしかして」
    back_to_menu: str = Field(min_length=1)
    helpful: str = Field(min_length=1)
    not_helpful: str = Field(min_length=1)
    category_prefixes: list[str] = Field(min_length=1)  # "<prefix><category title>" opens a category; first is sent
    menu_words: list[str] = Field(default_factory=list)  # typed words that open the menu


class TopicOnly(_Strict):
    words: list[str] = Field(default_factory=list)
    fillers: list[str] = Field(default_factory=list)


class NotOurs(_Strict):
    """Questions that are not ours (pay, HR, office): examples that compete with the entries, and the
    honest answer given when one of them is closest."""
    answer: str = Field(min_length=1, max_length=TEXT_LIMIT)
    questions: list[str] = Field(default_factory=list)
    # Words that are someone else's matter even inside an entry's keyword: 退職金 is not 退職.
    keywords: dict[str, float] = Field(default_factory=dict)

    _keywords = field_validator("keywords")(classmethod(lambda cls, v: _check_keywords(v)))


class _Top(BaseModel):
    model_config = ConfigDict(extra="forbid")
    categories: list[Any] = Field(min_length=1)
    messages: Any
    out_of_scope: list[str] = Field(default_factory=list)
    other_apps: list[str] = Field(default_factory=list)
    not_ours: NotOurs | None = None
    topic_only: TopicOnly = Field(default_factory=TopicOnly)
    chips: Chips
    entries: list[Any] = Field(min_length=1)


# ----------------------------------------------------------------------------- the book

@dataclass(frozen=True)
class FaqBook:
    entries: tuple[Entry, ...]
    categories: tuple[Category, ...]
    messages: Messages
    company: dict[str, str]
    matcher: matching.Matcher = field(repr=False)
    by_id: dict[str, Entry] = field(repr=False)
    source: str = ""
    # canonical forms, longest first: see `topic_only` in faq.yaml
    topic_words: tuple[str, ...] = ()
    topic_fillers: tuple[str, ...] = ()
    not_ours: str = ""  # the answer to a question that is not ours (see `not_ours` in faq.yaml)
    chips: Chips | None = None
    menu_words: frozenset[str] = frozenset()  # normalised: the chips' menu label and `chips.menu_words`

    def entry(self, entry_id: str) -> Entry:
        return self.by_id[entry_id]

    def category(self, category_id: str) -> Category | None:
        return next((c for c in self.categories if c.id == category_id), None)


@dataclass(frozen=True)
class FaqOutcome:
    kind: str  # "answer" | "suggest" | "fallback" | "greeting" | "thanks"
    entry_id: str | None = None
    candidates: tuple[str, ...] = ()
    score: float = 0.0


@dataclass(frozen=True)
class BrowseRequest:
    kind: str  # "menu" | "category"
    category_id: str | None = None


def _where(index: int, raw: Any) -> str:
    if isinstance(raw, dict) and isinstance(raw.get("id"), str) and raw["id"].strip():
        return f"entry {raw['id'].strip()!r}"
    return f"entry #{index + 1}"


def _pydantic_errors(prefix: str, exc: ValidationError) -> list[str]:
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        fld = loc[0] if loc else "?"
        rest = "." + ".".join(loc[1:]) if len(loc) > 1 else ""
        msg = "required" if err["type"] == "missing" else err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        out.append(f"{prefix}: field '{fld}{rest}': {msg}")
    return out


_FORMATTER = string.Formatter()


def _fill(template: str, company: dict[str, str], where: str, errors: list[str]) -> str:
    """Replace {name} placeholders with company values; unknown names are errors."""
    try:
        names = [name for _, name, _, _ in _FORMATTER.parse(template) if name is not None]
    except ValueError as exc:
        errors.append(f"{where}: bad placeholder syntax ({exc}); write {{{{ and }}}} for braces")
        return template
    bad = [n for n in names if n not in company or not re.fullmatch(r"[a-z_][a-z0-9_]*", n)]
    if bad:
        known = ", ".join(sorted(company)) or "none"
        errors.append(f"{where}: unknown placeholder {{{bad[0]}}} (company.yaml has: {known})")
        return template
    return template.format_map(company)


def _read_yaml(path: Path, name: str) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except FileNotFoundError:
        raise FaqError([f"{name}: file not found: {path}"]) from None
    except yaml.YAMLError as exc:
        raise FaqError([f"{name}: not valid YAML: {exc}"]) from None


def _vocabulary_beside(faq_path: Path) -> Vocabulary:
    """config/vocabulary.yaml next to the FAQ file (the shipped one when there is none), read anew."""
    path = faq_path.parent / "vocabulary.yaml"
    try:
        return load_vocabulary(path if path.exists() else DEFAULT_VOCABULARY_PATH)
    except VocabularyError as exc:
        raise FaqError(str(exc).splitlines()) from None


def load_faq(
    faq_path: str | Path = DEFAULT_FAQ_PATH,
    company_path: str | Path = DEFAULT_COMPANY_PATH,
    params: matching.MatchParams | None = None,
    embedding_cache: Path | None = DEFAULT_EMBEDDING_CACHE,
) -> FaqBook:
    """Read, validate and index the FAQ. Pure: returns a new book or raises FaqError, which lists
    every problem found (not only the first), each naming the file, the entry and the field."""
    faq_name = Path(faq_path).name
    errors: list[str] = []
    company = _company_values(_read_yaml(Path(company_path), Path(company_path).name), Path(company_path).name,
                              errors)
    top = _top(_read_yaml(Path(faq_path), faq_name), faq_name, errors)
    categories = _categories(top, faq_name, errors)
    messages = _messages(top, company, faq_name, errors)
    entries = _entries(top, company, faq_name, errors)
    _cross_check(entries, [c.id for c in categories], top, faq_name, errors)
    not_ours_answer = ""
    if top.not_ours is not None:
        not_ours_answer = _fill(top.not_ours.answer, company, f"{faq_name}: not_ours: field 'answer'", errors)
    if errors:
        raise FaqError(errors)
    matcher = _matcher(entries, top, Path(faq_path), params, embedding_cache)
    return FaqBook(
        entries=tuple(entries),
        categories=tuple(categories),
        messages=messages,  # type: ignore[arg-type]
        company=company,
        matcher=matcher,
        not_ours=not_ours_answer,
        topic_words=_canonical_terms(matcher, top.topic_only.words),
        topic_fillers=_canonical_terms(matcher, top.topic_only.fillers),
        by_id={e.id: e for e in entries},
        source=str(faq_path),
        chips=top.chips,
        menu_words=frozenset(matching.normalize(w) for w in [top.chips.menu, *top.chips.menu_words]),
    )


def _company_values(raw: Any, name: str, errors: list[str]) -> dict[str, str]:
    """company.yaml: a flat mapping of lower_case names to texts or numbers."""
    if not isinstance(raw, dict):
        errors.append(f"{name}: must be a mapping of name: value")
        return {}
    company: dict[str, str] = {}
    for key, value in raw.items():
        if not isinstance(key, str) or not re.fullmatch(r"[a-z_][a-z0-9_]*", key):
            errors.append(f"{name}: key {key!r}: use lower_case_with_underscores")
        elif value is None or isinstance(value, (dict, list)):
            errors.append(f"{name}: key '{key}': must be a text or number")
        else:
            company[key] = str(value)
    return company


def _top(raw: Any, name: str, errors: list[str]) -> "_Top":
    if not isinstance(raw, dict):
        raise FaqError(errors + [f"{name}: must be a mapping with categories, messages, entries"])
    try:
        return _Top.model_validate(raw)
    except ValidationError as exc:
        raise FaqError(errors + _pydantic_errors(name, exc)) from None


def _categories(top: "_Top", name: str, errors: list[str]) -> list[Category]:
    categories: list[Category] = []
    for i, c in enumerate(top.categories):
        try:
            categories.append(Category.model_validate(c))
        except ValidationError as exc:
            errors += _pydantic_errors(f"{name}: category #{i + 1}", exc)
    ids = [c.id for c in categories]
    for cid in sorted({c for c in ids if ids.count(c) > 1}):
        errors.append(f"{name}: category '{cid}': duplicate id")
    return categories


def _messages(top: "_Top", company: dict[str, str], name: str, errors: list[str]) -> Messages | None:
    try:
        messages = Messages.model_validate(top.messages)
    except ValidationError as exc:
        errors += _pydantic_errors(f"{name}: messages", exc)
        return None
    filled = {}
    for field_name in Messages.model_fields:
        extra = {"category": "{category}"} if field_name == "category" else {}
        filled[field_name] = _fill(getattr(messages, field_name), {**company, **extra},
                                   f"{name}: messages: field '{field_name}'", errors)
    return Messages(**filled)


def _entries(top: "_Top", company: dict[str, str], name: str, errors: list[str]) -> list[Entry]:
    """Each entry validated on its own (one bad entry does not hide the others' problems), with the
    company's values filled into its answer and questions."""
    entries: list[Entry] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(top.entries):
        where = f"{name}: {_where(i, item)}"
        if not isinstance(item, dict):
            errors.append(f"{where}: must be a mapping")
            continue
        try:
            entry = Entry.model_validate(item)
        except ValidationError as exc:
            errors += _pydantic_errors(where, exc)
            continue
        if entry.id in seen:
            errors.append(f"{where}: field 'id': duplicate id (also entry #{seen[entry.id] + 1})")
            continue
        seen[entry.id] = i
        answer = _fill(entry.answer, company, f"{where}: field 'answer'", errors)
        if len(answer) > TEXT_LIMIT:
            errors.append(f"{where}: field 'answer': longer than {TEXT_LIMIT} characters once filled in")
        questions = [_fill(q, company, f"{where}: field 'questions'", errors) for q in entry.questions]
        entries.append(entry.model_copy(update={"answer": answer, "questions": questions}))
    return entries


def _cross_check(entries: list[Entry], category_ids: list[str], top: "_Top", name: str, errors: list[str]) -> None:
    """What one entry cannot check alone: its category and related entries exist, titles differ."""
    known_ids = {e.id for e in entries} | {x.get("id") for x in top.entries if isinstance(x, dict)}
    titles: dict[str, str] = {}
    for e in entries:
        where = f"{name}: entry '{e.id}'"
        if e.category not in category_ids:
            errors.append(f"{where}: field 'category': unknown category '{e.category}'")
        for r in e.related:
            if r not in known_ids:
                errors.append(f"{where}: field 'related': unknown entry id '{r}'")
            elif r == e.id:
                errors.append(f"{where}: field 'related': refers to itself")
        if e.title in titles:
            errors.append(f"{where}: field 'title': same title as entry '{titles[e.title]}'")
        titles.setdefault(e.title, e.id)


def _matcher(entries: list[Entry], top: "_Top", faq_path: Path, params: matching.MatchParams | None,
             embedding_cache: Path | None) -> matching.Matcher:
    docs = [matching.IndexedDoc(e.id, [e.title, *e.questions], dict(e.keywords), tuple(e.about), tuple(e.not_about))
            for e in entries]
    if top.not_ours is not None and top.not_ours.questions:
        docs.append(matching.IndexedDoc(NOT_OURS_ID, list(top.not_ours.questions),
                                        keywords=dict(top.not_ours.keywords)))
    return matching.Matcher(docs, params or matching.MatchParams(), vocabulary=_vocabulary_beside(faq_path),
                            out_of_scope=top.out_of_scope, other_apps=top.other_apps,
                            lemmatize=morphology.shared().lemmas, read=morphology.shared().reading,
                            embedding_cache=embedding_cache)


# ----------------------------------------------------------------------------- classify

def classify(book: FaqBook, text: str) -> FaqOutcome:
    """Map one message to an outcome. Pure."""
    # A question is a sentence or two; matching a pasted novel would hold the worker for seconds.
    text = text[:MAX_QUESTION_CHARS]
    kind = book.matcher.smalltalk.kind(text)
    if kind:
        return FaqOutcome(kind)
    if LOST_DEVICE_ID in book.by_id and is_loss_message(text):
        return FaqOutcome("answer", LOST_DEVICE_ID, (LOST_DEVICE_ID,), 1.0)  # a lost phone is never missed
    query = book.matcher.smalltalk.strip(text)
    ranked = book.matcher.rank(query, limit=5)
    decision = matching.decide(ranked, book.matcher.params)
    score = round(ranked[0].score, 4) if ranked else 0.0
    ids = tuple(r.id for r in decision.top)
    if decision.kind == "answer":
        return FaqOutcome("answer", ranked[0].id, ids, score)
    if decision.kind == "suggest":
        return FaqOutcome("suggest", None, ids, score)
    if decision.kind == "not_ours" and book.not_ours:
        return FaqOutcome("not_ours", None, (), score)
    return FaqOutcome("fallback", None, (), score)


# ----------------------------------------------------------------------------- replies

def _ask_chip(entry: Entry) -> MessageAction:
    """A chip that sends the entry's first example question (which maps back to the entry)."""
    return MessageAction(label=entry.title, text=entry.questions[0])


def _said(label: str) -> MessageAction:
    """A chip that sends its own label."""
    return MessageAction(label=label, text=label)


def _category_chip(book: FaqBook, title: str) -> MessageAction:
    return MessageAction(label=title, text=book.chips.category_prefixes[0] + title)


def _menu_chips(book: FaqBook) -> tuple[MessageAction, ...]:
    chips = [_said(book.chips.menu), _said(book.chips.lost)]
    if any(c.title == book.chips.hours_category for c in book.categories):
        chips.append(_category_chip(book, book.chips.hours_category))
    chips.append(_said(book.chips.contact))
    return tuple(chips)


def _feedback_chips(book: FaqBook, entry_id: str) -> tuple[PostbackAction, PostbackAction]:
    up, down = book.chips.helpful, book.chips.not_helpful
    return (PostbackAction(label=up, data=f"{FEEDBACK_PREFIX}up:{entry_id}", display_text=up),
            PostbackAction(label=down, data=f"{FEEDBACK_PREFIX}down:{entry_id}", display_text=down))


def _answer_replies(book: FaqBook, entry: Entry, outcome: FaqOutcome) -> list[Reply]:
    chips: list = [MessageAction(label=a.label, text=a.text) for a in entry.actions]
    room = QUICK_REPLY_LIMIT - 2 - len(chips)
    runner_up = [c for c in outcome.candidates[1:2] if c != entry.id and c in book.by_id]
    related = runner_up + [r for r in entry.related if r not in runner_up]
    chips += [_ask_chip(book.by_id[r]) for r in related[:room]]
    chips += _feedback_chips(book, entry.id)
    meta = {"faq": "answer", "entry_id": entry.id, "score": outcome.score}
    if entry.links:
        content = Buttons(
            text=entry.answer,
            actions=tuple(UriAction(label=l.label, uri=l.url) for l in entry.links),
            quick_replies=tuple(chips),
        )
    else:
        content = Text(entry.answer, quick_replies=tuple(chips))
    return [Reply(content, meta=meta)]


def replies_for(book: FaqBook, outcome: FaqOutcome) -> list[Reply]:
    """The messages to send for an outcome (one Reply each; quick replies on the last)."""
    m = book.messages
    if outcome.kind == "answer" and outcome.entry_id in book.by_id:
        return _answer_replies(book, book.by_id[outcome.entry_id], outcome)
    if outcome.kind == "suggest" and outcome.candidates:
        entries = [book.by_id[c] for c in outcome.candidates if c in book.by_id][:3]
        lines = "\n".join(f"・{e.title}" for e in entries)
        chips = [_ask_chip(e) for e in entries] + [
            MessageAction(label=book.chips.none_of_these, text=book.chips.menu),
        ]
        meta = {"faq": "suggest", "candidates": [e.id for e in entries], "score": outcome.score}
        return [Reply(Text(f"{m.suggest.splitlines()[0]}\n{lines}\n" + "\n".join(m.suggest.splitlines()[1:]),
                           quick_replies=tuple(chips)), meta=meta)]
    if outcome.kind == "not_ours":
        return [Reply(Text(book.not_ours, quick_replies=_menu_chips(book)), meta={"faq": "not_ours", "score": outcome.score})]
    if outcome.kind in ("greeting", "thanks"):
        text = m.greeting if outcome.kind == "greeting" else m.thanks
        return [Reply(Text(text, quick_replies=_menu_chips(book)), meta={"faq": outcome.kind})]
    return [Reply(Text(m.fallback, quick_replies=_menu_chips(book)), meta={"faq": "fallback", "score": outcome.score})]


def category_menu(book: FaqBook) -> list[Reply]:
    chips = [_category_chip(book, c.title) for c in book.categories]
    chips = chips[: QUICK_REPLY_LIMIT - 1] + [_said(book.chips.contact)]
    lines = "\n".join(f"・{c.title}" for c in book.categories)
    return [Reply(Text(f"{book.messages.menu}\n{lines}", quick_replies=tuple(chips)), meta={"faq": "menu"})]


def category_entries(book: FaqBook, category_id: str) -> list[Reply]:
    cat = book.category(category_id)
    if cat is None:
        return category_menu(book)
    entries = [e for e in book.entries if e.category == category_id]
    chips = [_ask_chip(e) for e in entries][: QUICK_REPLY_LIMIT - 1]
    chips.append(MessageAction(label=book.chips.back_to_menu, text=book.chips.menu))
    head = book.messages.category.replace("{category}", cat.title)
    lines = "\n".join(f"・{e.title}" for e in entries)
    return [Reply(Text(f"{head}\n{lines}", quick_replies=tuple(chips)), meta={"faq": "category", "category": cat.id})]


def _canonical_terms(matcher: matching.Matcher, terms: list[str]) -> tuple[str, ...]:
    return tuple(sorted({matcher.canon(t) for t in terms if matcher.canon(t)}, key=len, reverse=True))


def names_only_the_topic(book: FaqBook, text: str) -> bool:
    """「スマホ」, 「LINE WORKSのルールを教えて」: the subject named, no question asked."""
    canon = book.matcher.canon(text[:MAX_QUESTION_CHARS])
    rest = canon
    for word in book.topic_words:
        rest = rest.replace(word, "")
    if rest == canon:
        return False
    for filler in book.topic_fillers:
        rest = rest.replace(filler, "")
    return not rest


def browse_request(book: FaqBook, text: str) -> BrowseRequest | None:
    """Recognise 'show me the menu' and 'カテゴリ:<title or id>' texts, and a message that only names
    the subject (the menu then, rather than a guess at one entry)."""
    raw = unicodedata.normalize("NFKC", (text or "").strip())
    for prefix in book.chips.category_prefixes:
        if raw.startswith(prefix):
            want = matching.normalize(raw[len(prefix):])
            for c in book.categories:
                if want in (matching.normalize(c.title), matching.normalize(c.id)):
                    return BrowseRequest("category", c.id)
            return BrowseRequest("menu")
    norm = matching.normalize(raw)
    if norm in book.menu_words or names_only_the_topic(book, raw):
        return BrowseRequest("menu")
    for c in book.categories:
        if norm == matching.normalize(c.title):
            return BrowseRequest("category", c.id)
    return None


def browse_replies(book: FaqBook, request: BrowseRequest) -> list[Reply]:
    if request.kind == "category" and request.category_id:
        return category_entries(book, request.category_id)
    return category_menu(book)


def respond(book: FaqBook, text: str) -> list[Reply]:
    """Everything the FAQ part answers to one text message."""
    request = browse_request(book, text)
    if request is not None:
        return browse_replies(book, request)
    return replies_for(book, classify(book, text))


# ----------------------------------------------------------------------------- feedback

_FEEDBACK = re.compile(rf"^{re.escape(FEEDBACK_PREFIX)}(up|down):([a-z0-9][a-z0-9-]*)$")


def parse_feedback(data: str | None) -> tuple[str, str] | None:
    """'faq:up:<id>' -> (id, 'up'); anything else -> None."""
    m = _FEEDBACK.match((data or "").strip())
    return (m.group(2), m.group(1)) if m else None


def feedback_replies(book: FaqBook, entry_id: str, vote: str) -> list[Reply]:
    text = book.messages.feedback_up if vote == "up" else book.messages.feedback_down
    chips = () if vote == "up" else _menu_chips(book)
    return [Reply(Text(text, quick_replies=chips), meta={"faq": "feedback", "entry_id": entry_id, "vote": vote})]


def reply_texts(replies: Iterable[Reply]) -> list[str]:
    """Message texts only (labels of buttons and chips left out), as the evaluation reads them."""
    out = []
    for r in replies:
        c = r.content
        out.append(c.text if isinstance(c, (Text, Buttons)) else c.plain_text())
    return out


# ----------------------------------------------------------------------------- CLI

if __name__ == "__main__":  # the Procfile's release line: `python -m handlers.faq check`
    import manage

    sys.exit(manage.run(["faq", *sys.argv[1:]], prog="python -m handlers.faq"))
