"""The bot and the LINE WORKS emulator talking over real HTTP, for behaviour tests.

The bot runs in-process (its Flask app on a werkzeug server thread, its worker thread started) with
the real LineWorksClient pointed at the emulator; the emulator signs callbacks and posts them to the
bot, exactly as LINE WORKS does. `serve_procfile_web` instead runs the Procfile's web line.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests
from werkzeug.serving import WSGIRequestHandler, make_server

from bot.app import create_app
from bot.client import Credentials, LineWorksClient
from config.settings import load_settings
from emulator.config import EmulatorConfig
from emulator.directory import ADMIN, ADMIN_CHANNEL_ID
from emulator.testing import EmulatorHandle, running_emulator
from tests.conftest import BOT_ID, BOT_SECRET, make_env

ROOT = Path(__file__).resolve().parent.parent


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def emulator_config(public_key: str, callback_url: str, **overrides) -> EmulatorConfig:
    values = dict(bot_id=BOT_ID, bot_secret=BOT_SECRET, client_id="test-client-id",
                  client_secret="test-client-secret", service_account="test.serviceaccount@example.co.jp",
                  public_key_pem=public_key, callback_url=callback_url, fault_timeout_seconds=3.0)
    values.update(overrides)
    return EmulatorConfig(**values)


def stack_env(private_key: str, database_url: str, emulator: EmulatorHandle, **overrides) -> dict:
    env = make_env(private_key, database_url, LINEWORKS_API_BASE_URL=emulator.api_base_url,
                   LINEWORKS_AUTH_URL=emulator.auth_url, BOT_ADMIN_USER_IDS=ADMIN.user_id,
                   BOT_ADMIN_CHANNEL_ID=ADMIN_CHANNEL_ID)
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


@dataclass
class BotStack:
    emulator: EmulatorHandle
    app: object
    bot_url: str

    @property
    def runtime(self):
        return self.app.extensions["bot"]


@contextmanager
def running_stack(keypair, database_url: str, clock=None, env_overrides=None, emulator_overrides=None):
    private_key, public_key = keypair
    server_socket_port = free_port()
    with running_emulator(emulator_config(public_key, f"http://127.0.0.1:{server_socket_port}/callback",
                                          **(emulator_overrides or {}))) as emulator:
        settings = load_settings(stack_env(private_key, database_url, emulator, **(env_overrides or {})))
        client = LineWorksClient(Credentials.from_settings(settings), timeout=(2, 4), max_wait=1)
        app = create_app(settings, clock=clock, client=client, start_worker=False)
        server = make_server("127.0.0.1", server_socket_port, app, threaded=True, request_handler=_Quiet)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        runtime = app.extensions["bot"]
        runtime.worker.poll_seconds = 0.05
        runtime.worker.start()
        try:
            yield BotStack(emulator, app, f"http://127.0.0.1:{server_socket_port}")
        finally:
            runtime.worker.stop()
            server.shutdown()
            server.server_close()
            thread.join(5)
            runtime.store.engine.dispose()


def procfile_line(name: str) -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith(name + ":"):
            return line.split(":", 1)[1].strip()
    raise KeyError(name)


@contextmanager
def serve_procfile_web(env: dict, port: int, log_path: Path):
    """Run the Procfile's web line (gunicorn) with `env`, wait for /healthz, stop it afterwards."""
    env = dict(env, PORT=str(port), PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    with open(log_path, "wb") as log:
        process = subprocess.Popen(procfile_line("web"), shell=True, cwd=ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 30
            while True:
                if process.poll() is not None:
                    raise AssertionError(f"web process exited: {log_path.read_text()[-2000:]}")
                try:
                    if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                        break
                except requests.RequestException:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(f"web process did not answer: {log_path.read_text()[-2000:]}")
                time.sleep(0.2)
            yield process
        finally:
            os.killpg(process.pid, 15)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
