"""Lost or stolen device: self-help at once, then a short report conversation, then the admins.

Routes (wired in bot/app.py, in this order among the others):
- `handle_conversation`: the next answer of a report in progress (state stored, so a restart keeps it);
- `handle_found`: "見つかった" from someone with an open report, in the 1:1 talk only (in a group room
  the bot only points the person to the 1:1 talk: no report number, no account state there);
- `handle_entry`: free text about a lost phone, the menu item, or the "紛失報告" command.
`expire_idle` is a periodic task: a report left idle for 30 minutes is dropped with a note.

What the reporter types is kept as one line (bot.text.one_line: no line breaks, no bidi or other
control characters, a length limit), so an answer cannot draw a forged second report into the
administrators' notice; values put into texts are made inert (no mentions) by config.texts.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Callable

from bot.directory import display_name
from bot.errors import ApiError
from bot.events import MessageEvent, PostbackEvent, TextContent
from bot.replies import Buttons, MessageAction, Recipient, Reply, Text
from bot.text import one_line, squash
from config.vocabulary import ReportWords, default_vocabulary
from handlers import faq, records
from handlers.loss_words import is_found_message, is_loss_message, mentions_loss
from handlers.records import ReportStatus

log = logging.getLogger("handlers.lost_device")

FLOW = "lost_device"
IDLE = timedelta(minutes=30)
REPORTS_PER_DAY = 3  # per member, in any 24 hours

# The longest a report field is kept (characters, after one_line); the database allows at least this.
LIMITS = {"device": 100, "when_where": 500, "notes": 1000, "reporter_name": 200}

class Step(StrEnum):
    """Where a member is in filing a report; each step has its handler in STEPS."""

    DEVICE = "device"
    WHEN_WHERE = "when_where"
    SCREEN_LOCK = "screen_lock"
    NOTES = "notes"
    CONFIRM = "confirm"


DEVICES = ("phone", "tablet", "pc", "other")
LOCKS = ("yes", "no", "unknown")


normalise = squash  # commands and button texts compare as written, less width, case and spaces


def _said(event) -> tuple[str, str | None]:
    """The text and the hidden postback of a message, or a postback event's data."""
    if isinstance(event, MessageEvent) and isinstance(event.content, TextContent):
        return event.content.text, event.content.postback
    if isinstance(event, PostbackEvent):
        return "", event.data
    return "", None


def field(name: str, text: str | None) -> str:
    """A report field as it is kept and shown to others: one line, no control characters, limited."""
    return one_line(text, LIMITS[name])


def admin_recipients(settings) -> list[Recipient]:
    if settings.admin_channel_id:
        return [Recipient(channel_id=settings.admin_channel_id)]
    return [Recipient(user_id=admin) for admin in settings.admin_user_ids]


def _label(ctx, key: str) -> str:
    return ctx.texts(f"lost_device.{key}")


def _device_label(ctx, value: str) -> str:
    return _label(ctx, f"device_{value}") if value in DEVICES else value


def _lock_label(ctx, value: str) -> str:
    return _label(ctx, f"lock_{value}")


# -- the steps ------------------------------------------------------------------------------------

def _self_help(ctx) -> Text:
    return Text(ctx.texts("lost_device.self_help"))


def _ask_to_report(ctx) -> Buttons:
    return Buttons(ctx.texts("lost_device.ask_report"), (
        MessageAction(_label(ctx, "report_button"), postback="lost:start"),
        MessageAction(_label(ctx, "skip_button"), postback="lost:skip"),
    ))


def _ask_device(ctx) -> Buttons:
    return Buttons(ctx.texts("lost_device.ask_device"), tuple(
        MessageAction(_device_label(ctx, d), postback=f"lost:device:{d}") for d in DEVICES
    ) + (MessageAction(_label(ctx, "cancel_button"), postback="lost:cancel"),))


def _ask_screen_lock(ctx) -> Buttons:
    return Buttons(ctx.texts("lost_device.ask_screen_lock"), tuple(
        MessageAction(_lock_label(ctx, value), postback=f"lost:lock:{value}") for value in LOCKS
    ) + (MessageAction(_label(ctx, "cancel_button"), postback="lost:cancel"),))


def _ask_notes(ctx) -> Buttons:
    return Buttons(ctx.texts("lost_device.ask_notes"), (
        MessageAction(_label(ctx, "notes_none"), postback="lost:notes:none"),
        MessageAction(_label(ctx, "cancel_button"), postback="lost:cancel"),
    ))


def _summary(ctx, data: dict) -> Buttons:
    text = ctx.texts("lost_device.summary", device=_device_label(ctx, data["device"]),
                     when_where=data["when_where"], screen_lock=_lock_label(ctx, data["screen_lock"]),
                     notes=data["notes"])
    return Buttons(text, (
        MessageAction(_label(ctx, "submit_button"), postback="lost:submit"),
        MessageAction(_label(ctx, "cancel_button"), postback="lost:cancel"),
    ))


def _save(ctx, user_id: str, step: "Step", data: dict) -> None:
    ctx.records.conversations.save(user_id, FLOW, step, data, ctx.now, IDLE)


def _start(ctx, user_id: str) -> list[Reply]:
    _save(ctx, user_id, Step.DEVICE, {})
    return [Reply(_ask_device(ctx), to=Recipient(user_id=user_id))]


def _choice(text: str, data: str | None, prefix: str, allowed, typed: dict[str, str]) -> str | None:
    if data and data.startswith(prefix) and data[len(prefix):] in allowed:
        return data[len(prefix):]
    norm = normalise(text)
    for word, value in typed.items():
        if word in norm:
            return value
    return None


def words() -> ReportWords:
    """What members may type instead of pressing a button (config/vocabulary.yaml `report`)."""
    return default_vocabulary().report


def handle_conversation(event, ctx):
    if event.source.channel_id or not isinstance(event, (MessageEvent, PostbackEvent)):
        return None
    user_id = event.source.user_id
    conversation = ctx.records.conversations.get(user_id)
    if conversation is None or conversation.flow != FLOW:
        return None
    text, data = _said(event)
    if conversation.expires_at <= ctx.now:
        ctx.records.conversations.end(user_id)
        return [Reply(Text(ctx.texts("lost_device.expired")))]
    if data == "lost:cancel" or normalise(text) in words().cancel:
        ctx.records.conversations.end(user_id)
        ctx.records.audit.add(ctx.now, user_id, "report_cancelled", "cancelled", target=user_id)
        return [Reply(Text(ctx.texts("lost_device.cancelled")))]
    if not data and is_found_message(text) and not mentions_loss(text):
        # 「見つかりました！」 instead of an answer. A message that also talks about the loss
        # (「駅で落とした、見つかってない」) answers the question and is taken as the answer below.
        ctx.records.conversations.end(user_id)
        return [Reply(Text(ctx.texts("lost_device.found_while_reporting")))]

    try:
        step = Step(conversation.step)
    except ValueError:  # a step this version does not know: start over cleanly
        ctx.records.conversations.end(user_id)
        return _start(ctx, user_id)
    if _not_for_the_report(ctx, step, text, data):
        return None  # a button, a command or the menu: the other routes; the report waits (30 minutes)
    elsewhere = _other_question(ctx, step, text)
    if elsewhere:  # answered, with a word that the report is still waiting
        return [*faq.respond(ctx.services.faq.book, text), Reply(Text(ctx.texts("lost_device.still_reporting")))]
    return STEPS[step](event, ctx, Answer(user_id, text, data, dict(conversation.data)))


QUESTION_ENDINGS = ("?", "？", "ますか", "ですか", "でしょうか", "教えて", "知りたい")
CLEAR_ANSWER = 0.75  # the FAQ's score above which a question is clearly about something else
REPORT_TOPICS = ("security",)  # FAQ categories a report's own answers may sound like (lost, locked...)


def _not_for_the_report(ctx, step: "Step", text: str, data: str | None) -> bool:
    """Another button of the bot, a command or the menu, in the middle of a report."""
    if data:
        return not data.startswith("lost:")
    said = text.strip()
    if said.startswith("/") or said in _menu_labels(ctx):
        return True
    if _answers_the_step(step, said):
        return False
    library = ctx.services.faq if ctx.services is not None else None
    return library is not None and faq.browse_request(library.book, said, topic_only=False) is not None


def _answers_the_step(step: "Step", said: str) -> bool:
    """The words the step itself understands (a device, a screen lock, 「報告する」)."""
    if step == Step.DEVICE:
        return _choice(said, None, "lost:device:", DEVICES, words().typed_device) is not None
    if step == Step.SCREEN_LOCK:
        return _choice(said, None, "lost:lock:", LOCKS, words().typed_screen_lock) is not None
    return step == Step.CONFIRM and _submits(said, None)


def _other_question(ctx, step: "Step", text: str) -> bool:
    """A question the FAQ clearly answers, about something other than the report."""
    said = text.strip()
    library = ctx.services.faq if ctx.services is not None else None
    if library is None or not said or _answers_the_step(step, said):
        return False
    if not said.rstrip("。！!　 ").endswith(QUESTION_ENDINGS):
        return False
    book = library.book
    outcome = faq.classify(book, said)
    entry = book.by_id.get(outcome.entry_id) if outcome.entry_id else None
    return (outcome.kind == "answer" and entry is not None and entry.id != faq.LOST_DEVICE_ID
            and entry.category not in REPORT_TOPICS and outcome.score >= CLEAR_ANSWER)


def _menu_labels(ctx) -> set[str]:
    """The persistent menu's items other than the lost-device one."""
    return {ctx.texts(f"persistent_menu.{key}") for key in ("faq", "hours", "help")}


@dataclass(frozen=True)
class Answer:
    """What the member said at a step, and what the report holds so far."""

    user_id: str
    text: str
    data: str | None  # the button's postback, when a button was pressed
    state: dict


def _next(ctx, answer: Answer, step: Step, replies: list[Reply], **values) -> list[Reply]:
    """Keep the answer's values and move on to `step`."""
    _save(ctx, answer.user_id, step, {**answer.state, **values})
    return replies


def _on_device(event, ctx, answer: Answer) -> list[Reply]:
    device = _choice(answer.text, answer.data, "lost:device:", DEVICES, words().typed_device)
    if device is None and not answer.data:
        device = field("device", answer.text) or None  # typed something else: keep their words
    if device is None:
        return [Reply(Text(ctx.texts("lost_device.not_understood"))), Reply(_ask_device(ctx))]
    return _next(ctx, answer, Step.WHEN_WHERE, [Reply(Text(ctx.texts("lost_device.ask_when_where")))],
                 device=device)


def _on_when_where(event, ctx, answer: Answer) -> list[Reply]:
    when_where = field("when_where", answer.text)
    if not when_where:
        return [Reply(Text(ctx.texts("lost_device.ask_when_where")))]
    return _next(ctx, answer, Step.SCREEN_LOCK, [Reply(_ask_screen_lock(ctx))], when_where=when_where)


def _on_screen_lock(event, ctx, answer: Answer) -> list[Reply]:
    lock = _choice(answer.text, answer.data, "lost:lock:", LOCKS, words().typed_screen_lock)
    if lock is None:
        return [Reply(Text(ctx.texts("lost_device.not_understood"))), Reply(_ask_screen_lock(ctx))]
    return _next(ctx, answer, Step.NOTES, [Reply(_ask_notes(ctx))], screen_lock=lock)


def _on_notes(event, ctx, answer: Answer) -> list[Reply]:
    notes = "" if answer.data == "lost:notes:none" else field("notes", answer.text)
    state = {**answer.state, "notes": notes or _label(ctx, "notes_none")}
    _save(ctx, answer.user_id, Step.CONFIRM, state)
    return [Reply(_summary(ctx, state))]


def _on_confirm(event, ctx, answer: Answer) -> list[Reply]:
    if _submits(answer.text, answer.data):
        ctx.records.conversations.end(answer.user_id)
        return _submit(event, ctx, answer.state)
    return [Reply(Text(ctx.texts("lost_device.not_understood"))), Reply(_summary(ctx, answer.state))]


STEPS: dict[Step, Callable[..., list[Reply]]] = {
    Step.DEVICE: _on_device,
    Step.WHEN_WHERE: _on_when_where,
    Step.SCREEN_LOCK: _on_screen_lock,
    Step.NOTES: _on_notes,
    Step.CONFIRM: _on_confirm,
}


def _reporter_name(ctx, user_id: str) -> str | None:
    try:
        return field("reporter_name", display_name(ctx.services.directory.get_user(user_id))) or None
    except ApiError as exc:
        log.warning("directory look-up for a report failed: %s %s", exc.status, exc.code)
        return None


def _submits(text: str, data: str | None) -> bool:
    """The answer that files the report at the last step (the button, or the words typed)."""
    return data == "lost:submit" or normalise(text) in words().submit


def members_named(event, read) -> list[tuple[str, bool]]:
    """The reporter, when this event may file their report (their name goes into it). Only an event
    that could file it reads the conversation: not every message."""
    user_id = event.source.user_id
    if not user_id or not isinstance(event, (MessageEvent, PostbackEvent)) or not _submits(*_said(event)):
        return []
    conversation = read(lambda conn: records.get_conversation(conn, user_id))
    return [(user_id, False)] if conversation and conversation.step == Step.CONFIRM else []


def _submit(event, ctx, state: dict) -> list[Reply]:
    user_id = event.source.user_id
    # Each report alerts every administrator and must be delivered: one member cannot file without end.
    if ctx.records.reports.filed_since(user_id, ctx.now - timedelta(days=1)) >= REPORTS_PER_DAY:
        ctx.records.audit.add(ctx.now, user_id, "report_refused", f"more than {REPORTS_PER_DAY} in a day",
                      target=user_id)
        return [Reply(Text(ctx.texts("lost_device.too_many_reports", count=REPORTS_PER_DAY)))]
    name = _reporter_name(ctx, user_id)
    # Normalised again: a conversation saved by an earlier version may hold raw answers.
    report_id = ctx.records.reports.create(user_id, name, field("device", _device_label(ctx, state["device"])),
                                      field("when_where", state["when_where"]), _lock_label(ctx, state["screen_lock"]),
                                      field("notes", state["notes"]), ctx.now)
    number = records.report_number(report_id)
    ctx.records.audit.add(ctx.now, user_id, "report_filed", "open", target=user_id, report_id=report_id)
    log.info("lost-device report %s filed by %s", number, user_id)
    replies = [Reply(Text(ctx.texts("lost_device.submitted", number=number)))]
    return replies + admin_notice_for_report(ctx, ctx.records.reports.get(report_id))


def admin_notice_for_report(ctx, report) -> list[Reply]:
    number = records.report_number(report.id)
    # Shown as one line each whatever is stored (a report filed by an earlier version may hold line
    # breaks); ctx.texts makes every value inert, so no field can mention anyone in the admin room.
    text = ctx.texts("admin.notice_new_report", number=number,
                     name=field("reporter_name", report.reporter_name) or ctx.texts("admin.unknown_name"),
                     user_id=report.reporter_id, device=field("device", report.device),
                     when_where=field("when_where", report.lost_when_where),
                     screen_lock=report.screen_lock, notes=field("notes", report.notes),
                     created=ctx.now.strftime("%Y-%m-%d %H:%M"))
    buttons = Buttons(text, (
        MessageAction(ctx.texts("admin.lockout_button"), postback=f"admin:lockout:{report.id}"),
        MessageAction(ctx.texts("admin.resolve_button"), postback=f"admin:resolve:{report.id}"),
    ))
    # Must arrive even if LINE WORKS is failing right now, and at any hour: retried until delivered.
    return [Reply(buttons, to=to, urgent=True, must_deliver=True) for to in admin_recipients(ctx.settings)]


def handle_found(event, ctx):
    """The phone is back: close the person's open report and tell the administrators. Only in the 1:1
    talk: in a group room the same short pointer to the 1:1 talk is all anyone gets, report or not, so
    the room learns neither the report number nor the account state, and nothing is changed from there."""
    text, _ = _said(event)
    if not text or not is_found_message(text):
        return None
    if event.source.channel_id:
        return [Reply(Text(ctx.texts("lost_device.found_in_group")))]
    user_id = event.source.user_id
    report = ctx.records.reports.open_for(user_id)
    if report is None:
        return [Reply(Text(ctx.texts("lost_device.found_no_report")))]
    number = records.report_number(report.id)
    ctx.records.reports.set_status(report.id, ReportStatus.FOUND, ctx.now)
    ctx.records.audit.add(ctx.now, user_id, "report_found", "found", target=user_id, report_id=report.id)
    name = field("reporter_name", report.reporter_name) or user_id
    if report.status == ReportStatus.LOCKED_OUT:  # offer the unlock as a button, not a command to type
        notice = Buttons(ctx.texts("admin.notice_found_locked", number=number, name=name),
                         (MessageAction(ctx.texts("admin.unlock_button"), postback=f"admin:unlock:{report.id}"),))
    else:
        notice = Text(ctx.texts("admin.notice_found", number=number, name=name))
    return [Reply(Text(ctx.texts("lost_device.found_thanks", number=number)))] + [
        Reply(notice, to=to, urgent=True, must_deliver=True) for to in admin_recipients(ctx.settings)
    ]


def handle_entry(event, ctx):
    text, data = _said(event)
    user_id = event.source.user_id
    if not user_id:
        return None
    norm = normalise(text)
    if data == "lost:skip":
        return [Reply(Text(ctx.texts("lost_device.skipped")))]
    if data == "lost:start" or norm in words().start:
        if event.source.channel_id:
            return _in_group(ctx, user_id, start=True)
        # Pressing "report" follows the self-help already shown; a typed command has not seen it yet.
        first = [] if data == "lost:start" else [Reply(_self_help(ctx))]
        return first + _start(ctx, user_id)
    if norm in words().entry_menu or is_loss_message(text):
        return loss_help(event, ctx)
    return None


def loss_help(event, ctx) -> list[Reply]:
    """What a message about a lost phone gets: the steps to take now, then the offer to report.
    The FAQ hands such messages here too, whatever words they use."""
    if event.source.channel_id:
        return _in_group(ctx, event.source.user_id, start=False)
    return [Reply(_self_help(ctx)), Reply(_ask_to_report(ctx))]


def _in_group(ctx, user_id: str, start: bool) -> list[Reply]:
    """In a group room: short answer there; the details are asked in the 1:1 talk."""
    private = Recipient(user_id=user_id)
    replies = [Reply(Text(ctx.texts("lost_device.in_group"))), Reply(_self_help(ctx), to=private)]
    if start:
        return replies + _start(ctx, user_id)
    return replies + [Reply(_ask_to_report(ctx), to=private)]


def expire_idle(ctx) -> list[Reply]:
    """Periodic: drop reports idle for 30 minutes and tell the person."""
    replies = []
    for conversation in ctx.records.conversations.take_expired(ctx.now):
        if conversation.flow != FLOW:
            continue
        ctx.records.audit.add(ctx.now, conversation.user_id, "report_expired", "expired after 30 min idle",
                      target=conversation.user_id)
        replies.append(Reply(Text(ctx.texts("lost_device.expired")), to=Recipient(user_id=conversation.user_id)))
    return replies
