"""Ask a person: a question the FAQ could not answer goes to the person in charge, and the answer
comes back in the talk.

Employees: 「担当者に聞く」 (a chip under the fallback, the 👎 follow-up and the menu, or typed) turns
their latest question into a ticket (Q-0001); with no recent question the bot asks for one first.
Administrators get the ticket (admin room, else 1:1) with 回答する / 対応不要. They answer with
`/answer Q-0001 本文`, or press 回答する and send the answer as their next message. The asker gets the
answer from the bot, marked as the person in charge's; the administrator is offered to teach the FAQ
(handlers/faq_teach.py). `/tickets` lists what is open; the clock reminds of tickets open for more than a
working day, once a day (an internal event, handled by `handle_reminder`).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from bot.directory import display_name
from bot.errors import ApiError
from bot.events import InternalEvent, MessageEvent, PostbackEvent, TextContent
from bot.replies import Buttons, MessageAction, Recipient, Reply, Text
from bot.text import one_line, squash
from handlers import faq, records
from handlers import ticket_records as tr
from handlers.loss_words import is_loss_message
from handlers.lost_device import admin_recipients, words

FLOW_ASK = "ask_person"  # an employee: the next message is the question
FLOW_ANSWER = "ticket_answer"  # an administrator: the next message is the answer
ASK_POSTBACK = faq.ASK_POSTBACK
IDLE = timedelta(minutes=30)  # the bot waits this long for the question
ANSWER_IDLE = timedelta(hours=8)  # and this long for an administrator's answer after 回答する
QUESTION_WINDOW = timedelta(minutes=30)  # 「担当者に聞く」 takes the question asked within this time
TICKETS_PER_DAY = 5  # per member, in any 24 hours
QUESTION_CHARS = 500
ANSWER_CHARS = 4000  # sent as two or more messages when longer than one (2,000 characters)
REMINDER_KIND = "tickets_reminder"


def _text(event) -> tuple[str, str | None]:
    if isinstance(event, MessageEvent) and isinstance(event.content, TextContent):
        return event.content.text, event.content.postback
    if isinstance(event, PostbackEvent):
        return "", event.data
    return "", None


def is_ask(event, services) -> bool:
    text, data = _text(event)
    if data == ASK_POSTBACK:
        return True
    return bool(text) and services.faq is not None and squash(text) == squash(services.faq.book.chips.ask_person)


def members_named(event, read, services) -> list[tuple[str, bool]]:
    """The asker is looked up (for the name the administrators see) before the transaction: when they
    press 「担当者に聞く」, or send the question the bot asked them for."""
    if not isinstance(event, (MessageEvent, PostbackEvent)) or not event.source.user_id:
        return []
    user_id = event.source.user_id
    if is_ask(event, services):
        return [(user_id, False)]
    conversation = read(lambda conn: records.get_conversation(conn, user_id))
    return [(user_id, False)] if conversation is not None and conversation.flow == FLOW_ASK else []


def _asker(ctx, ticket: tr.Ticket) -> str:
    """「山田 太郎さん」, or 「名前不明の方」 when the directory did not say."""
    return ctx.texts("tickets.person", name=ticket.asker_name) if ticket.asker_name else ctx.texts("tickets.someone")


def _name(ctx, user_id: str) -> str | None:
    try:
        return display_name(ctx.services.directory.get_user(user_id)) or None
    except ApiError:
        return None


# -- employees ------------------------------------------------------------------------------------

def handle_ask(event, ctx):
    """「担当者に聞く」: the latest question becomes a ticket, or the bot asks for the question."""
    if not is_ask(event, ctx.services):
        return None
    user_id = event.source.user_id
    latest = records.last_question(ctx.tx, user_id, ctx.now - QUESTION_WINDOW)
    if latest is None:
        ctx.records.conversations.save(user_id, FLOW_ASK, "question", {}, ctx.now, IDLE, event.source.channel_id)
        return [Reply(Text(ctx.texts("tickets.ask_for_question")))]
    return _open(ctx, user_id, latest.text, in_room=bool(event.source.channel_id))


def _open(ctx, user_id: str, question: str, in_room: bool = False) -> list[Reply]:
    question = one_line(question, QUESTION_CHARS)
    same = next((t for t in tr.open_tickets(ctx.tx, limit=200) if t.asker_id == user_id and t.question == question), None)
    if same is not None:
        return [Reply(Text(ctx.texts("tickets.already_asked", number=same.number)))]
    if tr.asked_since(ctx.tx, user_id, ctx.now - timedelta(days=1)) >= TICKETS_PER_DAY:
        ctx.records.audit.add(ctx.now, user_id, "ticket_refused", f"more than {TICKETS_PER_DAY} in a day")
        return [Reply(Text(ctx.texts("tickets.too_many", limit=TICKETS_PER_DAY)))]
    book = ctx.services.faq.book
    guesses = [r.id for r in book.matcher.rank(question)[:3] if r.id in book.by_id]
    ticket = tr.open_ticket(ctx.tx, user_id, _name(ctx, user_id), question, guesses, ctx.now)
    ctx.records.audit.add(ctx.now, user_id, "ticket_opened", "open", target=ticket.number)
    company = book.company
    told = Text(ctx.texts("tickets.asked_in_room" if in_room else "tickets.asked", number=ticket.number,
                          work_start=company.get("work_start", ""), work_end=company.get("work_end", "")))
    return [Reply(told), *_notice_to_admins(ctx, ticket)]


def _notice_to_admins(ctx, ticket: tr.Ticket) -> list[Reply]:
    book = ctx.services.faq.book
    titles = "、".join(book.by_id[g].title for g in ticket.guesses if g in book.by_id) or ctx.texts("tickets.no_guesses")
    text = ctx.texts("tickets.to_admins", number=ticket.number, asker=_asker(ctx, ticket),
                     question=one_line(ticket.question, 300), guesses=titles)
    buttons = (MessageAction(ctx.texts("tickets.answer_button"), postback=f"admin:ticket_answer:{ticket.id}"),
               MessageAction(ctx.texts("tickets.dismiss_button"), postback=f"admin:ticket_dismiss:{ticket.id}"))
    return [Reply(Buttons(text, buttons), to=to) for to in admin_recipients(ctx.settings)]


def handle_conversation(event, ctx):
    """The next message after 「担当者に聞く」 (the question) or after 回答する (the answer)."""
    text, data = _text(event)
    if not text.strip() or not event.source.user_id:
        return None
    user_id = event.source.user_id
    conversation = ctx.records.conversations.get(user_id)
    if (conversation is None or conversation.flow not in (FLOW_ASK, FLOW_ANSWER)
            or conversation.channel_id != event.source.channel_id):
        return None
    if conversation.expires_at <= ctx.now:
        ctx.records.conversations.end(user_id)
        if conversation.flow == FLOW_ANSWER:  # not an employee's question: do not let the FAQ take it
            number = tr.ticket_number(conversation.data["ticket"])
            return [Reply(Text(ctx.texts("tickets.answer_expired", number=number)))]
        return None
    if conversation.flow == FLOW_ASK and _not_a_question(event, ctx, text, data):
        ctx.records.conversations.end(user_id)
        return None  # a button, the menu, a lost phone...: handled as usual, the prompt is dropped
    ctx.records.conversations.end(user_id)
    cancelled = squash(text) in {squash(w) for w in words().cancel}
    if conversation.flow == FLOW_ASK:
        if cancelled:
            return [Reply(Text(ctx.texts("tickets.cancelled")))]
        return _open(ctx, user_id, text, in_room=bool(event.source.channel_id))
    ticket_id = conversation.data["ticket"]
    if cancelled:
        return [Reply(Text(ctx.texts("tickets.answer_cancelled", number=tr.ticket_number(ticket_id))))]
    if len(text.strip()) > ANSWER_CHARS:  # keep waiting for a shorter one
        ctx.records.conversations.save(user_id, FLOW_ANSWER, "answer", conversation.data, ctx.now, ANSWER_IDLE,
                                       event.source.channel_id)
        return [Reply(Text(ctx.texts("tickets.answer_too_long", limit=ANSWER_CHARS)))]
    return answer_ticket(ctx, user_id, ticket_id, text)


def _not_a_question(event, ctx, text: str, data: str | None) -> bool:
    """What is clearly not the question the bot asked for: a button, the menu, the ask chip again, a
    lost phone."""
    book = ctx.services.faq.book
    return bool(data) or is_ask(event, ctx.services) or faq.browse_request(book, text, topic_only=False) is not None \
        or is_loss_message(text)


# -- administrators -------------------------------------------------------------------------------

def answer_ticket(ctx, admin: str, ticket_id: int, answer: str) -> list[Reply]:
    """Close the ticket with the answer and send it to the asker; offer to teach the FAQ."""
    ticket = tr.get_ticket(ctx.tx, ticket_id)
    if ticket is None:
        return [Reply(Text(ctx.texts("tickets.unknown", number=tr.ticket_number(ticket_id))))]
    answer = answer.strip()
    if len(answer) > ANSWER_CHARS:
        return [Reply(Text(ctx.texts("tickets.answer_too_long", limit=ANSWER_CHARS)))]
    if not tr.close_ticket(ctx.tx, ticket.id, tr.TicketStatus.ANSWERED, admin, ctx.now, answer):
        return [Reply(Text(ctx.texts("tickets.already_closed", number=ticket.number)))]
    ctx.records.audit.add(ctx.now, admin, "ticket_answered", "answered", target=ticket.number)
    to_asker = Text(ctx.texts("tickets.answer_to_asker", number=ticket.number, question=one_line(ticket.question, 300),
                              answer=answer))
    asker = _asker(ctx, ticket)
    done = Text(ctx.texts("tickets.answered", number=ticket.number, asker=asker) + "\n"
                + ctx.texts("tickets.teach_offer"), quick_replies=_teach_chips(ctx, ticket))
    return [Reply(to_asker, to=Recipient(user_id=ticket.asker_id)), Reply(done)]


def _teach_chips(ctx, ticket: tr.Ticket) -> tuple[MessageAction, ...]:
    book = ctx.services.faq.book
    chips = [MessageAction(ctx.texts("tickets.teach_new"), text=f"/faq add {ticket.number}")]
    for entry_id in ticket.guesses[:3]:
        if entry_id in book.by_id:
            label = ctx.texts("tickets.teach_example", title=book.by_id[entry_id].title)
            chips.append(MessageAction(label, text=f"/faq add {ticket.number} {entry_id}"))
    return tuple(chips)


def _ticket_id(args) -> int | None:
    return tr.parse_ticket_number(args[0]) if args else None


def answer_command(args, event, ctx):
    """/answer Q-0001 本文 (the text keeps its line breaks)."""
    text, _ = _text(event)
    parts = text.strip().split(None, 2)
    ticket_id = tr.parse_ticket_number(parts[1]) if len(parts) >= 2 else None
    if ticket_id is None or len(parts) < 3 or not parts[2].strip():
        return [Reply(Text(ctx.texts("admin.usage", usage=ctx.texts("tickets.usage_answer"))))]
    return answer_ticket(ctx, event.source.user_id, ticket_id, parts[2])


answer_command.audited_args = 1  # the ticket number; the answer itself stays out of the audit log


def answer_button(args, event, ctx):
    """回答する: the administrator's next message (here) is the answer."""
    ticket = tr.get_ticket(ctx.tx, _ticket_id(args) or 0)
    if ticket is None:
        return [Reply(Text(ctx.texts("tickets.unknown", number=args[0] if args else "?")))]
    if ticket.status != tr.TicketStatus.OPEN:
        return [Reply(Text(ctx.texts("tickets.already_closed", number=ticket.number)))]
    ctx.records.conversations.save(event.source.user_id, FLOW_ANSWER, "answer", {"ticket": ticket.id}, ctx.now,
                                   ANSWER_IDLE, event.source.channel_id)
    return [Reply(Text(ctx.texts("tickets.answer_prompt", number=ticket.number,
                                 asker=_asker(ctx, ticket),
                                 question=one_line(ticket.question, 300))))]


def dismiss_button(args, event, ctx):
    """対応不要: the ticket closes; the asker learns that no answer will come here."""
    admin = event.source.user_id
    ticket = tr.get_ticket(ctx.tx, _ticket_id(args) or 0)
    if ticket is None:
        return [Reply(Text(ctx.texts("tickets.unknown", number=args[0] if args else "?")))]
    if not tr.close_ticket(ctx.tx, ticket.id, tr.TicketStatus.DISMISSED, admin, ctx.now):
        return [Reply(Text(ctx.texts("tickets.already_closed", number=ticket.number)))]
    ctx.records.audit.add(ctx.now, admin, "ticket_dismissed", "dismissed", target=ticket.number)
    return [Reply(Text(ctx.texts("tickets.dismissed_to_asker", number=ticket.number)),
                  to=Recipient(user_id=ticket.asker_id)),
            Reply(Text(ctx.texts("tickets.dismissed", number=ticket.number)))]


def _age(ctx, since: datetime) -> str:
    minutes = max(0, int((ctx.now - since).total_seconds() // 60))
    if minutes < 60:
        return ctx.texts("tickets.age_minutes", n=minutes)
    if minutes < 24 * 60:
        return ctx.texts("tickets.age_hours", n=minutes // 60)
    return ctx.texts("tickets.age_days", n=minutes // (24 * 60))


def _items(ctx, tickets: list[tr.Ticket]) -> str:
    return "\n".join(ctx.texts("tickets.list_item", number=t.number, age=_age(ctx, t.created_at),
                               asker=_asker(ctx, t), question=one_line(t.question, 60))
                     for t in tickets)


def tickets_command(args, event, ctx):
    tickets = tr.open_tickets(ctx.tx, limit=1000)
    if not tickets:
        return [Reply(Text(ctx.texts("tickets.list_empty")))]
    header = ctx.texts("tickets.list_header", count=len(tickets))
    return [Reply(Text(header + "\n" + _items(ctx, tickets[:20])))]


def admin_commands() -> dict:
    return {
        "answer": (answer_command, "tickets.help_answer"),
        "tickets": (tickets_command, "tickets.help_tickets"),
        "@ticket_answer": (answer_button, ""),
        "@ticket_dismiss": (dismiss_button, ""),
    }


# -- the daily reminder ---------------------------------------------------------------------------

def previous_working_moment(now: datetime, is_day_off) -> datetime:
    """The same time one working day earlier (a ticket opened before it has waited a working day)."""
    moment = now - timedelta(days=1)
    while is_day_off(moment.date()):
        moment -= timedelta(days=1)
    return moment


def handle_reminder(event, ctx):
    """The clock's daily event: remind the administrators of tickets open for more than a working day."""
    if not (isinstance(event, InternalEvent) and event.type == REMINDER_KIND):
        return None
    reminders = ctx.services.reminders
    is_day_off = reminders.book.calendar.is_day_off if reminders else (lambda day: day.weekday() >= 5)
    cutoff = previous_working_moment(ctx.now, is_day_off)
    due = tr.take_due_reminders(ctx.tx, cutoff, ctx.now.date().isoformat())
    if not due:
        return []
    text = Text(ctx.texts("tickets.reminder", count=len(due), items=_items(ctx, due[:15])))
    return [Reply(text, to=to) for to in admin_recipients(ctx.settings)]
