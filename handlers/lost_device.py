"""Lost or stolen device: self-help at once, then a short report conversation, then the admins.

Routes (wired in bot/app.py, in this order among the others):
- `handle_conversation`: the next answer of a report in progress (state stored, so a restart keeps it);
- `handle_found`: "見つかった" from someone with an open report;
- `handle_entry`: free text about a lost phone, the menu item, or the "紛失報告" command.
`expire_idle` is a periodic task: a report left idle for 30 minutes is dropped with a note.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from bot import records
from bot.client import ApiError
from bot.directory import display_name
from bot.events import MessageEvent, PostbackEvent, TextContent
from bot.replies import Buttons, MessageAction, Recipient, Reply, Text
from bot.text import squash
from handlers.loss_words import is_loss_message

log = logging.getLogger("handlers.lost_device")

FLOW = "lost_device"
IDLE = timedelta(minutes=30)
SELF_HELP_URL = "https://help.worksmobile.com/jp/topic/common/account/check-access-log-of-my-account/"

START_NOW = {"紛失報告", "紛失を報告", "紛失を報告する", "紛失報告する", "紛失の報告", "/lost"}
ENTRY_MENU = {"端末をなくした", "スマホをなくした"}
CANCEL = {"キャンセル", "きゃんせる", "やめる", "やめます", "中止", "取り消し", "cancel"}
FOUND_WORDS = ("見つかった", "見つかりました", "みつかった", "みつかりました", "見つけた", "出てきた",
               "でてきた", "戻ってきた", "発見")

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


def is_found_message(text: str) -> bool:
    norm = normalise(text)
    return len(norm) <= 20 and any(w in norm for w in FOUND_WORDS)


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
    return Text(ctx.texts("lost_device.self_help", self_help_url=SELF_HELP_URL))


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


def _save(ctx, user_id: str, step: str, data: dict) -> None:
    records.save_conversation(ctx.tx, user_id, FLOW, step, data, ctx.now, IDLE)


def _start(ctx, user_id: str) -> list[Reply]:
    _save(ctx, user_id, "device", {})
    return [Reply(_ask_device(ctx), to=Recipient(user_id=user_id))]


def _choice(text: str, data: str | None, prefix: str, allowed, typed: dict[str, str]) -> str | None:
    if data and data.startswith(prefix) and data[len(prefix):] in allowed:
        return data[len(prefix):]
    norm = normalise(text)
    for word, value in typed.items():
        if word in norm:
            return value
    return None


TYPED_LOCK = {"わからな": "unknown", "分からな": "unknown", "不明": "unknown", "していなかった": "no",
              "してなかった": "no", "いいえ": "no", "なし": "no", "設定してい": "yes", "はい": "yes", "あり": "yes"}
TYPED_DEVICE = {"タブレット": "tablet", "ipad": "tablet", "パソコン": "pc", "pc": "pc", "ノート": "pc",
                "スマホ": "phone", "スマートフォン": "phone", "携帯": "phone", "iphone": "phone",
                "android": "phone"}


def handle_conversation(event, ctx):
    if event.source.channel_id or not isinstance(event, (MessageEvent, PostbackEvent)):
        return None
    user_id = event.source.user_id
    conversation = records.get_conversation(ctx.tx, user_id)
    if conversation is None or conversation.flow != FLOW:
        return None
    text, data = _said(event)
    if conversation.expires_at <= ctx.now:
        records.end_conversation(ctx.tx, user_id)
        return [Reply(Text(ctx.texts("lost_device.expired")))]
    if data == "lost:cancel" or normalise(text) in CANCEL:
        records.end_conversation(ctx.tx, user_id)
        records.audit(ctx.tx, ctx.now, user_id, "report_cancelled", "cancelled", target=user_id)
        return [Reply(Text(ctx.texts("lost_device.cancelled")))]
    if is_found_message(text):
        records.end_conversation(ctx.tx, user_id)
        return [Reply(Text(ctx.texts("lost_device.found_while_reporting")))]

    state = dict(conversation.data)
    step = conversation.step
    if step == "device":
        device = _choice(text, data, "lost:device:", DEVICES, TYPED_DEVICE)
        if device is None and text.strip() and not data:
            device = text.strip()[:100]  # typed something else: keep their words
        if device is None:
            return [Reply(Text(ctx.texts("lost_device.not_understood"))), Reply(_ask_device(ctx))]
        state["device"] = device
        _save(ctx, user_id, "when_where", state)
        return [Reply(Text(ctx.texts("lost_device.ask_when_where")))]
    if step == "when_where":
        if not text.strip():
            return [Reply(Text(ctx.texts("lost_device.ask_when_where")))]
        state["when_where"] = text.strip()[:500]
        _save(ctx, user_id, "screen_lock", state)
        return [Reply(_ask_screen_lock(ctx))]
    if step == "screen_lock":
        lock = _choice(text, data, "lost:lock:", LOCKS, TYPED_LOCK)
        if lock is None:
            return [Reply(Text(ctx.texts("lost_device.not_understood"))), Reply(_ask_screen_lock(ctx))]
        state["screen_lock"] = lock
        _save(ctx, user_id, "notes", state)
        return [Reply(_ask_notes(ctx))]
    if step == "notes":
        if data == "lost:notes:none" or not text.strip():
            state["notes"] = _label(ctx, "notes_none")
        else:
            state["notes"] = text.strip()[:1000]
        _save(ctx, user_id, "confirm", state)
        return [Reply(_summary(ctx, state))]
    if step == "confirm":
        if data == "lost:submit" or normalise(text) in {"この内容で報告する", "報告する", "はい", "送信"}:
            records.end_conversation(ctx.tx, user_id)
            return _submit(event, ctx, state)
        return [Reply(Text(ctx.texts("lost_device.not_understood"))), Reply(_summary(ctx, state))]
    records.end_conversation(ctx.tx, user_id)  # a step this version does not know: start over cleanly
    return _start(ctx, user_id)


def _reporter_name(ctx, user_id: str) -> str | None:
    try:
        return display_name(ctx.services["directory"].get_user(user_id)) or None
    except ApiError as exc:
        log.warning("directory look-up for a report failed: %s %s", exc.status, exc.code)
        return None


def _submit(event, ctx, state: dict) -> list[Reply]:
    user_id = event.source.user_id
    name = _reporter_name(ctx, user_id)
    report_id = records.create_report(ctx.tx, user_id, name, _device_label(ctx, state["device"]),
                                      state["when_where"], _lock_label(ctx, state["screen_lock"]),
                                      state["notes"], ctx.now)
    number = records.report_number(report_id)
    records.audit(ctx.tx, ctx.now, user_id, "report_filed", "open", target=user_id, report_id=report_id)
    log.info("lost-device report %s filed by %s", number, user_id)
    replies = [Reply(Text(ctx.texts("lost_device.submitted", number=number)))]
    return replies + admin_notice_for_report(ctx, records.get_report(ctx.tx, report_id))


def admin_notice_for_report(ctx, report) -> list[Reply]:
    number = records.report_number(report.id)
    text = ctx.texts("admin.notice_new_report", number=number, name=report.reporter_name or "（名前不明）",
                     user_id=report.reporter_id, device=report.device, when_where=report.lost_when_where,
                     screen_lock=report.screen_lock, notes=report.notes,
                     created=ctx.now.strftime("%Y-%m-%d %H:%M"))
    buttons = Buttons(text, (
        MessageAction(ctx.texts("admin.lockout_button"), postback=f"admin:lockout:{report.id}"),
        MessageAction(ctx.texts("admin.resolve_button"), postback=f"admin:resolve:{report.id}"),
    ))
    # Must arrive even if LINE WORKS is failing right now, and at any hour: retried until delivered.
    return [Reply(buttons, to=to, urgent=True, must_deliver=True) for to in admin_recipients(ctx.settings)]


def handle_found(event, ctx):
    text, _ = _said(event)
    if not text or not is_found_message(text):
        return None
    user_id = event.source.user_id
    report = records.open_report_for(ctx.tx, user_id)
    if report is None:
        return [Reply(Text(ctx.texts("lost_device.found_no_report")))]
    number = records.report_number(report.id)
    records.set_report_status(ctx.tx, report.id, "found", ctx.now)
    records.audit(ctx.tx, ctx.now, user_id, "report_found", "found", target=user_id, report_id=report.id)
    notice = ctx.texts("admin.notice_found", number=number, name=report.reporter_name or user_id, user_id=user_id)
    return [Reply(Text(ctx.texts("lost_device.found_thanks", number=number)))] + [
        Reply(Text(notice), to=to, urgent=True, must_deliver=True) for to in admin_recipients(ctx.settings)
    ]


def handle_entry(event, ctx):
    text, data = _said(event)
    user_id = event.source.user_id
    if not user_id:
        return None
    norm = normalise(text)
    if data == "lost:skip":
        return [Reply(Text(ctx.texts("lost_device.skipped")))]
    if data == "lost:start" or norm in START_NOW:
        if event.source.channel_id:
            return _in_group(ctx, user_id, start=True)
        # Pressing "report" follows the self-help already shown; a typed command has not seen it yet.
        first = [] if data == "lost:start" else [Reply(_self_help(ctx))]
        return first + _start(ctx, user_id)
    if norm in ENTRY_MENU or is_loss_message(text):
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
    for conversation in records.take_expired_conversations(ctx.tx, ctx.now):
        if conversation.flow != FLOW:
            continue
        records.audit(ctx.tx, ctx.now, conversation.user_id, "report_expired", "expired after 30 min idle",
                      target=conversation.user_id)
        replies.append(Reply(Text(ctx.texts("lost_device.expired")), to=Recipient(user_id=conversation.user_id)))
    return replies
