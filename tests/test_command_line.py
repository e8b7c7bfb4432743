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
