"""What every process of the bot builds once: settings, config/ (every file, validated), storage, the one
API client.

The web process (bot/app.py) adds the handlers and the worker; the clock process (scheduler/) uses it
as it is, without Flask or the handlers.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable

from bot.client import Credentials, LineWorksClient
from bot.clock import SystemClock
from bot.dispatcher import Context
from bot.intake_journal import IntakeJournal
from bot.migrate import upgrade
from bot.private_files import keep_private
from bot.store import Store, journal_directory, make_engine
from bot.worker import Worker
from config.settings import Settings
from config.texts import Texts
from config.tree import ConfigTree, load_config


def configure_logging() -> None:
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")


@dataclass
class Runtime:
    """Everything built once per process and shared by the web app, the worker and the scheduler."""

    settings: Settings
    clock: object
    store: Store
    client: LineWorksClient
    config: ConfigTree
    services: object = None  # the handlers' collaborators, set by the web process (bot/app.py)
    worker: Worker | None = None
    records_for: Callable[[Any], Any] | None = None  # the handlers' repositories over a transaction (bot/app.py)

    @property
    def texts(self) -> Texts:
        return self.config.texts

    def context(self, tx) -> Context:
        return Context(now=self.clock.now().astimezone(self.settings.tz), settings=self.settings, tx=tx,
                       texts=self.texts, services=self.services,
                       records=self.records_for(tx) if self.records_for else None)

    def wake_worker(self) -> None:
        if self.worker:
            self.worker.wake()


def build_runtime(settings: Settings, clock=None, client=None, config: ConfigTree | None = None) -> Runtime:
    """Raises ConfigError (every mistake in config/, one per line) before touching the database."""
    config = config or load_config(settings.config_dir)
    keep_private(settings.database_url)
    clock = clock or SystemClock()
    engine = make_engine(settings.database_url)
    if engine.dialect.name == "sqlite":
        upgrade(settings.database_url)  # the zero-set-up default; PostgreSQL migrates in `release:`
    journal_dir = journal_directory(settings.database_url)
    store = Store(engine, clock, journal=IntakeJournal(journal_dir) if journal_dir else None)
    client = client or LineWorksClient(Credentials.from_settings(settings))
    return Runtime(settings=settings, clock=clock, store=store, client=client, config=config)
