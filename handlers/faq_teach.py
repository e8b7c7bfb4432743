"""Teaching the FAQ from the talk: what a person answered becomes an entry or an example question.

    /faq add Q-0001              a new entry from the ticket's question and answer
    /faq add Q-0001 <entry-id>   the ticket's question as an example of an existing entry
    /faq add F-12 <entry-id>     a question from /unanswered (not answered, 「もしかして」, 👎) as an example
    /faq learned                 what was taught (L-1, L-2 ...)
    /faq remove L-1              undo one
    /faq export                  the taught items as YAML, to keep under version control

Taught items are kept in the database (handlers/ticket_records.py `faq_learned`) and take effect at
once in every web process (FaqLibrary.refresh); config/faq.yaml stays the baseline shipped with the bot.
"""
from __future__ import annotations

import yaml

from bot.replies import LABEL_LIMIT, TEXT_LIMIT, Reply, Text
from bot.text import inert, one_line
from handlers import records
from handlers import ticket_records as tr

EXAMPLE_CHARS = 300  # an example question is at most this long (it may be sent by a chip)


def _say(key: str, ctx, **values) -> list[Reply]:
    return [Reply(Text(ctx.texts(f"faq_teach.{key}", **values)))]


def _book(ctx):
    return ctx.services.faq.book


def _usage(ctx) -> list[Reply]:
    return [Reply(Text(ctx.texts("admin.usage", usage=ctx.texts("faq_teach.usage"))))]


def add(args, event, ctx) -> list[Reply]:
    if not args:
        return _usage(ctx)
    if args[0].upper().startswith("F"):
        return _add_question(args, event, ctx)
    ticket_id = tr.parse_ticket_number(args[0])
    ticket = tr.get_ticket(ctx.tx, ticket_id) if ticket_id else None
    if ticket is None:
        return [Reply(Text(ctx.texts("tickets.unknown", number=args[0])))]
    if ticket.status != tr.TicketStatus.ANSWERED:
        return _say("not_answered", ctx, number=ticket.number)
    known = next((item for item in tr.all_learned(ctx.tx) if item.ticket_id == ticket.id), None)
    if known is not None:
        return _say("already", ctx, number=ticket.number, id=known.id)
    question = inert(one_line(ticket.question, EXAMPLE_CHARS))
    admin = event.source.user_id
    if len(args) >= 2:
        return _add_example(ctx, ticket, question, args[1].strip().lower(), admin)
    return _add_entry(ctx, ticket, question, admin)


def _add_question(args, event, ctx) -> list[Reply]:
    """A question the FAQ missed, from /unanswered, as an example of the entry that should answer it."""
    question_id = tr.parse_number(args[0], "F")
    row = records.get_question(ctx.tx, question_id) if question_id else None
    if row is None or len(args) < 2:
        return _usage(ctx)
    entry_id = args[1].strip().lower()
    entry = _book(ctx).by_id.get(entry_id)
    if entry is None:
        return _say("unknown_entry", ctx, entry_id=entry_id)
    question = inert(one_line(row.text, EXAMPLE_CHARS))
    known = next((i for i in tr.all_learned(ctx.tx) if i.entry_id == entry_id and i.question == question), None)
    if known is not None:
        return _say("already", ctx, number=f"F-{row.id}", id=known.id)
    admin = event.source.user_id
    learned_id = tr.learn(ctx.tx, tr.LearnedKind.EXAMPLE, entry_id, question, admin, ctx.now)
    ctx.records.audit.add(ctx.now, admin, "faq_learned", f"L-{learned_id} example of {entry_id}", target=f"F-{row.id}")
    return _say("added_example", ctx, number=f"F-{row.id}", title=entry.title, id=learned_id)


def _add_example(ctx, ticket: tr.Ticket, question: str, entry_id: str, admin: str) -> list[Reply]:
    entry = _book(ctx).by_id.get(entry_id)
    if entry is None:
        return _say("unknown_entry", ctx, entry_id=entry_id)
    learned_id = tr.learn(ctx.tx, tr.LearnedKind.EXAMPLE, entry_id, question, admin, ctx.now, ticket_id=ticket.id)
    ctx.records.audit.add(ctx.now, admin, "faq_learned", f"L-{learned_id} example of {entry_id}", target=ticket.number)
    return _say("added_example", ctx, number=ticket.number, title=entry.title, id=learned_id)


def _add_entry(ctx, ticket: tr.Ticket, question: str, admin: str) -> list[Reply]:
    book = _book(ctx)
    guesses = [book.by_id[g] for g in ticket.guesses if g in book.by_id]
    category = guesses[0].category if guesses else book.categories[-1].id
    title = inert(one_line(ticket.question, LABEL_LIMIT))
    if any(e.title == title for e in book.entries):  # titles are how members tell entries apart
        title = inert(one_line(ticket.question, LABEL_LIMIT - len(ticket.number) - 2)) + f"（{ticket.number}）"
    answer = inert(ticket.answer or "")[:TEXT_LIMIT]
    learned_id = tr.learn(ctx.tx, tr.LearnedKind.ENTRY, f"learned-{ticket.id}", question, admin, ctx.now,
                          answer=answer, title=title, category=category, ticket_id=ticket.id)
    ctx.records.audit.add(ctx.now, admin, "faq_learned", f"L-{learned_id} new entry", target=ticket.number)
    return _say("added_entry", ctx, number=ticket.number, title=title, id=learned_id)


def _title_of(ctx, entry_id: str, learned: list[tr.Learned]) -> str:
    entry = _book(ctx).by_id.get(entry_id)
    if entry is not None:
        return entry.title
    return next((item.title for item in learned if item.entry_id == entry_id and item.title), entry_id)


def listing(args, event, ctx) -> list[Reply]:
    learned = tr.all_learned(ctx.tx)
    if not learned:
        return _say("learned_empty", ctx)
    lines = [ctx.texts("faq_teach.learned_header", count=len(learned))]
    in_service = _book(ctx).by_id
    for item in learned[-30:]:
        key = "learned_entry" if item.kind == tr.LearnedKind.ENTRY else "learned_example"
        line = ctx.texts(f"faq_teach.{key}", id=item.id, title=_title_of(ctx, item.entry_id, learned),
                         question=one_line(item.question, 60))
        if item.entry_id not in in_service:  # its entry was removed: the item is not used
            line += ctx.texts("faq_teach.not_in_use")
        lines.append(line)
    return [Reply(Text("\n".join(lines)))]


def remove(args, event, ctx) -> list[Reply]:
    if not args:
        return _usage(ctx)
    learned_id = tr.parse_number(args[0], "L")
    gone = tr.forget(ctx.tx, learned_id) if learned_id else None
    if gone is None:
        return _say("unknown_learned", ctx, id=args[0])
    ctx.records.audit.add(ctx.now, event.source.user_id, "faq_forgotten", f"L-{gone.id} ({gone.kind})",
                          target=gone.entry_id)
    return _say("removed", ctx, id=gone.id)


def as_yaml(learned: list[tr.Learned]) -> str:
    """Taught items in faq.yaml's own shape: new entries, and examples by the entry they join."""
    entries = [{"id": i.entry_id, "category": i.category, "title": i.title, "questions": [i.question],
                "answer": i.answer} for i in learned if i.kind == tr.LearnedKind.ENTRY]
    examples: dict[str, list[str]] = {}
    for item in learned:
        if item.kind == tr.LearnedKind.EXAMPLE:
            examples.setdefault(item.entry_id, []).append(item.question)
    return yaml.safe_dump({"entries": entries, "examples": examples}, allow_unicode=True, sort_keys=False)


def export(args, event, ctx) -> list[Reply]:
    learned = tr.all_learned(ctx.tx)
    if not learned:
        return _say("learned_empty", ctx)
    header = ctx.texts("faq_teach.export_header")
    return [Reply(Text(f"{header}\n{as_yaml(learned)}"))]  # a long export comes as several messages


SUBCOMMANDS = {"add": add, "learned": listing, "remove": remove, "export": export}
