"""Run the Alembic migrations: `python -m bot.migrate` (the Procfile's release line), also
`python -m manage migrate`.

The web process also runs them at start when the database is the default SQLite file, so that a
first run needs no set-up step.
"""
from __future__ import annotations

import fcntl
import logging
import os
import sys
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config

from config.settings import DEFAULT_DATABASE_URL, normalise_database_url
from bot.private_files import keep_private

ROOT = Path(__file__).resolve().parent.parent


def database_url_from_env() -> str:
    return normalise_database_url(os.environ.get("DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL)


@contextmanager
def _migration_lock(url: str):
    """Several web workers start at once on one SQLite file: let one migrate, the others wait."""
    if not url.startswith("sqlite:///") or url == "sqlite:///:memory:":
        yield
        return
    lock_path = Path(url[len("sqlite:///"):] + ".migrate.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def upgrade(url: str) -> None:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["url"] = url
    with _migration_lock(url):
        command.upgrade(config, "head")


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    url = database_url_from_env()
    keep_private(url)
    upgrade(url)
    logging.getLogger("bot.migrate").info("database schema is up to date (%s)", url.split("://")[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
