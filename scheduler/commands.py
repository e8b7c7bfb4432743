"""The clock process and the reminder commands (reached through manage.py and `python -m scheduler`).

    clock                 APScheduler in the bot's time zone (the Procfile's clock line; run exactly one)
    list [--count N]      every reminder with its next runs (time zone, days off applied)
    send ID [--dry-run]   send today's occurrence now, through the same path (idempotent), or count

The clock runs APScheduler's blocking scheduler in the bot's time zone (coalesce, one instance per
job, a misfire grace time; job errors and missed runs are logged). Each reminder job only writes
the occurrence down; the broadcaster thread enumerates and sends it, and resumes any occurrence a
previous clock left unfinished.
"""
from __future__ import annotations

import logging
import signal
import sys
import threading
from collections import Counter
from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED
from apscheduler.schedulers.blocking import BlockingScheduler

from bot.clock import SystemClock
from bot.runtime import build_runtime, configure_logging
from config.settings import CONFIG_DIR, SettingsError, load_settings
from handlers import records
from handlers import reminder_records as rr
from scheduler.broadcast import Audience, Broadcaster
from scheduler.config import ReminderConfigError, load_reminders
from scheduler.service import ReminderService

log = logging.getLogger("scheduler")


def _schedule_label(reminder) -> str:
    spec = reminder.spec.schedule
    fields = [f"{name}={getattr(spec, name)}" for name in ("month", "day", "day_of_week")
              if getattr(spec, name) is not None]
    extras = []
    if spec.days != "any":
        extras.append(spec.days)
    if spec.on_day_off != "skip":
        extras.append(f"on_day_off={spec.on_day_off}")
    hour, minute = str(spec.hour), str(spec.minute)
    when = f"{int(hour):02d}:{int(minute):02d}" if hour.isdigit() and minute.isdigit() else f"{hour}:{minute}"
    return " ".join(fields + [when] + extras)


def _audience_label(spec) -> str:
    if spec.kind != "list":
        return spec.kind
    return f"{len(spec.users)} user(s), {len(spec.rooms)} room(s)"


def cmd_list(book, now, count: int, out) -> int:
    quiet = f"{book.quiet.start:%H:%M}-{book.quiet.end:%H:%M}"
    print(f"{len(book.reminders)} reminder(s) in {book.path} (time zone {book.tz.key}; quiet hours {quiet}; "
          f"days off: {', '.join(book.policy.weekend)}, Japanese public holidays"
          f"{', company holidays' if book.policy.company_holidays else ''})", file=out)
    for reminder in book.reminders:
        spec = reminder.spec
        flags = ["enabled" if spec.enabled else "disabled"] + (["urgent"] if spec.urgent else [])
        print(f"\n{spec.id}  [{', '.join(flags)}]  audience: {_audience_label(spec.audience)}  "
              f"schedule: {_schedule_label(reminder)}", file=out)
        if not spec.enabled:
            print("    not scheduled (send it by hand with: python -m scheduler send " + spec.id + ")", file=out)
            continue
        runs = reminder.trigger.next_runs(now.astimezone(book.tz), count)
        for run in runs:
            print(f"    {run:%Y-%m-%d %a %H:%M %Z}", file=out)
        if not runs:
            print("    no further runs", file=out)
    return 0


def cmd_dry_run(book, runtime, reminder, now, out) -> int:
    skipped: Counter = Counter()
    kinds: Counter = Counter()
    for page in Audience(runtime.client, runtime.store, runtime.settings.reads_members).pages(reminder, skipped):
        kinds.update(kind for kind, _ in page)
    refusal = book.may_send_now(reminder, now)
    print(f"{reminder.id}: {kinds['user']} user(s) and {kinds['channel']} room(s) would receive it "
          f"(left out: {skipped['inactive']} suspended/deleted/pending, {skipped['opted_out']} opted out); "
          f"nothing sent.", file=out)
    if refusal:
        print(f"note: it could not be sent right now ({'quiet hours' if refusal == 'quiet' else 'a day off'}).",
              file=out)
    return 0


def cmd_send(book, runtime, reminder, now, out) -> int:
    with runtime.store.transaction() as tx:
        result = ReminderService(book).request_send(tx, reminder.id, now, requested_by="cli")
    if result.outcome in ("quiet", "day_off"):
        why = "it is quiet hours" if result.outcome == "quiet" else "today is a day off"
        print(f"{reminder.id} was not sent: {why}, and it is not urgent.", file=out)
        return 2
    print(f"{reminder.id}: occurrence {result.occurrence} {result.outcome}; sending at most "
          f"{runtime.settings.send_rate_per_min} messages/min ...", file=out)
    broadcaster = Broadcaster(runtime.store, runtime.client, book, runtime.settings.send_rate_per_min,
                              reads_members=runtime.settings.reads_members)
    stop = threading.Event()
    try:
        broadcaster.run_until_done(result.broadcast_id, stop)
    except KeyboardInterrupt:
        stop.set()
        print("interrupted: run the same command again to resume (nobody gets it twice).", file=out)
        return 130
    with runtime.store.engine.connect() as conn:
        counts = rr.delivery_counts(conn, rr.origin_of(reminder.id, result.occurrence))
    print(f"{reminder.id} {result.occurrence}: sent {counts.get('sent', 0)}, failed {counts.get('failed', 0)}, "
          f"expired {counts.get('expired', 0)}", file=out)
    return 0


def _on_job_event(event) -> None:
    if event.code == EVENT_JOB_ERROR:
        log.error("job %s failed at %s: %r", event.job_id, event.scheduled_run_time, event.exception,
                  exc_info=(type(event.exception), event.exception, event.exception.__traceback__))
    elif event.code == EVENT_JOB_MISSED:
        log.warning("job %s missed its run at %s (past the misfire grace time)", event.job_id,
                    event.scheduled_run_time)
    else:
        log.warning("job %s still running at %s: this run skipped", event.job_id, event.scheduled_run_time)


def catch_up(book, broadcaster, now) -> int:
    """Runs missed while the clock was down: send if still within the grace time, else log."""
    grace = timedelta(minutes=book.policy.misfire_grace_minutes)
    caught = 0
    for reminder in book.enabled():
        last = reminder.trigger.last_run_at_or_before(now, timedelta(days=1))
        if last is None:
            continue
        with broadcaster.store.engine.connect() as conn:
            done = rr.find_broadcast(conn, reminder.id, last.date().isoformat()) is not None
            ever = bool(rr.latest_broadcasts(conn, [reminder.id]))
        if done:
            continue
        if now - last <= grace:
            if ever:
                log.warning("reminder %s missed its run at %s while the clock was down: sending now", reminder.id,
                            last.isoformat())
            else:  # the clock's first start, within the grace time of a run
                log.info("reminder %s was due at %s, %d min ago: sending now", reminder.id, last.isoformat(),
                         (now - last).total_seconds() // 60)
            broadcaster.request_scheduled(reminder, last)
            caught += 1
        elif not ever:  # a new database: the clock was not down, it had never run
            log.info("reminder %s: first run of the clock; its last time (%s) is not sent", reminder.id,
                     last.isoformat())
        else:
            log.warning("reminder %s missed its run at %s while the clock was down (more than %d min ago): "
                        "not sent", reminder.id, last.isoformat(), book.policy.misfire_grace_minutes)
    return caught


def purge_old_data(runtime) -> None:
    """Personal data is kept BOT_RETENTION_DAYS days: finished events, messages, FAQ questions,
    closed reports."""
    gone = records.purge_older_than(runtime.store, runtime.clock.now(), runtime.settings.retention_days)
    log.info("retention: deleted %s (older than %d days)", ", ".join(f"{k}={v}" for k, v in gone.items()),
             runtime.settings.retention_days)


TICKET_REMINDER_HOUR = 10  # local time, on working days: open tickets are reminded to the administrators


def request_ticket_reminder(book, runtime) -> None:
    """Once a day: the web process reminds the administrators of tickets waiting for a working day
    (an internal event, handled by handlers/tickets.py; its key makes a second clock harmless)."""
    today = runtime.clock.now().astimezone(book.tz).date()
    if book.calendar.is_day_off(today):
        return
    with runtime.store.transaction() as conn:
        runtime.store.add_internal_event(conn, "tickets_reminder", {"date": today.isoformat()},
                                         key=f"tickets-reminder:{today.isoformat()}")


def run_clock(book, runtime) -> int:
    settings = runtime.settings
    broadcaster = Broadcaster(runtime.store, runtime.client, book, settings.send_rate_per_min,
                              reads_members=settings.reads_members)
    scheduler = BlockingScheduler(timezone=settings.tz, job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": book.policy.misfire_grace_minutes * 60})
    scheduler.add_listener(_on_job_event, EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)

    def fire(reminder_id: str) -> None:
        reminder = book.get(reminder_id)
        now = runtime.clock.now()
        when = reminder.trigger.last_run_at_or_before(now, timedelta(minutes=book.policy.misfire_grace_minutes))
        broadcaster.request_scheduled(reminder, when or now)

    for reminder in book.enabled():
        scheduler.add_job(fire, trigger=reminder.trigger, args=[reminder.id], id=reminder.id,
                          name=reminder.spec.title)
    scheduler.add_job(purge_old_data, "cron", hour=3, minute=30, args=[runtime], id="retention",
                      name="retention purge")
    scheduler.add_job(request_ticket_reminder, "cron", hour=TICKET_REMINDER_HOUR, minute=0, args=[book, runtime],
                      id="tickets-reminder", name="open tickets reminder")
    catch_up(book, broadcaster, runtime.clock.now())
    stop = threading.Event()
    loop = threading.Thread(target=broadcaster.run_forever, args=(stop,), name="broadcaster", daemon=True)
    loop.start()
    signal.signal(signal.SIGTERM, lambda *_: scheduler.shutdown(wait=False))
    log.info("clock started in %s with %d reminder job(s); %d messages/min at most", settings.timezone,
             len(scheduler.get_jobs()), settings.send_rate_per_min)
    for job in scheduler.get_jobs():
        log.info("  %s next at %s", job.id, job.trigger.get_next_fire_time(None, runtime.clock.now()))
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    log.info("clock stopping")
    stop.set()
    loop.join(15)
    return 0


def _list_from_files(injected, count: int, out) -> int:
    import os

    env = os.environ if injected.env is None else injected.env
    zone = env.get("BOT_TIMEZONE", "").strip() or "Asia/Tokyo"
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        print(f"BOT_TIMEZONE is not a known time zone (got {zone!r})", file=sys.stderr)
        return 3
    try:
        book = load_reminders(CONFIG_DIR / "reminders.yaml", tz, CONFIG_DIR / "company.yaml")
    except ReminderConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 3
    return cmd_list(book, (injected.clock or SystemClock()).now(), count, out)


def run(injected, command: str, count: int = 5, reminder_id: str | None = None, dry_run: bool = False) -> int:
    """`list`, `send` or `clock`, for the command line (manage.py); `injected` carries what tests
    give instead of the environment (env, clock, client, out, settings)."""
    out = injected.out or sys.stdout
    configure_logging()
    settings = injected.settings
    if command == "list" and settings is None:  # only reads the schedule: no credentials needed
        return _list_from_files(injected, count, out)
    if settings is None:
        try:
            settings = load_settings(injected.env)
        except SettingsError as exc:
            log.critical("%s", exc)
            return 3
    try:
        book = load_reminders(settings.config_dir / "reminders.yaml", settings.tz,
                              settings.config_dir / "company.yaml")
    except ReminderConfigError as exc:
        log.critical("%s", exc)
        print(str(exc), file=sys.stderr)
        return 3
    if command == "list":
        return cmd_list(book, (injected.clock or SystemClock()).now(), count, out)
    runtime = build_runtime(settings, clock=injected.clock, client=injected.client)
    if command == "clock":
        return run_clock(book, runtime)
    reminder = book.get(reminder_id)
    if reminder is None:
        print(f"no reminder '{reminder_id}'; known: {', '.join(r.id for r in book.reminders)}", file=out)
        return 2
    now = runtime.clock.now()
    if dry_run:
        return cmd_dry_run(book, runtime, reminder, now, out)
    return cmd_send(book, runtime, reminder, now, out)
