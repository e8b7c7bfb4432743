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
import sys
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable

from pydantic import ValidationError

from bot.replies import QUICK_REPLY_LIMIT, Buttons, MessageAction, PostbackAction, Reply, Text, UriAction
from config.company import company_values, fill
from config.faq import Category, Chips, Entry, FaqContent, FaqError, Messages, load_faq_content
from config.files import read_yaml
from config.vocabulary import DEFAULT_VOCABULARY_PATH, Vocabulary, VocabularyError, load_vocabulary
from handlers import matching, morphology
from handlers.loss_words import is_loss_message

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FAQ_PATH = ROOT / "config" / "faq.yaml"
DEFAULT_COMPANY_PATH = ROOT / "config" / "company.yaml"

FEEDBACK_PREFIX = "faq:"
MAX_QUESTION_CHARS = 500
NOT_OURS_ID = "_not_ours"
CHIP_POSTBACK = "faq:chip"  # an entry's chip: a press (not typed words), also in team rooms and mid-report
ASK_POSTBACK = "ticket:ask"  # the 「担当者に聞く」 chip's hidden data (handlers/tickets.py); works in team rooms too
LOST_DEVICE_ID = "lost-device"  # answered by the lost-device flow in the talk (handlers/faq_chat.py)
DEFAULT_EMBEDDING_CACHE = ROOT / ".cache" / "faq-embeddings.npz"


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
    content: FaqContent | None = field(default=None, repr=False)  # what the book was built from
    vocabulary: Vocabulary | None = field(default=None, repr=False)

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


def _vocabulary_beside(faq_path: Path) -> Vocabulary:
    """config/vocabulary.yaml next to the FAQ file (the shipped one when there is none), read anew."""
    path = faq_path.parent / "vocabulary.yaml"
    try:
        return load_vocabulary(path if path.exists() else DEFAULT_VOCABULARY_PATH)
    except VocabularyError as exc:
        raise FaqError(exc.problems) from None


def load_faq(
    faq_path: str | Path = DEFAULT_FAQ_PATH,
    company_path: str | Path = DEFAULT_COMPANY_PATH,
    params: matching.MatchParams | None = None,
    embedding_cache: Path | None = DEFAULT_EMBEDDING_CACHE,
    company_overrides: dict[str, str] | None = None,
) -> FaqBook:
    """Read, validate and index the FAQ. Pure: returns a new book or raises FaqError, which lists
    every problem found (not only the first), each naming the file, the entry and the field.
    `company_overrides` replace company.yaml's values (those changed in the console)."""
    company, problems = company_values(read_yaml(company_path, FaqError), Path(company_path).name)
    company.update({k: v for k, v in (company_overrides or {}).items() if k in company})
    try:
        content = load_faq_content(faq_path, company)
    except FaqError as exc:
        problems += exc.problems
    if problems:
        raise FaqError(problems)
    return build_book(content, _vocabulary_beside(Path(faq_path)), params, embedding_cache)


def build_book(content: FaqContent, vocabulary: Vocabulary, params: matching.MatchParams | None = None,
               embedding_cache: Path | None = DEFAULT_EMBEDDING_CACHE) -> FaqBook:
    """The FAQ ready to answer: the content and its matcher."""
    matcher = _matcher(content, vocabulary, params, embedding_cache)
    return FaqBook(
        entries=content.entries,
        categories=content.categories,
        messages=content.messages,
        company=content.company,
        matcher=matcher,
        not_ours=content.not_ours_answer,
        topic_words=_canonical_terms(matcher, list(content.topic_only.words)),
        topic_fillers=_canonical_terms(matcher, list(content.topic_only.fillers)),
        by_id={e.id: e for e in content.entries},
        source=content.source,
        chips=content.chips,
        menu_words=frozenset(matching.normalize(w) for w in [content.chips.menu, *content.chips.menu_words]),
        content=content,
        vocabulary=vocabulary,
    )


def with_changes(content: FaqContent, learned=(), edits=(), categories=()) -> tuple[FaqContent, list[str]]:
    """The content with what administrators changed: entries edited, added or hidden in the console
    (handlers/faq_records.py `EntryEdit`), then what was taught in the talk (handlers/ticket_records.py
    `Learned`: new entries, then example questions); categories renamed or added first. A change that no
    longer fits (its entry is gone, an id or a title is taken, a field is invalid) is left out and named
    in the returned list."""
    left_out: list[str] = []
    content = replace(content, categories=_with_categories(content.categories, categories, left_out))
    entries = {e.id: e for e in content.entries}
    for change in edits:
        entry = _edited(entries.get(change.entry_id), change, [c.id for c in content.categories], content.company)
        if change.hidden:
            entries.pop(change.entry_id, None)
        elif entry is None:
            left_out.append(f"edit {change.entry_id}")
        else:
            entries[entry.id] = entry
    for item in learned:
        if item.kind == "entry":
            entry = _learned_entry(item, [c.id for c in content.categories])
            if entry is None or entry.id in entries:
                left_out.append(f"L-{item.id}")
            else:
                entries[entry.id] = entry
    for item in learned:
        if item.kind == "example":
            target = entries.get(item.entry_id)
            if target is None or not item.question.strip() or len(item.question) > 300:
                left_out.append(f"L-{item.id}")
            else:
                entries[target.id] = target.model_copy(update={"questions": [*target.questions, item.question]})
    for entry_id, entry in entries.items():  # an entry taken out of service is no longer a related question
        if any(r not in entries for r in entry.related):
            entries[entry_id] = entry.model_copy(update={"related": [r for r in entry.related if r in entries]})
    return replace(content, entries=tuple(entries.values())), left_out


def _with_categories(shipped: tuple[Category, ...], changes, left_out: list[str]) -> tuple[Category, ...]:
    by_id = {c.id: c for c in shipped}
    for change in changes:
        titles = {c.title for c in by_id.values() if c.id != change.category_id}
        try:
            category = Category(id=change.category_id, title=change.title)
        except ValidationError:
            category = None
        if category is None or category.title in titles:
            left_out.append(f"category {change.category_id}")
        else:
            by_id[category.id] = category
    return tuple(by_id.values())


def _edited(shipped: Entry | None, change, categories: list[str], company: dict[str, str]) -> Entry | None:
    problems: list[str] = []
    answer = fill(change.answer, company, "answer", problems)  # {allowance_yen} written in the console
    if problems:
        return None
    fields = {"id": change.entry_id, "category": change.category, "title": change.title,
              "questions": list(change.questions), "answer": answer}
    if change.category not in categories:
        return None
    try:
        return Entry.model_validate({**(shipped.model_dump() if shipped else {}), **fields})
    except ValidationError:
        return None


def _learned_entry(item, categories: list[str]) -> Entry | None:
    try:
        return Entry(id=item.entry_id, title=item.title, questions=[item.question], answer=item.answer,
                     category=item.category if item.category in categories else categories[-1])
    except ValidationError:
        return None


def _matcher(content: FaqContent, vocabulary: Vocabulary, params: matching.MatchParams | None,
             embedding_cache: Path | None) -> matching.Matcher:
    docs = [matching.IndexedDoc(e.id, [e.title, *e.questions], dict(e.keywords), tuple(e.about), tuple(e.not_about))
            for e in content.entries]
    not_ours = content.not_ours
    if not_ours is not None and not_ours.questions:
        docs.append(matching.IndexedDoc(NOT_OURS_ID, list(not_ours.questions), keywords=dict(not_ours.keywords)))
    return matching.Matcher(docs, params or matching.MatchParams(), vocabulary=vocabulary,
                            out_of_scope=list(content.out_of_scope), other_apps=list(content.other_apps),
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
    return MessageAction(label=entry.title, text=entry.questions[0], postback=CHIP_POSTBACK)


def _said(label: str) -> MessageAction:
    """A chip that sends its own label."""
    return MessageAction(label=label, text=label)


def _category_chip(book: FaqBook, title: str) -> MessageAction:
    """Sends the category's title, which opens it (the member's message then reads naturally)."""
    return MessageAction(label=title, text=title)


def _menu_chips(book: FaqBook) -> tuple[MessageAction, ...]:
    chips = [_said(book.chips.menu), _said(book.chips.lost)]
    if any(c.title == book.chips.hours_category for c in book.categories):
        chips.append(_category_chip(book, book.chips.hours_category))
    chips.append(_said(book.chips.contact))
    return tuple(chips)


def _ask_person_chip(book: FaqBook) -> MessageAction:
    return MessageAction(label=book.chips.ask_person, text=book.chips.ask_person, postback=ASK_POSTBACK)


def _feedback_chips(book: FaqBook, entry_id: str) -> tuple[PostbackAction, PostbackAction]:
    up, down = book.chips.helpful, book.chips.not_helpful
    return (PostbackAction(label=up, data=f"{FEEDBACK_PREFIX}up:{entry_id}", display_text=up),
            PostbackAction(label=down, data=f"{FEEDBACK_PREFIX}down:{entry_id}", display_text=down))


def _answer_replies(book: FaqBook, entry: Entry, outcome: FaqOutcome) -> list[Reply]:
    chips: list = [MessageAction(label=a.label, text=a.text) for a in entry.actions]
    room = QUICK_REPLY_LIMIT - 2 - len(chips)
    runner_up = [c for c in outcome.candidates[1:2] if c != entry.id and c in book.by_id]
    related = runner_up + [r for r in entry.related if r not in runner_up and r in book.by_id]
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
        return [Reply(Text(book.not_ours, quick_replies=(_ask_person_chip(book), *_menu_chips(book))),
                      meta={"faq": "not_ours", "score": outcome.score})]
    if outcome.kind in ("greeting", "thanks"):
        text = m.greeting if outcome.kind == "greeting" else m.thanks
        return [Reply(Text(text, quick_replies=_menu_chips(book)), meta={"faq": outcome.kind})]
    return [Reply(Text(m.fallback, quick_replies=(_ask_person_chip(book), *_menu_chips(book))),
                  meta={"faq": "fallback", "score": outcome.score})]


def category_menu(book: FaqBook) -> list[Reply]:
    shown = [c for c in book.categories if any(e.category == c.id for e in book.entries)]  # none empty
    chips = [_category_chip(book, c.title) for c in shown]
    chips = chips[: QUICK_REPLY_LIMIT - 2] + [_ask_person_chip(book), _said(book.chips.contact)]
    lines = "\n".join(f"・{c.title}" for c in shown)
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


def browse_request(book: FaqBook, text: str, topic_only: bool = True) -> BrowseRequest | None:
    """Recognise 'show me the menu' and 'カテゴリ:<title or id>' texts, and (unless `topic_only` is
    False) a message that only names the subject (the menu then, rather than a guess at one entry)."""
    raw = unicodedata.normalize("NFKC", (text or "").strip())
    for prefix in book.chips.category_prefixes:
        if raw.startswith(prefix):
            want = matching.normalize(raw[len(prefix):])
            for c in book.categories:
                if want in (matching.normalize(c.title), matching.normalize(c.id)):
                    return BrowseRequest("category", c.id)
            return BrowseRequest("menu")
    norm = matching.normalize(raw)
    if norm in book.menu_words or (topic_only and names_only_the_topic(book, raw)):
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
    chips = () if vote == "up" else (_ask_person_chip(book), *_menu_chips(book))
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
