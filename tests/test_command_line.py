"""The one command line (manage.py) and the entry points the Procfile uses, run as processes."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_manage_lists_every_command():
    done = run("-m", "manage", "--help")
    assert done.returncode == 0
    for command in ("migrate", "check", "faq", "reminders", "clock"):
        assert command in done.stdout


def test_the_release_lines_faq_check_runs_through_the_same_command():
    for args in (("-m", "handlers.faq", "check"), ("-m", "manage", "check"), ("-m", "manage", "faq", "check")):
        done = run(*args)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("ok: ") and "entries" in done.stdout


def test_an_unknown_command_is_a_usage_error():
    done = run("-m", "manage", "nonsense")
    assert done.returncode == 2 and "No such command" in done.stderr


def test_check_names_every_mistake_in_every_file_in_one_run(tmp_path):
    config = ROOT / "config"
    for name in ("faq.yaml", "company.yaml", "messages.yaml", "vocabulary.yaml", "reminders.yaml"):
        (tmp_path / name).write_text((config / name).read_text(encoding="utf-8"), encoding="utf-8")
    faq = (tmp_path / "faq.yaml").read_text(encoding="utf-8")
    (tmp_path / "faq.yaml").write_text(faq.replace("{allowance_yen}", "{allowance}", 1), encoding="utf-8")
    reminders = (tmp_path / "reminders.yaml").read_text(encoding="utf-8")
    (tmp_path / "reminders.yaml").write_text(reminders.replace("policy:", "colour: red\npolicy:", 1), encoding="utf-8")
    (tmp_path / "company.yaml").write_text("allowance_yen: [1, 2]\n", encoding="utf-8")

    done = run("-m", "manage", "check", "--config-dir", str(tmp_path))

    assert done.returncode == 1 and done.stdout == ""
    lines = [line.strip() for line in done.stderr.splitlines() if line.startswith("  - ")]
    assert "- company.yaml: key 'allowance_yen': must be a text or number" in lines
    assert "- reminders.yaml: field 'colour': unknown field" in lines
    assert any(line.startswith("- faq.yaml: entry ") and "unknown placeholder {allowance}" in line for line in lines)


def test_what_was_taught_in_the_talk_exports_as_yaml(tmp_path):
    import os
    from datetime import datetime, timezone

    import yaml

    from bot.migrate import upgrade
    from bot.store import make_engine
    from handlers import ticket_records as tr

    url = f"sqlite:///{tmp_path}/bot.sqlite3"
    upgrade(url)
    engine = make_engine(url)
    now = datetime(2026, 11, 27, tzinfo=timezone.utc)
    with engine.begin() as tx:
        tr.learn(tx, tr.LearnedKind.ENTRY, "learned-1", "社内報の締め切りは？", "admin-1", now, answer="毎月5日です。",
                 title="社内報の締め切り", category="environment", ticket_id=1)
        tr.learn(tx, tr.LearnedKind.EXAMPLE, "snooze", "通知がうるさい", "admin-1", now)
    engine.dispose()

    done = subprocess.run([sys.executable, "-m", "manage", "faq", "export-learned"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "DATABASE_URL": url})

    assert done.returncode == 0, done.stderr
    exported = yaml.safe_load(done.stdout)
    assert exported["entries"] == [{"id": "learned-1", "category": "environment", "title": "社内報の締め切り",
                                    "questions": ["社内報の締め切りは？"], "answer": "毎月5日です。"}]
    assert exported["examples"] == {"snooze": ["通知がうるさい"]}
