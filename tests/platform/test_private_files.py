"""The database, its -wal/-shm files and the intake journal are readable by the bot's user only."""
import os
import stat

import pytest

from bot.private_files import keep_private
from tests.platform.helpers import make_app, post_event, text_event


@pytest.fixture
def restore_umask():
    previous = os.umask(0o022)
    os.umask(previous)
    yield
    os.umask(previous)


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_files_the_bot_writes_are_private(settings, clock, tmp_path, restore_umask):
    os.umask(0o022)  # what a shell gives by default: files readable by everyone
    app = make_app(settings, clock)
    try:
        assert post_event(app.test_client(), text_event()).status_code == 200  # into the intake journal
        runtime = app.extensions["bot"]
        journal_files = list((tmp_path / "bot.sqlite3-intake").iterdir())
        assert journal_files
        assert all(mode(p) == 0o600 for p in journal_files)
        runtime.store.import_journal()  # the database is written: -wal and -shm exist
        for name in ("bot.sqlite3", "bot.sqlite3-wal", "bot.sqlite3-shm"):
            if (tmp_path / name).exists() or name == "bot.sqlite3":
                assert mode(tmp_path / name) == 0o600, name
        assert mode(tmp_path / "bot.sqlite3-intake") == 0o700
    finally:
        app.extensions["bot"].store.engine.dispose()


def test_a_database_left_readable_by_an_older_version_is_narrowed(tmp_path, restore_umask):
    database = tmp_path / "old.sqlite3"
    for path in (database, tmp_path / "old.sqlite3-wal"):
        path.write_bytes(b"")
        path.chmod(0o644)
    keep_private(f"sqlite:///{database}")
    assert mode(database) == 0o600 and mode(tmp_path / "old.sqlite3-wal") == 0o600
    new_file = tmp_path / "new"
    new_file.write_text("x")
    assert mode(new_file) == 0o600
