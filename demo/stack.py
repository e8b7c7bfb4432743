"""The bot and the LINE WORKS emulator in one process, talking over real HTTP on localhost.

The bot's Flask app is served on a werkzeug thread with its worker thread started and the real
LineWorksClient pointed at the emulator; the emulator signs callbacks and posts them to the bot,
exactly as LINE WORKS does. Used by the behaviour tests and by the end-to-end FAQ evaluation.
"""
from __future__ import annotations

import socket
from contextlib import contextmanager
from dataclasses import dataclass

from bot.app import create_app
from bot.client import Credentials, LineWorksClient
from config.settings import load_settings
from emulator.config import EmulatorConfig
from emulator.directory import ADMIN, ADMIN_CHANNEL_ID
from emulator.testing import EmulatorHandle, running_emulator, serving

BOT_ID = "2000001"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class Identity:
    """The tenant values the emulator and the bot must agree on."""

    private_key: str
    public_key: str
    bot_secret: str
    bot_id: str = BOT_ID
    client_id: str = "local-client-id"
    client_secret: str = "local-client-secret"
    service_account: str = "local.serviceaccount@example.co.jp"


def emulator_config(identity: Identity, callback_url: str, **overrides) -> EmulatorConfig:
    values = dict(bot_id=identity.bot_id, bot_secret=identity.bot_secret, client_id=identity.client_id,
                  client_secret=identity.client_secret, service_account=identity.service_account,
                  public_key_pem=identity.public_key, callback_url=callback_url, fault_timeout_seconds=3.0)
    values.update(overrides)
    return EmulatorConfig(**values)


def bot_env(identity: Identity, database_url: str, emulator: EmulatorHandle, **overrides) -> dict:
    env = {
        "LINEWORKS_CLIENT_ID": identity.client_id,
        "LINEWORKS_CLIENT_SECRET": identity.client_secret,
        "LINEWORKS_SERVICE_ACCOUNT": identity.service_account,
        "LINEWORKS_PRIVATE_KEY": identity.private_key,
        "LINEWORKS_BOT_ID": identity.bot_id,
        "LINEWORKS_BOT_SECRET": identity.bot_secret,
        "LINEWORKS_API_BASE_URL": emulator.api_base_url,
        "LINEWORKS_AUTH_URL": emulator.auth_url,
        "LINEWORKS_AUTHORIZE_URL": emulator.authorize_url,
        "DATABASE_URL": database_url,
        "BOT_ADMIN_USER_IDS": ADMIN.user_id,
        "BOT_ADMIN_CHANNEL_ID": ADMIN_CHANNEL_ID,
    }
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


@dataclass
class LocalStack:
    emulator: EmulatorHandle
    app: object
    bot_url: str

    @property
    def runtime(self):
        return self.app.extensions["bot"]


@contextmanager
def running_stack(identity: Identity, database_url: str, clock=None, env_overrides=None, emulator_overrides=None):
    port = free_port()
    config = emulator_config(identity, f"http://127.0.0.1:{port}/callback", **(emulator_overrides or {}))
    with running_emulator(config, now=clock.now if clock else None) as emulator:
        env = {"BOT_PUBLIC_URL": f"http://127.0.0.1:{port}", **(env_overrides or {})}  # the console on
        settings = load_settings(bot_env(identity, database_url, emulator, **env))
        client = LineWorksClient(Credentials.from_settings(settings), timeout=(2, 4), max_wait=1)
        app = create_app(settings, clock=clock, client=client, start_worker=False)
        runtime = app.extensions["bot"]
        runtime.worker.poll_seconds = 0.05
        with serving(app, port) as bot_url:
            runtime.worker.start()
            try:
                yield LocalStack(emulator, app, bot_url)
            finally:
                runtime.worker.stop()
                runtime.store.engine.dispose()
