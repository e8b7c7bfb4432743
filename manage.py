"""The bot's one command line, for the operator and the developer: `python -m manage --help`.

    python -m manage migrate                         bring the database schema up to date
    python -m manage check                           validate every file in config/
    python -m manage faq ask TEXT                    how one message is answered, with the scores
    python -m manage faq evaluate [--words-only] FILE...   accuracy on question sets
    python -m manage faq export-learned              what was taught in the talk, as YAML
    python -m manage reminders list [--count N]      every reminder with its next runs
    python -m manage reminders send ID [--dry-run]   send today's occurrence now (or count recipients)
    python -m manage clock                           the clock process (run exactly one)

The entry points the Procfile and older scripts use run the same commands: `python -m bot.migrate`,
`python -m handlers.faq check|ask|evaluate`, `python -m scheduler [list|send]`. Modules are imported
inside each command, so the clock does not load the FAQ and `check` does not load the scheduler.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

import click


@dataclass
class Injected:
    """What tests hand to a command instead of the environment and the real world."""

    env: dict | None = None
    clock: object = None
    client: object = None
    out: object = None
    settings: object = None


@click.group(help="The LINE WORKS BYOD bot's commands.")
def cli() -> None:
    pass


@cli.command(help="Bring the database (DATABASE_URL) up to date.")
def migrate() -> int:
    from bot import migrate as migrations

    return migrations.main()


@cli.command(help="Validate every file in config/: FAQ, company values, messages, vocabulary, reminders.")
@click.option("--config-dir", type=click.Path(exists=True, file_okay=False), help="another config folder")
def check(config_dir: str | None) -> int:
    import os
    from zoneinfo import ZoneInfo

    from config.files import ConfigError
    from config.settings import CONFIG_DIR
    from config.tree import load_config
    from handlers import faq, matching
    from scheduler.config import book_from_config

    try:
        tree = load_config(config_dir or CONFIG_DIR)
        reminders = book_from_config(tree, ZoneInfo(os.environ.get("BOT_TIMEZONE") or "Asia/Tokyo"))
        semantic = os.environ.get("BOT_FAQ_SEMANTIC", "true").strip().lower() not in ("0", "false", "no", "off")
        params = matching.MatchParams() if semantic else matching.MatchParams(**matching.WORDS_ONLY)
        book = faq.build_book(tree.faq, tree.vocabulary, params)  # with the meaning signal, caches the vectors
    except ConfigError as exc:
        click.echo(f"config/ cannot be used ({len(exc.problems)} problem(s)):", err=True)
        for problem in exc.problems:
            click.echo(f"  - {problem}", err=True)
        return 1
    click.echo(f"ok: {len(book.entries)} entries, {len(book.categories)} categories, "
               f"{len(reminders.reminders)} reminders, {len(tree.company)} company values")
    if tree.company.get("admin_email", "").endswith("@example.com"):
        click.echo("warning: company.yaml still has the sample contact (admin_email ends in @example.com); "
                   "employees are told to write to it", err=True)
    return 0


@cli.group(help="The FAQ: try a question, score question sets.")
def faq() -> None:
    pass


faq.add_command(check)


@faq.command(help="Show how one message is answered: the outcome, the best entries' scores, the reply.")
@click.argument("text", nargs=-1, required=True)
def ask(text: tuple[str, ...]) -> int:
    from handlers import faq as faq_module

    try:
        book = faq_module.load_faq()
    except faq_module.FaqError as exc:
        click.echo(str(exc), err=True)
        return 1
    message = " ".join(text)
    click.echo(str(faq_module.classify(book, message)))
    for r in book.matcher.rank(book.matcher.smalltalk.strip(message)):
        click.echo(f"  {r.id:20s} {r.score:.3f} words={r.words:.3f} meaning={r.meaning:.3f}")
    for line in faq_module.reply_texts(faq_module.respond(book, message)):
        click.echo(line)
    return 0


@faq.command(help="Score question sets (tests/faq/data/*.yaml): exit 1 when one is below its bar.")
@click.option("--words-only", is_flag=True, help="as with BOT_FAQ_SEMANTIC=false")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
def evaluate(files: tuple[str, ...], words_only: bool) -> int:
    from handlers import faq_eval

    return faq_eval.evaluate(list(files), words_only=words_only, echo=click.echo)


@faq.command(name="export-learned",
             help="Print what administrators taught in the talk (/faq add) as YAML, from DATABASE_URL.")
def export_learned() -> int:
    from bot.migrate import database_url_from_env
    from bot.store import make_engine
    from handlers import faq_teach, ticket_records

    engine = make_engine(database_url_from_env())
    try:
        with engine.connect() as conn:
            learned = ticket_records.all_learned(conn)
    finally:
        engine.dispose()
    click.echo(faq_teach.as_yaml(learned), nl=False)
    return 0


@cli.group(help="Scheduled reminders (config/reminders.yaml).")
def reminders() -> None:
    pass


@reminders.command(name="list", help="Every reminder with its next run times.")
@click.option("--count", default=5, show_default=True, help="how many next runs to show")
@click.pass_obj
def list_reminders(injected: Injected, count: int) -> int:
    from scheduler import commands

    return commands.run(injected, "list", count=count)


@reminders.command(help="Send today's occurrence of a reminder now, through the clock's own path.")
@click.argument("reminder_id")
@click.option("--dry-run", is_flag=True, help="count the recipients; send nothing")
@click.pass_obj
def send(injected: Injected, reminder_id: str, dry_run: bool) -> int:
    from scheduler import commands

    return commands.run(injected, "send", reminder_id=reminder_id, dry_run=dry_run)


@cli.command(help="Run the clock process: scheduled reminders and daily housekeeping.")
@click.pass_obj
def clock(injected: Injected) -> int:
    from scheduler import commands

    return commands.run(injected, "clock")


def run(argv: list[str], prog: str = "python -m manage", **injected) -> int:
    """Run one command; its exit code. Usage errors print the usage and give 2."""
    try:
        result = cli.main(args=list(argv), prog_name=prog, obj=Injected(**injected), standalone_mode=False)
    except click.exceptions.Abort:
        return 1
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
