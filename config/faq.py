"""config/faq.yaml: the FAQ's content (categories, entries, texts, chips), read and checked.

`load_faq_content(faq_path, company)` returns the validated content with the company's values filled
in, or raises FaqError listing every problem found (not only the first), each naming the file, the
entry and the field. Building the matcher from the content is the FAQ feature's job (handlers/faq.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.replies import LABEL_LIMIT, TEXT_LIMIT
from config.company import fill
from config.files import ConfigError, problems_of, read_yaml

MAX_LINKS = 4


class FaqError(ConfigError):
    """A mistake in faq.yaml or company.yaml. `errors` lists every problem found, one line each."""


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
    ask_person: str = Field(min_length=1)  # the question goes to the person in charge (handlers/tickets.py)
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


@dataclass(frozen=True)
class FaqContent:
    """faq.yaml once validated, with the company's values filled into every text."""

    categories: tuple[Category, ...]
    messages: Messages
    entries: tuple[Entry, ...]
    chips: Chips
    not_ours: NotOurs | None
    not_ours_answer: str
    out_of_scope: tuple[str, ...]
    other_apps: tuple[str, ...]
    topic_only: TopicOnly
    company: dict[str, str]
    source: str = ""


def _where(index: int, raw: Any) -> str:
    if isinstance(raw, dict) and isinstance(raw.get("id"), str) and raw["id"].strip():
        return f"entry {raw['id'].strip()!r}"
    return f"entry #{index + 1}"


def load_faq_content(faq_path: str | Path, company: dict[str, str]) -> FaqContent:
    """Read and validate faq.yaml; FaqError lists every problem found."""
    name = Path(faq_path).name
    top = _top(read_yaml(faq_path, FaqError), name)
    errors: list[str] = []
    categories = _categories(top, name, errors)
    messages = _messages(top, company, name, errors)
    entries = _entries(top, company, name, errors)
    _cross_check(entries, [c.id for c in categories], top, name, errors)
    not_ours_answer = ""
    if top.not_ours is not None:
        not_ours_answer = fill(top.not_ours.answer, company, f"{name}: not_ours: field 'answer'", errors)
    if errors:
        raise FaqError(errors)
    return FaqContent(categories=tuple(categories), messages=messages, entries=tuple(entries),  # type: ignore[arg-type]
                      chips=top.chips, not_ours=top.not_ours, not_ours_answer=not_ours_answer,
                      out_of_scope=tuple(top.out_of_scope), other_apps=tuple(top.other_apps),
                      topic_only=top.topic_only, company=dict(company), source=str(faq_path))


def _top(raw: Any, name: str) -> _Top:
    if not isinstance(raw, dict):
        raise FaqError([f"{name}: must be a mapping with categories, messages, entries"])
    try:
        return _Top.model_validate(raw)
    except ValidationError as exc:
        raise FaqError(problems_of(name, exc)) from None


def _categories(top: _Top, name: str, errors: list[str]) -> list[Category]:
    categories: list[Category] = []
    for i, c in enumerate(top.categories):
        try:
            categories.append(Category.model_validate(c))
        except ValidationError as exc:
            errors += problems_of(f"{name}: category #{i + 1}", exc)
    ids = [c.id for c in categories]
    for cid in sorted({c for c in ids if ids.count(c) > 1}):
        errors.append(f"{name}: category '{cid}': duplicate id")
    return categories


def _messages(top: _Top, company: dict[str, str], name: str, errors: list[str]) -> Messages | None:
    try:
        messages = Messages.model_validate(top.messages)
    except ValidationError as exc:
        errors += problems_of(f"{name}: messages", exc)
        return None
    filled = {}
    for field_name in Messages.model_fields:
        extra = {"category": "{category}"} if field_name == "category" else {}
        filled[field_name] = fill(getattr(messages, field_name), {**company, **extra},
                                   f"{name}: messages: field '{field_name}'", errors)
    return Messages(**filled)


def _entries(top: _Top, company: dict[str, str], name: str, errors: list[str]) -> list[Entry]:
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
            errors += problems_of(where, exc)
            continue
        if entry.id in seen:
            errors.append(f"{where}: field 'id': duplicate id (also entry #{seen[entry.id] + 1})")
            continue
        seen[entry.id] = i
        answer = fill(entry.answer, company, f"{where}: field 'answer'", errors)
        if len(answer) > TEXT_LIMIT:
            errors.append(f"{where}: field 'answer': longer than {TEXT_LIMIT} characters once filled in")
        questions = [fill(q, company, f"{where}: field 'questions'", errors) for q in entry.questions]
        entries.append(entry.model_copy(update={"answer": answer, "questions": questions}))
    return entries


def _cross_check(entries: list[Entry], category_ids: list[str], top: _Top, name: str, errors: list[str]) -> None:
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
