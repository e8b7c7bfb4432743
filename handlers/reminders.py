"""Reminders, the employee's side and the administrators' commands.

- "リマインダー停止" / "リマインダー再開" (and the chip on every reminder, which sends the first one):
  record or remove the opt-out in the handler's transaction and confirm.
- `admin_command` serves /reminders and /reminder send <id> for the admin handler (which has checked
  that the sender is an administrator). Sending is only requested here; the clock process sends, so
  a 10,000-person reminder never holds up the web worker.

Everything the user reads comes from config/reminders.yaml through `ctx.services.reminders`
(a scheduler.service.ReminderService); without it, these routes stand aside.
"""
from __future__ import annotations

from datetime import date

from bot.events import MessageEvent, TextContent
from bot.replies import Reply, Text
from bot.status import Status
from handlers import reminder_records as rr


def _service(ctx):
    return ctx.services.reminders


def handle(event, ctx):
    service = _service(ctx)
    if service is None or not isinstance(event, MessageEvent) or not isinstance(event.content, TextContent):
        return None
    command = service.command_of(event.content.text)
    user_id = event.source.user_id
    if command is None or not user_id:
        return None
    if command == "stop":
        changed = rr.opt_out(ctx.tx, user_id, ctx.now)
        key = "opted_out" if changed else "already_opted_out"
    else:
        changed = rr.opt_in(ctx.tx, user_id)
        key = "opted_in" if changed else "already_opted_in"
    if changed:
        ctx.records.audit.add(ctx.now, user_id, f"reminders_{command}", "ok")
    return [Reply(Text(service.text(key)))]


def admin_command(command: str, args: list[str], event, ctx) -> list[Reply]:
    """/reminders, or /reminder send <id>; anything else gets the usage text."""
    service = _service(ctx)
    if service is None:
        return []
    command = command.lower().lstrip("/")
    if command == "reminders" and not args:
        return [Reply(Text(_listing(service, ctx)))]
    if command == "reminder" and len(args) == 2 and args[0].lower() == "send":
        return [Reply(Text(_send(service, args[1], event, ctx)))]
    return [Reply(Text(service.text("admin_usage")))]


def admin_commands(service) -> dict:
    """Entries for ctx.services.admin_commands (name -> (function(args, event, ctx), help line))."""
    return {
        "reminders": (lambda args, event, ctx: admin_command("reminders", args, event, ctx),
                      service.text("help_list")),
        "reminder": (lambda args, event, ctx: admin_command("reminder", args, event, ctx),
                     service.text("help_send")),
    }


def _audience(service, spec) -> str:
    if spec.kind == "all":
        return service.text("audience_all")
    if spec.kind == "managers":
        return service.text("audience_managers")
    return service.text("audience_list", users=len(spec.users), rooms=len(spec.rooms))


def _listing(service, ctx) -> str:
    book = service.book
    latest = service.latest(ctx.tx)
    parts = [service.text("admin_list_header", count=len(book.reminders), tz=book.tz.key, quiet=book.quiet_label())]
    for reminder in book.reminders:
        spec = reminder.spec
        lines = [service.text("admin_list_item", id=spec.id, title=spec.title,
                              state=service.text("enabled" if spec.enabled else "disabled"),
                              audience=_audience(service, spec.audience))]
        runs = service.next_runs(reminder, ctx.now, 3) if spec.enabled else []
        if runs:
            lines.append(service.text("admin_list_next", runs=service.text("run_separator").join(
                f"{book.format_date(run.date())} {run:%H:%M}" for run in runs)))
        else:
            lines.append(service.text("admin_list_no_runs"))
        if spec.id in latest:
            row, counts = latest[spec.id]
            lines.append(service.text(
                "admin_list_today", date=book.format_date(_date(row.occurrence)), sent=counts.get(Status.SENT, 0),
                left=counts.get(Status.PENDING, 0) + counts.get(Status.SENDING, 0), failed=counts.get(Status.FAILED, 0),
                expired=counts.get(Status.EXPIRED, 0)))
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def _date(iso: str) -> date:
    return date.fromisoformat(iso)


def _send(service, reminder_id: str, event, ctx) -> str:
    admin = event.source.user_id or "admin"
    result = service.request_send(ctx.tx, reminder_id, ctx.now, requested_by=admin)
    if result.outcome == "unknown":
        return service.text("admin_unknown", id=reminder_id)
    title = result.reminder.spec.title
    if result.outcome == "quiet":
        return service.text("admin_refused_quiet", title=title, quiet=service.book.quiet_label())
    if result.outcome == "day_off":
        return service.text("admin_refused_day_off", title=title)
    ctx.records.audit.add(ctx.now, admin, "reminder_send", result.outcome, target=reminder_id)
    day = service.book.format_date(_date(result.occurrence))
    key = "admin_send_accepted" if result.outcome == "accepted" else "admin_send_running"
    return service.text(key, title=title, date=day)
