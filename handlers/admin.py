"""Administrator commands in the talk: lock a lost device's account out, reports, audit log.

Who may use them: the user ids (or emails) in BOT_ADMIN_USER_IDS, and, if the operator turns on
BOT_ADMINS_FROM_DIRECTORY, LINE WORKS administrators from the directory. Where: a 1:1 talk with the
bot or the admin room (BOT_ADMIN_CHANNEL_ID); never another group room, which would leak report
details. Every attempt, allowed or refused, is written to the audit log.

Account changes are not made here: a confirmed command queues an account action that the worker
runs (force-logout, suspend, unsuspend), and its outcome comes back as an internal event, handled by
`handle_action_done`, which tells the administrator exactly what did and did not take effect.

Guardrails on the target of /lockout, /logout and /unlock (`_resolve_target`), before any API call
or write: it must look like a user id or an email and fit the database column; an administrator
cannot lock out or log out their own account (nobody might be left to /unlock); LINE WORKS
administrators (or members whose role the directory does not tell) are left to the admin console.
/lockout always asks for confirmation; /logout does when the target is a bot administrator, and
/unlock when the suspension was not made through the bot. When a bot administrator is logged out or
suspended, every bot administrator is told.
"""
from __future__ import annotations

import json
import logging
import secrets
import unicodedata
from datetime import timedelta
from typing import Callable

from bot.account_actions import get_account_action, queue_account_action
from bot.directory import USER_REF_MAX_LENGTH, display_name, tenant_admin_flag, user_ref_problem
from bot.errors import ApiError
from bot.events import InternalEvent, MessageEvent, PostbackEvent, TextContent
from bot.replies import Buttons, MessageAction, Recipient, Reply, Text
from bot.store import as_aware
from handlers import records
from handlers.lost_device import admin_recipients
from handlers.records import ReportStatus
from handlers.services import AdminCommand

log = logging.getLogger("handlers.admin")

CONFIRM_TTL = timedelta(minutes=10)
ACTION_GIVE_UP = timedelta(minutes=10)
STEPS = {"lockout": ["force_logout", "suspend"], "logout": ["force_logout"], "unlock": ["unsuspend"]}
CONFIRMED_KINDS = ("lockout", "logout", "unlock")
SELF_REFUSED = ("lockout", "logout")  # an administrator's own account: nobody might be left to /unlock
LOCKING_STEPS = ("force_logout", "suspend")

# Extra commands other features register: name -> (handler(args, event, ctx) -> replies, help line)


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
        return bool(user) and self.is_admin_user(user)

    def is_admin_user(self, user: dict) -> bool:
        """The same decision for a member already read from the directory (no further look-up)."""
        if str(user.get("userId") or "").lower() in self.ids or (user.get("email") or "").lower() in self.ids:
            return True
        return self.from_directory and tenant_admin_flag(user) is True


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


def members_named(event, read, policy: "AdminPolicy") -> list[tuple[str, bool]]:
    """(member, fresh) pairs this module's handlers will look up for the event (the sender of a
    command is looked up here by the policy itself, when it needs to): for an administrator, the target of /lockout,
    /logout or /unlock or of a report's lockout button (fresh: its state decides); the target and the
    requester of a finished account action. Called outside the transaction: `read(fn)` runs
    fn(connection) in a short read-only one, and the policy may look the sender up."""
    if isinstance(event, InternalEvent) and event.type == "account_action_done":
        action = read(lambda conn: get_account_action(conn, int(event.payload.get("actionId", 0))))
        return [(action.target_user_id, False), (action.requested_by, False)] if action else []
    command = parse_command(event)
    if command is None:
        return []
    name, args = command
    named: list[tuple[str, bool]] = []
    try:  # looks the sender up when the policy needs to (admins listed by email, or from the directory)
        if not policy.is_admin(event.source.user_id):
            return named  # nobody else is looked up for someone who may not act
    except ApiError:
        return named
    if name in STEPS and args and not user_ref_problem(args[0]):
        named.append((args[0], True))
    if name == "audit":  # the names of who did what (not fresh: a cached name will do)
        shown = _audit_count(args) or 10
        rows = read(lambda conn: records.recent_audit(conn, shown))
        refusers = [actor for actor, _ in read(lambda conn: records.refusals_by_actor(conn))[:5]]
        people = dict.fromkeys(refusers + [r.actor_id for r in rows]
                               + [r.target for r in rows if _is_member_ref(r.target)])
        named += [(person, False) for person in people][:30]
    if name in ("@lockout", "@unlock") and args:
        report_id = records.parse_report_number(args[0])
        report = read(lambda conn: records.get_report(conn, report_id)) if report_id else None
        named += [(report.reporter_id, True)] if report else []
    return named


def is_command(event, ctx) -> bool:
    """The admin route's events: a command or admin button we know, from anyone (a refusal is
    audited), or any other "/" command from an administrator (told it is unknown). Anyone else's
    "/..." is an ordinary message: the FAQ answers it."""
    command = parse_command(event)
    if command is None:
        return False
    if command[0] in COMMANDS or command[0] in ctx.services.admin_commands:
        return True
    try:
        return ctx.services.admins.is_admin(event.source.user_id)
    except ApiError:
        return True  # the access check tells the administrator the directory is unavailable


def handle(event, ctx):
    """A command that passed the access check (bot/dispatcher.py, handlers/access.py)."""
    name, args = parse_command(event)
    extras: dict[str, AdminCommand] = ctx.services.admin_commands
    if name in extras:
        handler = extras[name][0]
        shown = args[:getattr(handler, "audited_args", len(args))]  # an answer's text is not kept in the log
        ctx.records.audit.add(ctx.now, event.source.user_id, f"command:{name}", "ok",
                              target=" ".join(shown)[:200] or None)
        return extras[name][0](args, event, ctx)
    if name not in COMMANDS:
        return [Reply(Text(ctx.texts("admin.unknown_command", command="/" + name)))]
    return COMMANDS[name](args, event, ctx)


# -- lockout / logout / unlock --------------------------------------------------------------------

def _reply_place(event) -> tuple[str, str]:
    if event.source.channel_id:
        return "channel", event.source.channel_id
    return "user", event.source.user_id


def _shown(text: str, limit: int = 60) -> str:
    """Typed text to repeat back or audit: control characters replaced, cut to `limit`."""
    printable = "".join(c if c.isprintable() else "?" for c in text)
    return printable if len(printable) <= limit else printable[:limit - 1] + "…"


def _resolve_target(ctx, event, kind: str, who: str):
    """(user, error replies): the directory entry for the target of /lockout, /logout or /unlock,
    or the refusal (audited). Checked in this order, each before anything further is called or
    stored: the shape and length of what was typed, the directory, the administrator's own account,
    a LINE WORKS administrator."""
    admin = event.source.user_id

    def refuse(result: str, text: str, target: str | None):
        ctx.records.audit.add(ctx.now, admin, f"{kind}_requested", result, target=target)
        return None, [Reply(Text(text))]

    if not ctx.settings.locks_accounts:  # no `user` scope: the Free plan, or a narrower app
        return refuse("refused: no user scope", ctx.texts("admin.needs_user_scope"), _shown(who, 200))
    problem = user_ref_problem(who)
    if problem == "too_long":
        return refuse("invalid target: too long", ctx.texts("admin.target_too_long", length=len(who),
                                                            max=USER_REF_MAX_LENGTH), _shown(who, 200))
    if problem:
        return refuse("invalid target", ctx.texts("admin.invalid_target", who=_shown(who)), _shown(who, 200))
    try:
        user = ctx.services.directory.get_user(who, fresh=True)
    except ApiError as exc:
        return refuse("target not resolved", ctx.texts("admin.directory_unavailable",
                                                       reason=f"{exc.status or exc.code}"), who)
    if user is None:
        return refuse("target not resolved", ctx.texts("admin.user_not_found", who=who), who)
    target = str(user.get("userId") or who)
    label = _target_label(user)
    if kind in SELF_REFUSED and admin and target.lower() == admin.lower():
        return refuse("refused: own account", ctx.texts("admin.refused_self"),
                      target)
    role = tenant_admin_flag(user)
    if role is True:
        return refuse("refused: LINE WORKS administrator",
                      ctx.texts("admin.refused_tenant_admin", label=label), target)
    if role is None:  # hidden by the tenant's member settings: LINE WORKS itself refuses its super administrator
        log.warning("%s of %s: the directory does not say whether this is a LINE WORKS administrator", kind, target)
    return user, []


def _target_label(user: dict) -> str:
    return f"{display_name(user)}（{user.get('email') or user.get('userId')}）"


def _lockout(args, event, ctx, report_id: int | None = None):
    if not args:
        return [Reply(Text(ctx.texts("admin.usage", usage=ctx.texts("admin.usage_lockout"))))]
    user, errors = _resolve_target(ctx, event, "lockout", args[0])
    if errors:
        return errors
    if report_id is None:
        open_report = ctx.records.reports.open_for(user["userId"])
        report_id = open_report.id if open_report else None
    reason = " ".join(args[1:]) or (ctx.texts("admin.reason_from_report", number=records.report_number(report_id))
                                     if report_id else ctx.texts("admin.no_reason"))
    return _ask_confirmation(ctx, event, "lockout", user, reason, report_id)


def _details(ctx, report_id: int | None, reason: str | None) -> str:
    """The report and the reason, one line each; a reason that only names the report is not repeated."""
    lines = []
    if report_id:
        lines.append(ctx.texts("admin.report_link", number=records.report_number(report_id)))
        if reason == ctx.texts("admin.reason_from_report", number=records.report_number(report_id)):
            reason = None
    if reason or not report_id:
        lines.append(ctx.texts("admin.reason_line", reason=reason or ctx.texts("admin.no_reason")))
    return "\n".join(lines)


def _ask_confirmation(ctx, event, kind: str, user: dict, reason: str | None, report_id: int | None) -> list[Reply]:
    """Store a confirmation of `kind` (10 minutes, once, by the same administrator) and show it with
    its execute and cancel buttons; `_confirm` queues the action when it is pressed."""
    token = secrets.token_hex(8)
    place_kind, place = _reply_place(event)
    label = _target_label(user)
    target = user["userId"]
    records.create_confirmation(ctx.tx, token, kind, event.source.user_id, target, label, reason, report_id,
                                place_kind, place, ctx.now, CONFIRM_TTL)
    ctx.records.audit.add(ctx.now, event.source.user_id, f"{kind}_requested", "awaiting confirmation",
                  target=target, report_id=report_id)
    state = ctx.texts("admin.state_suspended" if user.get("isSuspended") else "admin.state_active")
    template = f"admin.{kind}_confirm"
    if kind == "unlock" and user.get("isSuspended") is False:  # the directory says there is nothing to lift
        template = "admin.unlock_confirm_not_suspended"
    text = ctx.texts(template, label=label, state=state, details=_details(ctx, report_id, reason),
                     button=ctx.texts(f"admin.{kind}_execute"))
    return [Reply(Buttons(text, (
        MessageAction(ctx.texts(f"admin.{kind}_execute"), postback=f"admin:confirm:{token}"),
        MessageAction(ctx.texts("admin.cancel_button"), postback=f"admin:cancel:{token}"),
    )))]


def _queue(ctx, event, kind: str, user: dict, reason: str | None, report_id: int | None) -> list[Reply]:
    place_kind, place = _reply_place(event)
    label = _target_label(user)
    action_id = queue_account_action(ctx.tx, kind, STEPS[kind], user["userId"], label,
                                             event.source.user_id, reason, report_id, place_kind, place,
                                             ctx.now, ACTION_GIVE_UP)
    ctx.records.audit.add(ctx.now, event.source.user_id, f"{kind}_started", f"action {action_id}",
                  target=user["userId"], report_id=report_id)
    return [Reply(Text(ctx.texts("admin.running", label=label)))]


def _needs_confirmation(ctx, kind: str, user: dict) -> bool:
    """/logout of a bot administrator, and /unlock of a suspension the bot did not make (someone may
    have suspended the member in the admin console for a reason of their own), are confirmed first."""
    if kind == "logout":
        return ctx.services.admins.is_admin_user(user)
    if kind == "unlock":
        return not records.suspended_by_bot(ctx.tx, user["userId"])
    return True


def _direct_action(kind: str):
    """/logout and /unlock run at once when they are easy to undo; otherwise they are confirmed."""
    def run(args, event, ctx):
        if not args:
            return [Reply(Text(ctx.texts("admin.usage", usage=ctx.texts(f"admin.usage_{kind}"))))]
        user, errors = _resolve_target(ctx, event, kind, args[0])
        if errors:
            return errors
        report = ctx.records.reports.open_for(user["userId"])
        reason = " ".join(args[1:]) or None
        report_id = report.id if report else None
        if _needs_confirmation(ctx, kind, user):
            return _ask_confirmation(ctx, event, kind, user, reason, report_id)
        return _queue(ctx, event, kind, user, reason, report_id)
    return run


def _confirm(args, event, ctx):
    token = args[0] if args else ""
    admin = event.source.user_id
    confirmation = records.get_confirmation(ctx.tx, token)
    if confirmation is None:
        ctx.records.audit.add(ctx.now, admin, "confirm_refused", "unknown confirmation")
        return [Reply(Text(ctx.texts("admin.confirm_unknown")))]
    target = confirmation.target_user_id
    if confirmation.admin_id != admin:
        ctx.records.audit.add(ctx.now, admin, "confirm_refused", "started by another administrator", target=target)
        return [Reply(Text(ctx.texts("admin.confirm_not_yours")))]
    if confirmation.used_at is not None:
        ctx.records.audit.add(ctx.now, admin, "confirm_refused", "already used", target=target)
        return [Reply(Text(ctx.texts("admin.confirm_used")))]
    if as_aware(confirmation.expires_at) <= ctx.now:
        ctx.records.audit.add(ctx.now, admin, "confirm_refused", "expired", target=target)
        return [Reply(Text(ctx.texts("admin.confirm_expired")))]
    kind = confirmation.action
    if kind not in CONFIRMED_KINDS:
        ctx.records.audit.add(ctx.now, admin, "confirm_refused", f"unknown action {kind}", target=target)
        return [Reply(Text(ctx.texts("admin.confirm_unknown")))]
    if not records.use_confirmation(ctx.tx, token, ctx.now):
        return [Reply(Text(ctx.texts("admin.confirm_used")))]
    ctx.records.audit.add(ctx.now, admin, f"{kind}_confirmed", "confirmed", target=target,
                  report_id=confirmation.report_id)
    action_id = queue_account_action(
        ctx.tx, kind, STEPS[kind], target, confirmation.target_label, admin, confirmation.reason,
        confirmation.report_id, confirmation.reply_kind, confirmation.reply_id, ctx.now, ACTION_GIVE_UP)
    ctx.records.audit.add(ctx.now, admin, f"{kind}_started", f"action {action_id}", target=target,
                  report_id=confirmation.report_id)
    return [Reply(Text(ctx.texts("admin.running", label=confirmation.target_label)))]


def _cancel(args, event, ctx):
    token = args[0] if args else ""
    confirmation = records.get_confirmation(ctx.tx, token)
    if confirmation is None or confirmation.admin_id != event.source.user_id or confirmation.used_at:
        return [Reply(Text(ctx.texts("admin.confirm_unknown")))]
    records.use_confirmation(ctx.tx, token, ctx.now)
    ctx.records.audit.add(ctx.now, event.source.user_id, f"{confirmation.action}_cancelled", "cancelled",
                  target=confirmation.target_user_id, report_id=confirmation.report_id)
    return [Reply(Text(ctx.texts("admin.confirm_cancelled")))]


def _why(ctx, result: dict) -> str:
    status = result.get("status")
    if status == 404:
        return ctx.texts("admin.why_404")
    if status == 400 and result["step"] in ("suspend", "unsuspend"):
        return _why_refused(ctx, result)
    if status == 403:
        return ctx.texts("admin.why_403")
    if status == 429:
        return ctx.texts("admin.why_429")
    if status is None and result["ok"] is None:
        return ctx.texts("admin.why_timeout")
    return ctx.texts("admin.why_other", status=status or "-", code=result.get("code", ""))


def _why_refused(ctx, result: dict) -> str:
    """A 400 from suspend or unsuspend, explained by the member's state read after it (worker)."""
    state = result.get("state")
    if result["step"] == "suspend":
        if state in ("pending", "awaiting"):
            return ctx.texts("admin.why_400_suspend_pending")
        if state == "deleted":
            return ctx.texts("admin.why_400_suspend_deleted")
        if state == "active" and result.get("administrator"):
            return ctx.texts("admin.why_400_suspend_admin")
        if state is None or not result.get("description"):
            return ctx.texts("admin.why_400_suspend")
    if result.get("description"):
        return ctx.texts("admin.why_400_refused", description=result["description"])
    return ctx.texts("admin.why_other", status=400, code=result.get("code", ""))


def _outcome(ctx, step: str, result: dict) -> str:
    if result["ok"] and result.get("already"):
        return ctx.texts(f"admin.step_already_{step}")
    if result["ok"]:
        return ctx.texts("admin.step_ok")
    if result["ok"] is None:
        return ctx.texts("admin.step_unknown", why=_why(ctx, result))
    return ctx.texts("admin.step_failed", why=_why(ctx, result))


def _summary(results: list[dict]) -> str:
    def one(r):
        if r["ok"]:
            return "already" if r.get("already") else "ok"
        return "unknown" if r["ok"] is None else str(r.get("status"))
    return ", ".join(f"{r['step']}={one(r)}" for r in results) or "nothing done"


def _is_bot_admin(ctx, user_id: str) -> bool:
    """Whether the target is a bot administrator; when the directory cannot tell now, assume so (a
    notice too many is better than a lockout of an administrator nobody hears about)."""
    try:
        return ctx.services.admins.is_admin(user_id)
    except ApiError:
        return True


def _name_of(ctx, user_id: str) -> str:
    try:
        return display_name(ctx.services.directory.get_user(user_id), user_id)
    except ApiError:
        return user_id


def _admin_notices(ctx, action, results: list[dict], place: Recipient) -> tuple[str | None, list[Reply]]:
    """A bot administrator logged out or suspended by another: (the text for the room the result goes
    to, when it is an admin notice room; replies to the other notice recipients)."""
    locked = [r["step"] for r in results if r["ok"] is True and not r.get("already") and r["step"] in LOCKING_STEPS]
    if not locked or action.target_user_id.lower() == action.requested_by.lower():
        return None, []
    if not _is_bot_admin(ctx, action.target_user_id):
        return None, []
    steps = "・".join(ctx.texts(f"admin.step_{step}") for step in locked)
    text = ctx.texts("admin.notice_admin_locked_out", label=action.target_label, kind=ctx.texts(f"admin.kind_label.{action.kind}"),
                     by=_name_of(ctx, action.requested_by), steps=steps)
    ctx.records.audit.add(ctx.now, action.requested_by, "admin_notified", "bot administrator locked out",
                  target=action.target_user_id, report_id=action.report_id)
    recipients = admin_recipients(ctx.settings)
    in_place = text if place in recipients else None
    return in_place, [Reply(Text(text), to=to, urgent=True, must_deliver=True) for to in recipients if to != place]


def handle_action_done(event, ctx):
    """An account action finished (or gave up): tell the administrator the truth, step by step."""
    if not isinstance(event, InternalEvent) or event.type != "account_action_done":
        return None
    action = get_account_action(ctx.tx, int(event.payload["actionId"]))
    if action is None:
        return []
    results = json.loads(action.results)
    lines = [ctx.texts("admin.result_header", kind=ctx.texts(f"admin.kind_label.{action.kind}"), label=action.target_label)]
    for index, step in enumerate(json.loads(action.steps)):
        name = ctx.texts(f"admin.step_{step}")
        if index >= len(results):
            lines.append(f"{name}: {ctx.texts('admin.step_skipped')}")
            continue
        lines.append(f"{name}: {_outcome(ctx, step, results[index])}")
    done = {r["step"] for r in results if r["ok"]}
    if "force_logout" in done:
        lines.append(ctx.texts("admin.logout_delay"))
    if action.kind == "lockout":
        lines.append(ctx.texts("admin.console_only"))
    if action.kind == "unlock":
        lines.append(ctx.texts("admin.unlock_reminder"))
    all_ok = len(results) == len(json.loads(action.steps)) and all(r["ok"] for r in results)
    ctx.records.audit.add(ctx.now, action.requested_by, f"{action.kind}_result", _summary(results),
                  target=action.target_user_id, report_id=action.report_id)
    place = Recipient(channel_id=action.reply_id) if action.reply_kind == "channel" else Recipient(user_id=action.reply_id)
    in_place, notices = _admin_notices(ctx, action, results, place)
    if in_place:
        lines.append(in_place)
    replies = [Reply(Text("\n".join(lines)), to=place, urgent=True, must_deliver=True)] + notices
    if action.kind == "lockout" and all_ok and action.report_id:
        report = ctx.records.reports.get(action.report_id)
        if report and report.status == ReportStatus.OPEN:
            ctx.records.reports.set_status(report.id, ReportStatus.LOCKED_OUT, ctx.now)
            replies.append(Reply(Text(ctx.texts("lost_device.reporter_locked_out",
                                                number=records.report_number(report.id))),
                                 to=Recipient(user_id=report.reporter_id), must_deliver=True))
    return replies


# -- reports and audit ----------------------------------------------------------------------------

def _local(ctx, moment) -> str:
    return as_aware(moment).astimezone(ctx.settings.tz).strftime("%m/%d %H:%M")


def _report_from_args(args, ctx):
    report_id = records.parse_report_number(args[0]) if args else None
    return ctx.records.reports.get(report_id) if report_id else None


def _reports(args, event, ctx):
    which = (args[0].lower() if args else "open")
    rows = ctx.records.reports.listing(only_open=which != "all")
    if not rows:
        return [Reply(Text(ctx.texts("admin.no_reports")))]
    which_text = ctx.texts("admin.reports_all" if which == "all" else "admin.reports_open")
    lines = [ctx.texts("admin.reports_header", which=which_text)]
    lines += [ctx.texts("admin.report_line", number=records.report_number(r.id), status=ctx.texts(f"status.{r.status}"),
                        created=_local(ctx, r.created_at), name=r.reporter_name or r.reporter_id, device=r.device)
              for r in rows]
    ctx.records.audit.add(ctx.now, event.source.user_id, "command:reports", f"{len(rows)} listed")
    return [Reply(Text("\n".join(lines)))]


def _report(args, event, ctx):
    report = _report_from_args(args, ctx)
    if report is None:
        return [Reply(Text(ctx.texts("admin.report_not_found", number=args[0] if args else "?")))]
    closing = ""
    if report.closed_by:
        closing = ctx.texts("admin.report_closing", by=report.closed_by, note=report.close_note or "").strip()
    text = ctx.texts("admin.report_detail", number=records.report_number(report.id),
                     status=ctx.texts(f"status.{report.status}"), name=report.reporter_name or ctx.texts("admin.unknown_name"),
                     user_id=report.reporter_id, device=report.device, when_where=report.lost_when_where,
                     screen_lock=report.screen_lock, notes=report.notes, created=_local(ctx, report.created_at),
                     closing=closing)
    ctx.records.audit.add(ctx.now, event.source.user_id, "command:report", "shown", report_id=report.id)
    locked = records.suspended_by_bot(ctx.tx, report.reporter_id)  # the bot's lockout is still in place
    first = (MessageAction(ctx.texts("admin.unlock_button"), postback=f"admin:unlock:{report.id}") if locked
             else MessageAction(ctx.texts("admin.lockout_button"), postback=f"admin:lockout:{report.id}"))
    buttons = (first, MessageAction(ctx.texts("admin.resolve_button"), postback=f"admin:resolve:{report.id}"))
    if report.status == ReportStatus.RESOLVED:
        return [Reply(Text(text))]
    return [Reply(Buttons(text, buttons))]


def _resolve(args, event, ctx):
    report = _report_from_args(args, ctx)
    if report is None:
        return [Reply(Text(ctx.texts("admin.report_not_found", number=args[0] if args else "?")))]
    number = records.report_number(report.id)
    if report.status == ReportStatus.RESOLVED:
        return [Reply(Text(ctx.texts("admin.already_resolved", number=number)))]
    note = " ".join(args[1:])
    ctx.records.reports.set_status(report.id, ReportStatus.RESOLVED, ctx.now, by=event.source.user_id, note=note or None)
    ctx.records.audit.add(ctx.now, event.source.user_id, "report_resolved", "resolved",
                  target=report.reporter_id, report_id=report.id)
    return [Reply(Text(ctx.texts("admin.resolved", number=number))),
            Reply(Text(ctx.texts("lost_device.reporter_resolved", number=number, note=note)),
                  to=Recipient(user_id=report.reporter_id), must_deliver=True)]


def _audit(args, event, ctx):
    count = _audit_count(args)
    if count is None:
        return [Reply(Text(ctx.texts("admin.usage", usage=ctx.texts("admin.usage_audit"))))]
    rows = records.recent_audit(ctx.tx, count)
    refused = records.refusals_by_actor(ctx.tx, since_id=rows[-1].id if len(rows) == count else 0)
    ctx.records.audit.add(ctx.now, event.source.user_id, "command:audit", f"{len(rows)} shown")
    if not rows and not refused:
        return [Reply(Text(ctx.texts("admin.audit_empty")))]
    lines = [ctx.texts("admin.audit_header", count=len(rows))]
    lines += [ctx.texts("admin.audit_line", at=_local(ctx, r.at), actor=_name(ctx, r.actor_id),
                        action=records.audit_label(ctx.texts, r.action),
                        target=(_name(ctx, r.target) if _is_member_ref(r.target) else r.target) or "-",
                        result=records.audit_result(ctx.texts, r.result)) for r in rows]
    if refused:
        lines.append(ctx.texts("admin.audit_refused", total=sum(n for _, n in refused),
                               actors="、".join(ctx.texts("admin.audit_refusals_by", actor=_name(ctx, actor), count=n)
                                             for actor, n in refused[:5])))
    return [Reply(Text("\n".join(lines)))]


def _is_member_ref(target: str | None) -> bool:
    """An audit target that is a member (an id or an email), not a report, ticket, reminder or room."""
    return bool(target) and not target.startswith(("R-", "Q-", "F-", "L-")) and user_ref_problem(target) is None \
        and ("@" in target or len(target) >= 20)


def _audit_count(args) -> int | None:
    try:
        return max(1, min(50, int(args[0]))) if args else 10
    except ValueError:
        return None


def _name(ctx, user_id: str) -> str:
    """A member's name when the directory (looked up before the transaction) knows it, else the id."""
    try:
        return display_name(ctx.services.directory.get_user(user_id), user_id)
    except ApiError:
        return user_id


def _help(args, event, ctx):
    extras: dict[str, AdminCommand] = ctx.services.admin_commands
    lines = [ctx.texts("admin.help")] + [ctx.texts(line) if ctx.texts.has(line) else line
                                         for _, line in extras.values() if line]
    return [Reply(Text("\n".join(lines)))]


def _button_lockout(args, event, ctx):
    report = _report_from_args(args, ctx)
    if report is None:
        return [Reply(Text(ctx.texts("admin.report_not_found", number=args[0] if args else "?")))]
    return _lockout([report.reporter_id], event, ctx, report_id=report.id)


def _button_unlock(args, event, ctx):
    """一時停止を解除 under a report (the 「見つかった」 notice, /report): /unlock for its reporter."""
    report = _report_from_args(args, ctx)
    if report is None:
        return [Reply(Text(ctx.texts("admin.report_not_found", number=args[0] if args else "?")))]
    return COMMANDS["unlock"]([report.reporter_id], event, ctx)


COMMANDS: dict[str, Callable] = {
    "lockout": _lockout,
    "logout": _direct_action("logout"),
    "unlock": _direct_action("unlock"),
    "reports": _reports,
    "report": _report,
    "resolve": _resolve,
    "audit": _audit,
    "help": _help,
    "@confirm": _confirm,
    "@cancel": _cancel,
    "@lockout": _button_lockout,
    "@unlock": _button_unlock,
    "@resolve": _resolve,
}
