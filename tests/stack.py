"""Test wiring of the local stack (demo/stack.py) with the test suite's tenant values, and the
Procfile's web line run for real."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import requests

from demo import stack as local
from demo.procfile import procfile_commands
from demo.stack import Identity
from tests.conftest import BOT_ID, BOT_SECRET

ROOT = Path(__file__).resolve().parent.parent


def identity(keypair) -> Identity:
    return Identity(private_key=keypair[0], public_key=keypair[1], bot_secret=BOT_SECRET, bot_id=BOT_ID,
                    client_id="test-client-id", client_secret="test-client-secret",
                    service_account="test.serviceaccount@example.co.jp")


def emulator_config(public_key: str, callback_url: str, **overrides):
    return local.emulator_config(identity(("", public_key)), callback_url, **overrides)


def stack_env(private_key: str, database_url: str, emulator, **overrides) -> dict:
    return local.bot_env(identity((private_key, "")), database_url, emulator, **overrides)


def running_stack(keypair, database_url: str, clock=None, env_overrides=None, emulator_overrides=None):
    return local.running_stack(identity(keypair), database_url, clock, env_overrides, emulator_overrides)


def settled(stack, timeout: float = 10.0) -> None:
    """Wait until the running bot has nothing left to do now: every callback imported and handled,
    every account action finished, every due message sent. What has not happened by then will not
    happen without a new event or a later time, so a test can assert that something did not."""
    from sqlalchemy import and_, func, or_, select

    from bot.account_actions import account_actions
    from bot.status import Status
    from bot.store import inbox, outbox

    store = stack.runtime.store
    deadline = time.monotonic() + timeout
    while True:
        store.import_journal()
        now = store.now()
        with store.engine.connect() as conn:
            busy = sum(conn.execute(select(func.count()).select_from(table).where(condition)).scalar_one() for
                       table, condition in (
                           (inbox, inbox.c.status.in_((Status.PENDING, Status.PROCESSING))),
                           (account_actions, account_actions.c.status.in_((Status.PENDING, Status.PROCESSING))),
                           (outbox, or_(outbox.c.status == Status.SENDING,
                                        and_(outbox.c.status == Status.PENDING, outbox.c.next_attempt_at <= now))),
                       ))
        if not busy:
            return
        assert time.monotonic() < deadline, f"the bot still had {busy} rows of work after {timeout} s"
        time.sleep(0.02)


def procfile_line(name: str) -> str:
    return procfile_commands()[name]


def start_procfile_web(env: dict, port: int, log_path: Path) -> subprocess.Popen:
    """Start the Procfile's web line (waitress) in a process group of its own; wait for /healthz."""
    env = dict(env, PORT=str(port), PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    with open(log_path, "ab") as log:
        process = subprocess.Popen(procfile_line("web"), shell=True, cwd=ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            raise AssertionError(f"web process exited: {log_path.read_text()[-2000:]}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            stop_group(process, signal.SIGKILL)
            raise AssertionError(f"web process did not answer: {log_path.read_text()[-2000:]}")
        time.sleep(0.1)


def stop_group(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        return
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


@contextmanager
def serve_procfile_web(env: dict, port: int, log_path: Path):
    """The Procfile's web line for the duration of the block."""
    process = start_procfile_web(env, port, log_path)
    try:
        yield process
    finally:
        stop_group(process)
