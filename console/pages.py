"""The console's pages. Reading is done here; every action a chat command can do goes through
console.actions.run_command (the talk's own code path); the FAQ and company values are changed through
handlers/faq_records.py, validated by building the FAQ with the change before it is saved."""
from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta

from flask import Response, g, render_template, request
from sqlalchemy import desc, func, select

from bot.directory import display_name
from bot.errors import ApiError
from bot.replies import Buttons, Text
from bot.store import as_aware, utc_naive
from console import blueprint, console, message_page, read, say
from console.actions import run_command
from handlers import faq, faq_records, faq_teach, records
from handlers import reminder_records as rr
from handlers import ticket_records as tr
from handlers.faq_chat import Changes
from scheduler.broadcast import Audience

CSV_FIELDS = ["id", "category", "title", "questions", "answer"]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet would run such a cell as a formula
NOT_FROM_THE_CONSOLE = ("admin:ticket_answer:",)  # would make the talk wait for an answer typed there


def save_faq_change(action: str, target: str, change, result: str = "ok") -> None:
    """One change to the FAQ: `change(tx, now)` and its audit line in one transaction, then used here at
    once (other web processes take it up before their next event)."""
    runtime = console().runtime
    now = runtime.clock.now()
    with runtime.store.transaction() as tx:
        change(tx, now)
        records.audit(tx, now, g.admin.user_id, action, result, target=target[:300])
    runtime.services.faq.refresh(read)


def _now() -> datetime:
    runtime = console().runtime
    return runtime.clock.now().astimezone(runtime.settings.tz)


def name_of(user_id: str | None) -> str:
    """A member's name (and email) for a page, never a bare id when the directory knows them."""
    if not user_id:
        return ""
    try:
        user = console().runtime.services.directory.get_user(user_id)
    except ApiError:
        user = None
    if not user:
        return user_id
    name = display_name(user)
    email = user.get("email")
    return f"{name}（{email}）" if email and email != name else name


@blueprint.app_template_filter("local")
def local_time(moment) -> str:
    if moment is None:
        return ""
    aware = as_aware(moment) if moment.tzinfo is None else moment
    return aware.astimezone(console().runtime.settings.tz).strftime("%Y/%m/%d %H:%M")


@blueprint.app_template_filter("action")
def action_label(action: str) -> str:
    """An audit action in Japanese (config/messages.yaml `audit_labels`)."""
    return records.audit_label(console().runtime.texts, action)


@blueprint.app_template_filter("result")
def result_label(result: str) -> str:
    return records.audit_result(console().runtime.texts, result)


@blueprint.context_processor
def page_values():
    return {"admin": getattr(g, "admin", None), "name_of": name_of}


# -- acting through the talk's code path ----------------------------------------------------------

def replies_view(replies) -> list[dict]:
    """Replies as the page shows them: the text and, for each button or chip, what pressing it sends."""
    shown = []
    for reply in replies:
        content = reply.content
        actions = list(getattr(content, "actions", ())) + list(getattr(content, "quick_replies", ()))
        buttons = [{"label": a.label, "text": getattr(a, "text", None) or a.label, "postback": getattr(a, "postback", None)}
                   for a in actions if getattr(a, "postback", None) or (getattr(a, "text", "") or "").startswith("/")]
        text = content.text if isinstance(content, (Text, Buttons)) else ""
        shown.append({"text": text, "buttons": buttons})
    return shown


@blueprint.post("/command")
def command():
    """A command or a button of the talk, pressed in the console."""
    text = request.form.get("text", "").strip()
    extra = request.form.get("extra", "").strip()  # what the administrator typed: an answer, a note, an entry id
    if extra:
        text = f"{text} {extra}"
    postback = request.form.get("postback") or None
    allowed = text.startswith("/") or ((postback or "").startswith("admin:")
                                       and not postback.startswith(NOT_FROM_THE_CONSOLE))
    if not allowed:
        return render_template("result.html", replies=[{"text": say("not_from_console"), "buttons": []}]), 400
    runtime = console().runtime
    replies = run_command(runtime, console().dispatcher, g.admin.user_id, text, postback)
    return render_template("result.html", replies=replies_view(replies), back=_page_path(request.form.get("back")))


def _page_path(back: str | None) -> str | None:
    """A page of this console to go back to; anything else (another site, a script) is dropped."""
    if back and back.startswith("/admin/") and not back.startswith("//") and "\\" not in back:
        return back
    return None


# -- dashboard ------------------------------------------------------------------------------------

def faq_rates(conn, now: datetime, days: int = 30) -> list[dict]:
    """Per day: answered, 「もしかして」 and not answered, over the last `days` days."""
    since = now - timedelta(days=days - 1)
    start = since.replace(hour=0, minute=0, second=0, microsecond=0)
    rows = conn.execute(select(records.faq_questions.c.at, records.faq_questions.c.outcome)
                        .where(records.faq_questions.c.at >= utc_naive(start)))
    counts: dict[str, Counter] = {}
    for at, outcome in rows:
        day = as_aware(at).astimezone(now.tzinfo).strftime("%m/%d")
        counts.setdefault(day, Counter())[outcome] += 1
    out = []
    for n in range(days):
        day = (start + timedelta(days=n)).strftime("%m/%d")
        c = counts.get(day, Counter())
        out.append({"day": day, "answer": c["answer"], "suggest": c["suggest"],
                    "fallback": c["fallback"] + c["not_ours"]})
    return out


def latest_broadcasts(conn, limit: int = 5) -> list:
    return list(conn.execute(select(rr.broadcasts).order_by(desc(rr.broadcasts.c.id)).limit(limit)))


@blueprint.get("/")
def dashboard():
    now = _now()
    with console().runtime.store.engine.connect() as conn:
        reports = records.list_reports(conn, only_open=True, limit=10)
        tickets = tr.open_tickets(conn, limit=10)
        broadcasts = latest_broadcasts(conn)
        rates = faq_rates(conn, now)
    totals = Counter()
    for day in rates:
        totals.update({k: day[k] for k in ("answer", "suggest", "fallback")})
    peak = max([d["answer"] + d["suggest"] + d["fallback"] for d in rates] + [1])
    return render_template("dashboard.html", reports=reports, tickets=tickets, broadcasts=broadcasts, rates=rates,
                           totals=totals, peak=peak, now=now)


# -- reports --------------------------------------------------------------------------------------

@blueprint.get("/reports")
def reports():
    show_all = request.args.get("all") == "1"
    rows = read(lambda conn: records.list_reports(conn, only_open=not show_all, limit=100))
    return render_template("reports.html", reports=rows, show_all=show_all)


@blueprint.get("/reports/<int:report_id>")
def report(report_id: int):
    row = read(lambda conn: records.get_report(conn, report_id))
    if row is None:
        return message_page("report_not_found", 404)
    history = read(lambda conn: list(conn.execute(select(records.audit_log).where(
        records.audit_log.c.report_id == report_id).order_by(records.audit_log.c.id))))
    return render_template("report.html", report=row, number=records.report_number(row.id), history=history)


# -- questions ------------------------------------------------------------------------------------

@blueprint.get("/questions")
def questions():
    def lists(conn):
        answered = list(conn.execute(select(tr.tickets).where(tr.tickets.c.status == tr.TicketStatus.ANSWERED)
                                     .order_by(desc(tr.tickets.c.id)).limit(20)))
        return tr.open_tickets(conn, limit=50), answered, records.unanswered_questions(conn, 30)
    open_tickets, answered, unanswered = read(lists)
    book = console().runtime.services.faq.book
    return render_template("questions.html", open_tickets=open_tickets, answered=answered, unanswered=unanswered,
                           entries=sorted(book.entries, key=lambda e: e.title), now=_now(),
                           number=tr.ticket_number, by_id=book.by_id)


# -- FAQ ------------------------------------------------------------------------------------------

def _origin(entry_id: str, changes: Changes, shipped: set[str]) -> str:
    if entry_id.startswith("learned-"):
        return say("origin_taught")
    if any(e.entry_id == entry_id for e in changes.edits):
        return say("origin_edited") if entry_id in shipped else say("origin_added")
    return say("origin_shipped")


@blueprint.get("/faq")
def faq_page():
    return _faq_page()


def _faq_page(errors: list[str] | None = None):
    library = console().runtime.services.faq
    book = library.book
    shipped = {e.id for e in library._base.entries}
    question = request.args.get("q", "").strip()
    tried = None
    if question:
        outcome = faq.classify(book, question)
        ranked = book.matcher.rank(book.matcher.smalltalk.strip(question))[:5]
        tried = {"question": question, "outcome": outcome, "ranked": ranked,
                 "entry": book.by_id.get(outcome.entry_id) if outcome.entry_id else None}
    learned = read(tr.all_learned)
    hidden = [e for e in library.changes.edits if e.hidden]
    entries = [(e, _origin(e.id, library.changes, shipped)) for e in book.entries]
    return render_template("faq.html", entries=entries, categories=book.categories, tried=tried, learned=learned,
                           hidden=hidden, category_title={c.id: c.title for c in book.categories},
                           errors=errors or [])


@blueprint.get("/faq/entry")
def faq_entry():
    book = console().runtime.services.faq.book
    entry = book.by_id.get(request.args.get("id", ""))
    return render_template("faq_entry.html", entry=entry, categories=book.categories, errors=[], form=None)


def _entry_from_form(form) -> dict:
    questions = [q.strip() for q in form.get("questions", "").splitlines() if q.strip()]
    return {"id": form.get("id", "").strip().lower(), "category": form.get("category", "").strip(),
            "title": form.get("title", "").strip(), "questions": questions, "answer": form.get("answer", "").strip()}


def _check_and_save(rows: list[dict], hidden: tuple[str, ...] = (), adding: bool = False) -> list[str]:
    """Validate `rows` (whole entries) by building the FAQ with them; save them only when it builds."""
    runtime = console().runtime
    library = runtime.services.faq
    now = runtime.clock.now()
    edits = [faq_records.EntryEdit(r["id"], r["category"], r["title"], tuple(r["questions"]), r["answer"], False,
                                   g.admin.user_id, now) for r in rows]
    edits += [faq_records.EntryEdit(entry_id, "", "", (), "", True, g.admin.user_id, now) for entry_id in hidden]
    problems = _problems(rows, library, adding)
    if problems:
        return problems
    changed = [e.entry_id for e in edits]
    now_in_service = library.changes
    trial = replace(now_in_service, edits=tuple(e for e in now_in_service.edits if e.entry_id not in changed)
                    + tuple(edits))
    _, before = faq.with_changes(library._base.content, now_in_service.learned, now_in_service.edits,
                                 now_in_service.categories)
    _, left_out = faq.with_changes(library._base.content, trial.learned, trial.edits, trial.categories)
    if set(left_out) - set(before):
        return [say("entry_invalid")]
    def save(tx, now):
        for edit in edits:
            faq_records.save_edit(tx, edit.entry_id, edit.category or "-", edit.title or "-", list(edit.questions),
                                  edit.answer or "-", g.admin.user_id, now, hidden=edit.hidden)
    save_faq_change("console_faq_saved", ",".join(changed), save, result=f"{len(edits)} entr(ies)")
    return []


def _problems(rows: list[dict], library, adding: bool = False) -> list[str]:
    categories = {c.id for c in library.book.categories}
    changed = {row["id"] for row in rows}
    titles = {e.title: e.id for e in library.book.entries if e.id not in changed}
    problems, seen = [], set()
    for row in rows:
        where = say("where_row", line=row["line"], entry_id=row["id"] or say("no_id")) if "line" in row \
            else say("where_form")
        if not row["id"] or not all(ch.isascii() and (ch.isalnum() or ch == "-") for ch in row["id"]) \
                or row["id"].startswith("learned-"):
            problems.append(say("bad_id", where=where))
        if row["id"] in seen:
            problems.append(say("id_twice", where=where))
        seen.add(row["id"])
        if adding and row["id"] in library.book.by_id:
            problems.append(say("id_taken", where=where, entry_id=row["id"]))
        if row["title"] in titles:
            problems.append(say("title_taken", where=where, title=row["title"], other=titles[row["title"]]))
        if any("\x00" in str(value) for value in row.values()):
            problems.append(say("bad_character", where=where))
        if row["category"] not in categories:
            problems.append(say("unknown_category", where=where, category=row["category"]))
        if not row["title"] or len(row["title"]) > 20:
            problems.append(say("bad_title", where=where))
        if not row["questions"]:
            problems.append(say("no_questions", where=where))
        if not row["answer"] or len(row["answer"]) > 2000:
            problems.append(say("bad_answer", where=where))
    return problems


@blueprint.post("/faq/entry")
def faq_entry_save():
    row = _entry_from_form(request.form)
    adding = request.form.get("mode") != "edit"
    problems = _check_and_save([row], adding=adding)
    row["mode"] = "add" if adding else "edit"
    book = console().runtime.services.faq.book
    if problems:
        return render_template("faq_entry.html", entry=None, form=row, categories=book.categories,
                               errors=problems), 400
    return render_template("faq_entry.html", entry=book.by_id.get(row["id"]), categories=book.categories, errors=[],
                           form=None, saved=True)


@blueprint.post("/faq/category")
def faq_category_save():
    """Rename a category (same id) or add one; the title must be new and short enough for a button."""
    runtime = console().runtime
    library = runtime.services.faq
    category_id = request.form.get("id", "").strip().lower()
    title = request.form.get("title", "").strip()
    change = faq_records.CategoryEdit(category_id, title)
    taken = [c for c in library.book.categories if c.title == title and c.id != category_id]
    trial = library.changes.categories + (change,)
    _, left_out = faq.with_changes(library._base.content, (), (), trial)
    if taken or f"category {category_id}" in left_out:
        return _faq_page(errors=[say("category_invalid")]), 400
    save_faq_change("console_category_saved", category_id,
                    lambda tx, now: faq_records.save_category(tx, category_id, title, g.admin.user_id, now))
    return _faq_page()


@blueprint.post("/faq/remove")
def faq_remove():
    entry_id = request.form.get("id", "")
    library = console().runtime.services.faq
    if entry_id not in library.book.by_id:
        return message_page("entry_not_found", 404)
    shipped = {e.id for e in library._base.entries}

    def remove(tx, now):
        if entry_id in shipped:
            faq_records.save_edit(tx, entry_id, "-", "-", [], "-", g.admin.user_id, now, hidden=True)
        elif entry_id.startswith("learned-"):  # taught in the talk: the same as /faq remove
            for item in tr.all_learned(tx):
                if item.entry_id == entry_id:
                    tr.forget(tx, item.id)
        else:
            faq_records.drop_edit(tx, entry_id)
    save_faq_change("console_faq_removed", entry_id, remove)
    return faq_page()


@blueprint.post("/faq/restore")
def faq_restore():
    entry_id = request.form.get("id", "")
    save_faq_change("console_faq_restored", entry_id, lambda tx, now: faq_records.drop_edit(tx, entry_id))
    return faq_page()


def _cell(value) -> str:
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _uncell(value: str | None) -> str:
    text = value or ""
    return text[1:] if text.startswith("'") and text[1:2] and text[1:].startswith(FORMULA_START) else text


def _csv_response(rows: list[list[str]], name: str) -> Response:
    buffer = io.StringIO()
    csv.writer(buffer).writerows([[_cell(v) for v in row] for row in rows])
    return Response("\ufeff" + buffer.getvalue(), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename={name}"})


@blueprint.get("/faq/export.csv")
def faq_export_csv():
    book = console().runtime.services.faq.book
    rows = [CSV_FIELDS] + [[e.id, e.category, e.title, "\n".join(e.questions), e.answer] for e in book.entries]
    return _csv_response(rows, "faq.csv")


@blueprint.get("/faq/export.yaml")
def faq_export_yaml():
    library = console().runtime.services.faq
    text = faq_teach.as_yaml(list(library.changes.learned))
    edited = [{"id": e.entry_id, "category": e.category, "title": e.title, "questions": list(e.questions),
               "answer": e.answer} for e in library.changes.edits if not e.hidden]
    import yaml

    text += yaml.safe_dump({"edited": edited, "hidden": [e.entry_id for e in library.changes.edits if e.hidden]},
                           allow_unicode=True, sort_keys=False)
    return Response(text, mimetype="text/yaml; charset=utf-8",
                    headers={"Content-Disposition": "attachment; filename=faq-changes.yaml"})


@blueprint.post("/faq/import")
def faq_import():
    """CSV (as exported) or YAML (faq.yaml's `entries` shape, or the changes as exported): entries with
    the same id are replaced, new ids added; all or nothing."""
    upload = request.files.get("file")
    raw = upload.read() if upload else b""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return _import_result([say("not_utf8")]), 400
    if "\x00" in text:
        return _import_result([say("has_nul")]), 400
    is_yaml = (upload.filename or "").lower().endswith((".yaml", ".yml"))
    items, problems = _yaml_items(text) if is_yaml else _csv_items(text)
    if problems:
        return _import_result(problems), 400
    book = console().runtime.services.faq.book
    rows, unchanged = [], 0
    for line, item in enumerate(items, start=1):
        row = _entry_from_form(item)
        row["line"] = line
        current = book.by_id.get(row["id"])
        if current and (current.category, current.title, list(current.questions), current.answer) == (
                row["category"], row["title"], row["questions"], row["answer"]):
            unchanged += 1
            continue
        rows.append(row)
    problems = _check_and_save(rows) if rows else []
    if problems:
        return _import_result(problems), 400
    return _import_result([], saved=len(rows), unchanged=unchanged)


def _csv_items(text: str) -> tuple[list[dict], list[str]]:
    try:
        items = list(csv.DictReader(io.StringIO(text)))
        header = next(csv.reader(io.StringIO(text)), [])
    except csv.Error as exc:
        return [], [say("not_csv", error=str(exc))]
    if [f.strip() for f in header] != CSV_FIELDS:
        return [], [say("csv_header", fields=",".join(CSV_FIELDS))]
    for line, item in enumerate(items, start=1):
        if None in item:
            return [], [say("too_many_columns", line=line, count=len(CSV_FIELDS))]
    return [{k: _uncell(v) for k, v in item.items()} for item in items], []


def _yaml_items(text: str) -> tuple[list[dict], list[str]]:
    """`entries:` (and `edited:`) as in faq.yaml; `examples: {entry-id: [question, ...]}` adds questions."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return [], [say("not_yaml")]
    if not isinstance(data, dict):
        return [], [say("yaml_shape")]
    entries = [e for key in ("entries", "edited") for e in (data.get(key) or [])]
    if not all(isinstance(e, dict) for e in entries):
        return [], [say("yaml_entry_shape")]
    items = [{"id": str(e.get("id") or ""), "category": str(e.get("category") or ""), "title": str(e.get("title") or ""),
              "questions": "\n".join(str(q) for q in (e.get("questions") or [])), "answer": str(e.get("answer") or "")}
             for e in entries]
    book = console().runtime.services.faq.book
    for entry_id, questions in (data.get("examples") or {}).items():
        entry = book.by_id.get(str(entry_id))
        if entry is None or not isinstance(questions, list):
            return [], [say("yaml_unknown_entry", entry_id=str(entry_id))]
        items.append({"id": entry.id, "category": entry.category, "title": entry.title, "answer": entry.answer,
                      "questions": "\n".join([*entry.questions, *(str(q) for q in questions)])})
    return items, []


def _import_result(problems, saved=0, unchanged=0):
    return render_template("faq_import.html", problems=problems, saved=saved, unchanged=unchanged)


# -- settings (company values) --------------------------------------------------------------------

@blueprint.get("/settings")
def settings_page():
    library = console().runtime.services.faq
    return render_template("settings.html", values=library.book.company, changed=library.changes.company, errors=[])


@blueprint.post("/settings")
def settings_save():
    runtime = console().runtime
    library = runtime.services.faq
    current = library.book.company
    wanted = {name: request.form.get(name, "").strip() for name in current}
    changed = {name: value for name, value in wanted.items() if value and value != current[name]}
    if not changed:
        return render_template("settings.html", values=current, changed=library.changes.company, errors=[])
    trial = replace(library.changes, company={**library.changes.company, **changed})
    try:
        library.build(trial)
    except faq.FaqError as exc:
        return render_template("settings.html", values={**current, **changed}, changed=library.changes.company,
                               errors=exc.errors[:10]), 400
    def save(tx, now):
        for name, value in changed.items():
            faq_records.set_company_value(tx, name, value, g.admin.user_id, now)
    save_faq_change("console_settings_saved", ",".join(changed), save)
    return render_template("settings.html", values=library.book.company, changed=library.changes.company, errors=[],
                           saved=True)


# -- reminders ------------------------------------------------------------------------------------

@blueprint.get("/reminders")
def reminders_page():
    service = console().runtime.services.reminders
    now = _now()
    items = [{"reminder": r, "next": service.next_runs(r, now, 3)} for r in service.book.reminders]
    history = read(lambda conn: list(conn.execute(select(rr.broadcasts).order_by(desc(rr.broadcasts.c.id))
                                                   .limit(30))))
    return render_template("reminders.html", items=items, history=history, count=None)


@blueprint.post("/reminders/count")
def reminders_count():
    """The dry run: how many would receive it now (a directory read, outside any transaction)."""
    runtime = console().runtime
    service = runtime.services.reminders
    reminder = service.book.get(request.form.get("id", ""))
    if reminder is None:
        return message_page("reminder_not_found", 404)
    skipped: Counter = Counter()
    kinds: Counter = Counter()
    try:
        for page in Audience(runtime.client, runtime.store, runtime.settings.reads_members).pages(reminder, skipped):
            kinds.update(kind for kind, _ in page)
    except ApiError:
        return message_page("count_failed", 502)
    now = _now()
    items = [{"reminder": r, "next": service.next_runs(r, now, 3)} for r in service.book.reminders]
    history = read(lambda conn: list(conn.execute(select(rr.broadcasts).order_by(desc(rr.broadcasts.c.id))
                                                   .limit(30))))
    count = {"reminder": reminder, "users": kinds["user"], "rooms": kinds["channel"], "skipped": skipped,
             "refusal": service.book.may_send_now(reminder, runtime.clock.now())}
    return render_template("reminders.html", items=items, history=history, count=count)


# -- audit ----------------------------------------------------------------------------------------

def _audit_rows(args, limit: int = 200) -> list:
    log = records.audit_log
    query = select(log).order_by(desc(log.c.id)).limit(limit)
    who, action = args.get("who", "").strip(), args.get("action", "").strip()
    if who:
        query = query.where(func.lower(log.c.actor_id).contains(who.lower()))
    if action:
        query = query.where(log.c.action.contains(action))
    for name, op in (("since", "ge"), ("until", "lt")):
        value = args.get(name, "").strip()
        if value:
            try:
                day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=console().runtime.settings.tz)
            except ValueError:
                continue
            if op == "lt":
                day += timedelta(days=1)
            query = query.where(log.c.at >= utc_naive(day) if op == "ge" else log.c.at < utc_naive(day))
    return read(lambda conn: list(conn.execute(query)))


@blueprint.get("/audit")
def audit_page():
    return render_template("audit.html", rows=_audit_rows(request.args), args=request.args)


@blueprint.get("/audit.csv")
def audit_csv():
    rows = [say("audit_csv_header").split(",")]
    for r in _audit_rows(request.args, limit=10000):
        rows.append([local_time(r.at), name_of(r.actor_id), r.actor_id, action_label(r.action), r.action, r.result, r.target or "",
                     records.report_number(r.report_id) if r.report_id else ""])
    return _csv_response(rows, "audit.csv")
