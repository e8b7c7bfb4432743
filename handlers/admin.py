"""Administrator commands in the talk: lock a lost device's account out, reports, audit log.

Who may use them: the user ids (or emails) in BOT_ADMIN_USER_IDS, and, if the operator turns on
BOT_ADMINS_FROM_DIRECTORY, LINE WORKS administrators from the directory. Where: a 1:1 talk with the
bot or the admin room (BOT_ADMIN_CHANNEL_ID); never another group room, which would leak report
details. Every attempt, allowed or refused, is written to the audit log.

Account changes are not made here: a confirmed command queues an account action that the worker
runs (force-logout, suspend, unsuspend), and its outcome comes back as an internal event, handled by
`handle_action_done`, which tells the administrator exactly what did and did not take effect.
"""
from __future__ import annotations

import json
import secrets
import unicodedata
from datetime import timedelta
from typing import Callable

from bot import records
from bot.client import ApiError
from bot.directory import display_name
from bot.events import InternalEvent, MessageEvent, PostbackEvent, TextContent
from bot.replies import Buttons, MessageAction, Recipient, Reply, Text
from bot.store import as_aware

CONFIRM_TTL = timedelta(minutes=10)
ACTION_GIVE_UP = timedelta(minutes=10)
STEPS = {"lockout": ["force_logout", "suspend"], "logout": ["force_logout"], "unlock": ["unsuspend"]}
KIND_LABEL = {"lockout": "ロックアウト", "logout": "強制ログアウト", "unlock": "一時停止の解除"}
PASSWORD_URL = "https://guide.worksmobile.com/ja/admin/admin-guide/manage-members/members/members-information/"
DEVICE_MANAGEMENT_URL = "https://guide.worksmobile.com/jp/settings/settings-guide/remote-device-management/"

# Extra commands other features register: name -> (handler(args, event, ctx) -> replies, help line)
ExtraCommand = tuple[Callable, str]


class AdminPolicy:
    def __init__(self, settings, directory):
        self.ids = {a.lower() for a in settings.admin_user_ids}
        self.from_directory = settings.admin_from_directory
        self.directory = directory

    def is_admin(self, user_id: str | None) -> bool:
        if not user_id:
            return False
        if user_id.lower() in self.ids:
            return True
        needs_lookup = self.from_directory or any("@" in a for a in self.ids)
        if not needs_lookup:
            return False
        user = self.directory.get_user(user_id)
        if not user:
            return False
        if (user.get("email") or "").lower() in self.ids:
            return True
        return self.from_directory and bool(user.get("isAdministrator"))


def parse_command(event) -> tuple[str, list[str]] | None:
    """'/lockout a@b 理由' -> ('lockout', ['a@b', '理由']); button postbacks 'admin:verb:arg' too."""
    if isinstance(event, MessageEvent) and isinstance(event.content, TextContent):
        postback = event.content.postback or ""
        if postback.startswith("admin:"):
            _, verb, arg = (postback.split(":", 2) + [""])[:3]
            return f"@{verb}", [arg]
        text = unicodedata.normalize("NFKC", event.content.text).strip()
        if text.startswith("/") and len(text) > 1:
            head, *rest = text[1:].split(None, 1)
            return head.lower(), rest[0].split(None) if rest else []
    if isinstance(event, PostbackEvent) and event.data.startswith("admin:"):
        _, verb, arg = (event.data.split(":", 2) + [""])[:3]
        return f"@{verb}", [arg]
    return None


def handle(event, ctx):
    command = parse_command(event)
    if command is None:
        return None
    name, args = command
    extras: dict[str, ExtraCommand] = ctx.services.get("admin_commands", {})
    user_id = event.source.user_id or "-"
    known = name in COMMANDS or name in extras
    policy: AdminPolicy = ctx.services["admins"]
    try:
        allowed = policy.is_admin(user_id)
    except ApiError as exc:
        return [Reply(Text(ctx.texts("admin.directory_unavailable", reason=f"{exc.status or exc.code}")))]
    if not known:
        if not allowed:
            return None  # an ordinary message that happens to start with "/": let the FAQ answer
        return [Reply(Text(ctx.texts("admin.unknown_command", command="/" + name)))]
    channel = event.source.channel_id
    if channel and channel != ctx.settings.admin_channel_id:
        records.audit(ctx.tx, ctx.now, user_id, f"refused:{name}", "group room", target=channel)
        return [Reply(Text(ctx.texts("admin.refused_group_room")))]
    if not allowed:
        records.audit(ctx.tx, ctx.now, user_id, f"refused:{name}", "not an administrator")
        return [Reply(Text(ctx.texts("admin.refused_not_admin")))]
    if name in extras:
        records.audit(ctx.tx, ctx.now, user_id, f"command:{name}", "ok", target=" ".join(args)[:200] or None)
        return extras[name][0](args, event, ctx)
    return COMMANDS[name](args, event, ctx)


# -- lockout / logout / unlock --------------------------------------------------------------------

def _reply_place(event) -> tuple[str, str]:
    if event.source.channel_id:
        return "channel", event.source.channel_id
    return "user", event.source.user_id


def _resolve_target(ctx, who: str):
    """(user, error replies): the directory entry for an id or email."""
    try:
        user = ctx.services["directory"].get_user(who, fresh=True)
    except ApiError as exc:
        return None, [Reply(Text(ctx.texts("admin.directory_unavailable", reason=f"{exc.status or exc.code}")))]
    if user is None:
        return None, [Reply(Text(ctx.texts("admin.user_not_found", who=who)))]
    return user, []


def _target_label(user: dict) -> str:
    return f"{display_name(user)}（{user.get('email') or user.get('userId')}）"


def _lockout(args, event, ctx, report_id: int | None = None):
    if not args:
        return [Reply(Text(ctx.texts("admin.usage", usage="/lockout <ユーザーIDかメール> [理由]")))]
    user, errors = _resolve_target(ctx, args[0])
    if errors:
        records.audit(ctx.tx, ctx.now, event.source.user_id, "lockout_requested", "target not resolved",
                      target=args[0])
        return errors
    target = user["userId"]
    if report_id is None:
        open_report = records.open_report_for(ctx.tx, target)
        report_id = open_report.id if open_report else None
    reason = " ".join(args[1:]) or (f"紛失報告 {records.report_number(report_id)}" if report_id else "（なし）")
    token = secrets.token_hex(8)
    kind, place = _reply_place(event)
    label = _target_label(user)
    records.create_confirmation(ctx.tx, token, "lockout", event.source.user_id, target, label, reason, report_id,
                                kind, place, ctx.now, CONFIRM_TTL)
    records.audit(ctx.tx, ctx.now, event.source.user_id, "lockout_requested", "awaiting confirmation",
                  target=target, report_id=report_id)
    state = ctx.texts("admin.state_suspended" if user.get("isSuspended") else "admin.state_active")
    report = ctx.texts("admin.report_link", number=records.report_number(report_id)) if report_id else ""
    text = ctx.texts("admin.lockout_confirm", label=label, state=state, report=report, reason=reason)
    return [Reply(Buttons(text, (
        MessageAction(ctx.texts("admin.lockout_execute"), postback=f"admin:confirm:{token}"),
        MessageAction(ctx.texts("admin.cancel_button"), postback=f"admin:cancel:{token}"),
    )))]


def _queue(ctx, event, kind: str, user: dict, reason: str | None, report_id: int | None) -> list[Reply]:
    place_kind, place = _reply_place(event)
    label = _target_label(user)
    action_id = records.queue_account_action(ctx.tx, kind, STEPS[kind], user["userId"], label,
                                             event.source.user_id, reason, report_id, place_kind, place,
                                             ctx.now, ACTION_GIVE_UP)
    records.audit(ctx.tx, ctx.now, event.source.user_id, f"{kind}_started", f"action {action_id}",
                  target=user["userId"], report_id=report_id)
    return [Reply(Text(ctx.texts("admin.running", label=label)))]


def _direct_action(kind: str, usage: str):
    """/logout and /unlock run at once: both are easy to undo, so no confirmation step."""
    def run(args, event, ctx):
        if not args:
            return [Reply(Text(ctx.texts("admin.usage", usage=usage)))]
        user, errors = _resolve_target(ctx, args[0])
        if errors:
            records.audit(ctx.tx, ctx.now, event.source.user_id, f"{kind}_requested", "target not resolved",
                          target=args[0])
            return errors
        report = records.open_report_for(ctx.tx, user["userId"])
        return _queue(ctx, event, kind, user, " ".join(args[1:]) or None, report.id if report else None)
    return run


def _confirm(args, event, ctx):
    token = args[0] if args else ""
    admin = event.source.user_id
    confirmation = records.get_confirmation(ctx.tx, token)
    if confirmation is None:
        records.audit(ctx.tx, ctx.now, admin, "confirm_refused", "unknown confirmation")
        return [Reply(Text(ctx.texts("admin.confirm_unknown")))]
    target = confirmation.target_user_id
    if confirmation.admin_id != admin:
        records.audit(ctx.tx, ctx.now, admin, "confirm_refused", "started by another administrator", target=target)
        return [Reply(Text(ctx.texts("admin.confirm_not_yours")))]
    if confirmation.used_at is not None:
        records.audit(ctx.tx, ctx.now, admin, "confirm_refused", "already used", target=target)
        return [Reply(Text(ctx.texts("admin.confirm_used")))]
    if as_aware(confirmation.expires_at) <= ctx.now:
        records.audit(ctx.tx, ctx.now, admin, "confirm_refused", "expired", target=target)
        return [Reply(Text(ctx.texts("admin.confirm_expired")))]
    if not records.use_confirmation(ctx.tx, token, ctx.now):
        return [Reply(Text(ctx.texts("admin.confirm_used")))]
    records.audit(ctx.tx, ctx.now, admin, "lockout_confirmed", "confirmed", target=target,
                  report_id=confirmation.report_id)
    action_id = records.queue_account_action(
        ctx.tx, "lockout", STEPS["lockout"], target, confirmation.target_label, admin, confirmation.reason,
        confirmation.report_id, confirmation.reply_kind, confirmation.reply_id, ctx.now, ACTION_GIVE_UP)
    records.audit(ctx.tx, ctx.now, admin, "lockout_started", f"action {action_id}", target=target,
                  report_id=confirmation.report_id)
    return [Reply(Text(ctx.texts("admin.running", label=confirmation.target_label)))]


def _cancel(args, event, ctx):
    token = args[0] if args else ""
    confirmation = records.get_confirmation(ctx.tx, token)
    if confirmation is None or confirmation.admin_id != event.source.user_id or confirmation.used_at:
        return [Reply(Text(ctx.texts("admin.confirm_unknown")))]
    records.use_confirmation(ctx.tx, token, ctx.now)
    records.audit(ctx.tx, ctx.now, event.source.user_id, "lockout_cancelled", "cancelled",
                  target=confirmation.target_user_id, report_id=confirmation.report_id)
    return [Reply(Text(ctx.texts("admin.confirm_cancelled")))]


def _why(ctx, result: dict) -> str:
    status = result.get("status")
    if status == 404:
        return ctx.texts("admin.why_404")
    if status == 400 and result["step"] == "suspend":
        return ctx.texts("admin.why_400_suspend")
    if status == 403:
        return ctx.texts("admin.why_403")
    if status == 429:
        return ctx.texts("admin.why_429")
    if status is None:
        return ctx.texts("admin.why_timeout")
    return ctx.texts("admin.why_other", status=status, code=result.get("code", ""))


def handle_action_done(event, ctx):
    """An account action finished (or gave up): tell the administrator the truth, step by step."""
    if not isinstance(event, InternalEvent) or event.type != "account_action_done":
        return None
    action = records.get_account_action(ctx.tx, int(event.payload["actionId"]))
    if action is None:
        return []
    results = json.loads(action.results)
    lines = [ctx.texts("admin.result_header", kind=KIND_LABEL[action.kind], label=action.target_label)]
    for index, step in enumerate(json.loads(action.steps)):
        name = ctx.texts(f"admin.step_{step}")
        if index >= len(results):
            lines.append(f"{name}: {ctx.texts('admin.step_skipped')}")
            continue
        result = results[index]
        if result["ok"]:
            outcome = ctx.texts("admin.step_ok")
        elif result["ok"] is None:
            outcome = ctx.texts("admin.step_unknown", why=_why(ctx, result))
        else:
            outcome = ctx.texts("admin.step_failed", why=_why(ctx, result))
        lines.append(f"{name}: {outcome}")
    done = {r["step"] for r in results if r["ok"]}
    if "force_logout" in done:
        lines.append(ctx.texts("admin.logout_delay"))
    if action.kind == "lockout":
        lines.append(ctx.texts("admin.console_only", password_url=PASSWORD_URL, mdm_url=DEVICE_MANAGEMENT_URL))
    if action.kind == "unlock":
        lines.append(ctx.texts("admin.unlock_reminder", password_url=PASSWORD_URL))
    all_ok = len(results) == len(json.loads(action.steps)) and all(r["ok"] for r in results)
    summary = ", ".join(f"{r['step']}={'ok' if r['ok'] else ('unknown' if r['ok'] is None else r.get('status'))}"
                        for r in results) or "nothing done"
    records.audit(ctx.tx, ctx.now, action.requested_by, f"{action.kind}_result", summary,
                  target=action.target_user_id, report_id=action.report_id)
    place = Recipient(channel_id=action.reply_id) if action.reply_kind == "channel" else Recipient(user_id=action.reply_id)
    replies = [Reply(Text("\n".join(lines)), to=place, urgent=True, must_deliver=True)]
    if action.kind == "lockout" and all_ok and action.report_id:
        report = records.get_report(ctx.tx, action.report_id)
        if report and report.status == "open":
            records.set_report_status(ctx.tx, report.id, "locked_out", ctx.now)
            replies.append(Reply(Text(ctx.texts("lost_device.reporter_locked_out",
                                                number=records.report_number(report.id))),
                                 to=Recipient(user_id=report.reporter_id), must_deliver=True))
    return replies


# -- reports and audit ----------------------------------------------------------------------------

def _local(ctx, moment) -> str:
    return as_aware(moment).astimezone(ctx.settings.tz).strftime("%m/%d %H:%M")


def _report_from_args(args, ctx):
    report_id = records.parse_report_number(args[0]) if args else None
    return records.get_report(ctx.tx, report_id) if report_id else None


def _reports(args, event, ctx):
    which = (args[0].lower() if args else "open")
    rows = records.list_reports(ctx.tx, only_open=which != "all")
    if not rows:
        return [Reply(Text(ctx.texts("admin.no_reports")))]
    lines = [ctx.texts("admin.reports_header", which="すべて" if which == "all" else "未完了")]
    lines += [ctx.texts("admin.report_line", number=records.report_number(r.id), status=ctx.texts(f"status.{r.status}"),
                        created=_local(ctx, r.created_at), name=r.reporter_name or r.reporter_id, device=r.device)
              for r in rows]
    records.audit(ctx.tx, ctx.now, event.source.user_id, "command:reports", f"{len(rows)} listed")
    return [Reply(Text("\n".join(lines)))]


def _report(args, event, ctx):
    report = _report_from_args(args, ctx)
    if report is None:
        return [Reply(Text(ctx.texts("admin.report_not_found", number=args[0] if args else "?")))]
    closing = ""
    if report.closed_by:
        closing = f"対応: {report.closed_by} {report.close_note or ''}".strip()
    text = ctx.texts("admin.report_detail", number=records.report_number(report.id),
                     status=ctx.texts(f"status.{report.status}"), name=report.reporter_name or "（名前不明）",
                     user_id=report.reporter_id, device=report.device, when_where=report.lost_when_where,
                     screen_lock=report.screen_lock, notes=report.notes, created=_local(ctx, report.created_at),
                     closing=closing)
    records.audit(ctx.tx, ctx.now, event.source.user_id, "command:report", "shown", report_id=report.id)
    buttons = (MessageAction(ctx.texts("admin.lockout_button"), postback=f"admin:lockout:{report.id}"),
               MessageAction(ctx.texts("admin.resolve_button"), postback=f"admin:resolve:{report.id}"))
    if report.status == "resolved":
        return [Reply(Text(text))]
    return [Reply(Buttons(text, buttons))]


def _resolve(args, event, ctx):
    report = _report_from_args(args, ctx)
    if report is None:
        return [Reply(Text(ctx.texts("admin.report_not_found", number=args[0] if args else "?")))]
    number = records.report_number(report.id)
    if report.status == "resolved":
        return [Reply(Text(ctx.texts("admin.already_resolved", number=number)))]
    note = " ".join(args[1:])
    records.set_report_status(ctx.tx, report.id, "resolved", ctx.now, by=event.source.user_id, note=note or None)
    records.audit(ctx.tx, ctx.now, event.source.user_id, "report_resolved", "resolved",
                  target=report.reporter_id, report_id=report.id)
    return [Reply(Text(ctx.texts("admin.resolved", number=number))),
            Reply(Text(ctx.texts("lost_device.reporter_resolved", number=number, note=note)),
                  to=Recipient(user_id=report.reporter_id), must_deliver=True)]


def _audit(args, event, ctx):
    try:
        count = max(1, min(50, int(args[0]))) if args else 10
    except ValueError:
        return [Reply(Text(ctx.texts("admin.usage", usage="/audit [件数]")))]
    rows = records.recent_audit(ctx.tx, count)
    records.audit(ctx.tx, ctx.now, event.source.user_id, "command:audit", f"{len(rows)} shown")
    if not rows:
        return [Reply(Text(ctx.texts("admin.audit_empty")))]
    lines = [ctx.texts("admin.audit_header", count=len(rows))]
    lines += [ctx.texts("admin.audit_line", at=_local(ctx, r.at), actor=r.actor_id, action=r.action,
                        target=r.target or "-", result=r.result) for r in rows]
    return [Reply(Text("\n".join(lines)))]


def _help(args, event, ctx):
    extras: dict[str, ExtraCommand] = ctx.services.get("admin_commands", {})
    lines = [ctx.texts("admin.help")] + [line for _, line in extras.values() if line]
    return [Reply(Text("\n".join(lines)))]


def _button_lockout(args, event, ctx):
    report = _report_from_args(args, ctx)
    if report is None:
        return [Reply(Text(ctx.texts("admin.report_not_found", number=args[0] if args else "?")))]
    return _lockout([report.reporter_id], event, ctx, report_id=report.id)


COMMANDS: dict[str, Callable] = {
    "lockout": _lockout,
    "logout": _direct_action("logout", "/logout <ユーザーIDかメール>"),
    "unlock": _direct_action("unlock", "/unlock <ユーザーIDかメール>"),
    "reports": _reports,
    "report": _report,
    "resolve": _resolve,
    "audit": _audit,
    "help": _help,
    "@confirm": _confirm,
    "@cancel": _cancel,
    "@lockout": _button_lockout,
    "@resolve": _resolve,
}
