"""The FAQ in the talk: answering text, recording what was asked, 👍/👎, and the admin commands
to see unanswered questions and feedback and to reload the FAQ without a restart.

The matching and the content live in handlers/faq.py and config/faq.yaml; this module connects them
to events and storage.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from bot.events import MessageEvent, PostbackEvent, TextContent
from bot.replies import Reply, Text
from bot.text import inert, one_line
from config.vocabulary import default_vocabulary
from handlers import faq, faq_records, faq_teach, lost_device, matching, records, ticket_records
from handlers.loss_words import default_loss_words

log = logging.getLogger("handlers.faq")


@dataclass(frozen=True)
class Changes:
    """What administrators changed on top of the files: company values and entries (console), and what
    was taught in the talk."""

    company: dict
    edits: tuple
    learned: tuple
    categories: tuple = ()

    @staticmethod
    def read(conn) -> "Changes":
        return Changes(faq_records.company_overrides(conn), tuple(faq_records.all_edits(conn)),
                       tuple(ticket_records.all_learned(conn)), tuple(faq_records.all_category_edits(conn)))


NO_CHANGES = Changes({}, (), (), ())


class FaqLibrary:
    """Holds the FAQ in service: the files' book (config/faq.yaml, config/company.yaml) with what
    administrators changed on top (company values and entries edited in the console, entries and
    examples taught in the talk; all in the database).

    `refresh(read)` runs before each event's transaction (bot/app.py): one small query reads the FAQ's
    revision, and only when another change was made, by this process or another, is the book rebuilt.
    A file reload or a change that fails keeps the previous book and says why."""

    def __init__(self, faq_path: Path, company_path: Path, semantic: bool = True):
        self.faq_path = faq_path
        self.company_path = company_path
        self.params = matching.MatchParams() if semantic else matching.MatchParams(**matching.WORDS_ONLY)
        self._lock = threading.Lock()
        self._base = _load(faq_path, company_path, self.params)  # at start, a bad file stops the process
        self.book = self._base
        self.changes = NO_CHANGES
        self._revision: int | None = None

    def refresh(self, read) -> None:
        """Bring the administrators' changes up to date; `read(fn)` runs fn(connection) outside any
        transaction."""
        revision = read(faq_records.revision)
        if revision == self._revision:
            return
        with self._lock:
            if revision == self._revision:
                return
            changes = read(Changes.read)
            try:
                self.book = self.build(changes)
            except faq.FaqError as exc:
                log.error("FAQ changes not applied (%d problem(s)); the previous FAQ stays", len(exc.errors))
            self.changes, self._revision = changes, revision

    def build(self, changes: Changes) -> faq.FaqBook:
        """The book for these changes (raises FaqError when a company value breaks a text)."""
        base = self._base
        if changes.company:
            base = _load(self.faq_path, self.company_path, self.params, changes.company)
        if not changes.edits and not changes.learned and not changes.categories:
            return base
        content, left_out = faq.with_changes(base.content, changes.learned, changes.edits, changes.categories)
        if left_out:
            log.warning("FAQ: %d change(s) left out (entry gone, id taken or invalid): %s", len(left_out), left_out)
        return faq.build_book(content, base.vocabulary, self.params)

    def reload(self) -> tuple[bool, str]:
        try:
            base = _load(self.faq_path, self.company_path, self.params)
            with self._lock:
                self._base = base
                self.book = self.build(self.changes)
        except faq.FaqError as exc:
            log.warning("FAQ reload refused: %d problem(s)", len(exc.errors))
            return False, "\n".join(exc.errors[:10])
        book = self.book
        default_vocabulary.cache_clear()  # the lost-device words come from the same file
        default_loss_words.cache_clear()
        log.info("FAQ reloaded: %d entries", len(book.entries))
        return True, f"{len(book.entries)}"


_books: dict[tuple, faq.FaqBook] = {}
_books_lock = threading.Lock()


def _load(faq_path: Path, company_path: Path, params: matching.MatchParams, company: dict | None = None
          ) -> faq.FaqBook:
    """load_faq, sharing one book between libraries of the same files in a process (a book is
    immutable; building one lemmatises every example). A changed file is a new key: read anew. A book
    with company values changed in the console is built once per change and not kept here."""
    if company:
        return faq.load_faq(faq_path, company_path, params, company_overrides=company)
    vocabulary = faq_path.parent / "vocabulary.yaml"
    key = (tuple(p.read_bytes() if p.exists() else b"" for p in (faq_path, company_path, vocabulary)), params)
    with _books_lock:
        book = _books.get(key)
        if book is None:
            book = faq.load_faq(faq_path, company_path, params)
            _books.clear()  # keep only the book in service
            _books[key] = book
        return book


def _library(ctx) -> FaqLibrary:
    return ctx.services.faq


def handle_feedback(event, ctx):
    data = event.data if isinstance(event, PostbackEvent) else None
    if isinstance(event, MessageEvent) and isinstance(event.content, TextContent):
        data = event.content.postback
    vote = faq.parse_feedback(data)
    if vote is None:
        return None
    entry_id, direction = vote
    book = _library(ctx).book
    if entry_id not in book.by_id:
        return []
    records.record_feedback(ctx.tx, ctx.now, event.source.user_id, entry_id, direction)
    return faq.feedback_replies(book, entry_id, direction)


def handle(event, ctx):
    if not (isinstance(event, MessageEvent) and isinstance(event.content, TextContent)):
        return None
    text = event.content.text
    if not text.strip():
        return None
    book = _library(ctx).book
    replies = faq.respond(book, text)
    meta = replies[0].meta if replies else {}
    outcome = meta.get("faq")
    if outcome in ("answer", "suggest", "not_ours", "fallback"):
        records.record_question(ctx.tx, ctx.now, event.source.user_id, text, outcome, meta.get("entry_id"),
                                meta.get("score", 0.0))
    if outcome == "answer" and meta.get("entry_id") == faq.LOST_DEVICE_ID:
        return lost_device.loss_help(event, ctx)  # the steps to take now and the offer to report
    return replies


# -- admin commands -------------------------------------------------------------------------------

def _count(args, default: int = 20) -> int:
    try:
        return max(1, min(50, int(args[0]))) if args else default
    except ValueError:
        return default


def unanswered_command(args, event, ctx):
    rows = records.unanswered_questions(ctx.tx, _count(args))
    if not rows:
        return [Reply(Text(ctx.texts("faq_admin.unanswered_empty")))]
    lines = [ctx.texts("faq_admin.unanswered_header", count=len(rows))]
    for row in rows:
        when = records.as_aware(row.at).astimezone(ctx.settings.tz).strftime("%m/%d %H:%M")
        kind = ctx.texts(f"faq_admin.outcome_{row.outcome}")
        lines.append(f"{when} [{kind}] F-{row.id} {inert(one_line(row.text, 80))}")  # an employee's words
    lines.append(ctx.texts("faq_admin.unanswered_footer"))
    return [Reply(Text("\n".join(lines)))]


def feedback_command(args, event, ctx):
    rows = records.feedback_summary(ctx.tx, _count(args))
    if not rows:
        return [Reply(Text(ctx.texts("faq_admin.feedback_empty")))]
    book = _library(ctx).book
    lines = [ctx.texts("faq_admin.feedback_header")]
    for row in rows:
        title = book.by_id[row.entry_id].title if row.entry_id in book.by_id else row.entry_id
        lines.append(f"👎{row.down or 0} 👍{row.up or 0} {title}（{row.entry_id}）")
    return [Reply(Text("\n".join(lines)))]


def faq_command(args, event, ctx):
    sub = args[0].lower() if args else ""
    if sub in faq_teach.SUBCOMMANDS:
        return faq_teach.SUBCOMMANDS[sub](args[1:], event, ctx)
    if sub != "reload":
        return [Reply(Text(ctx.texts("admin.usage", usage=ctx.texts("faq_teach.usage"))))]
    ok, detail = _library(ctx).reload()
    if ok:
        return [Reply(Text(ctx.texts("faq_admin.reloaded", count=detail)))]
    return [Reply(Text(ctx.texts("faq_admin.reload_refused", errors=detail)))]


def admin_commands() -> dict:
    return {
        "unanswered": (unanswered_command, "faq_admin.help_unanswered"),
        "feedback": (feedback_command, "faq_admin.help_feedback"),
        "faq": (faq_command, "faq_teach.help"),
    }
