"""Files the bot writes are readable by the bot's user only.

The SQLite database and its -wal/-shm files hold reports, FAQ questions and callback bodies; the intake
journal holds callback bodies; the local demo keeps a bot secret and a private key. Every process of
the bot (web, clock, release) calls `keep_private` first: new files get mode 0600 (directories 0700),
and the database files left by an older version, readable by every local user, are narrowed.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger("bot.private_files")

PRIVATE_UMASK = 0o077


def sqlite_path(database_url: str) -> Path | None:
    """The file of a sqlite:/// URL; None for any other database or an in-memory one."""
    prefix = "sqlite:///"
    if not database_url.startswith(prefix) or database_url[len(prefix):] in ("", ":memory:"):
        return None
    return Path(database_url[len(prefix):].split("?", 1)[0])


def keep_private(database_url: str | None = None) -> None:
    os.umask(PRIVATE_UMASK)
    database = sqlite_path(database_url or "")
    if database is None:
        return
    journal = database.with_name(database.name + "-intake")
    for path, mode in [(database, 0o600), (database.with_name(database.name + "-wal"), 0o600),
                       (database.with_name(database.name + "-shm"), 0o600), (journal, 0o700)]:
        try:
            if path.exists() and path.stat().st_mode & 0o077:
                path.chmod(mode)
        except OSError as exc:  # not ours to change: say so once, and go on
            log.warning("could not make %s private (%s)", path.name, exc.strerror or type(exc).__name__)
    if journal.is_dir():
        for entry in journal.iterdir():
            try:
                if entry.stat().st_mode & 0o077:
                    entry.chmod(0o600)
            except OSError:
                pass
