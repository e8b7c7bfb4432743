"""Shared fixtures: settings with a throw-away key, databases (SQLite and PostgreSQL), a fixed clock.

Storage and worker tests run against SQLite and against PostgreSQL (TEST_DATABASE_URL, default the
machine's local server). Under CI=true a PostgreSQL that cannot be reached fails the run; elsewhere
those tests skip with the reason.
"""
from __future__ import annotations

import os
import shutil
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import MetaData, create_engine, text

from bot.clock import FixedClock
from bot.migrate import upgrade
from config.settings import load_settings, normalise_database_url
from emulator.keys import generate_keypair

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
BOT_ID = "2000001"
BOT_SECRET = "test-bot-secret"
API_BASE = "https://api.test/v1.0"
AUTH_URL = "https://auth.test/oauth2/v2.0/token"


@pytest.fixture(scope="session", autouse=True)
def faq_vectors_cached():
    """Compute the FAQ example vectors once, as the Procfile's release does, so that the web processes
    the tests start (the web process, the emulator stack) read them from .cache/ at boot."""
    from handlers import faq

    faq.load_faq()


@pytest.fixture(scope="session")
def keypair() -> tuple[str, str]:
    return generate_keypair()


@pytest.fixture
def clock() -> FixedClock:
    # A Tuesday, 10:00 in Tokyo.
    return FixedClock(datetime(2026, 11, 17, 1, 0, tzinfo=timezone.utc))


def make_env(private_key: str, database_url: str, **overrides) -> dict:
    env = {
        "LINEWORKS_CLIENT_ID": "test-client-id",
        "LINEWORKS_CLIENT_SECRET": "test-client-secret",
        "LINEWORKS_SERVICE_ACCOUNT": "test.serviceaccount@example.co.jp",
        "LINEWORKS_PRIVATE_KEY": private_key,
        "LINEWORKS_BOT_ID": BOT_ID,
        "LINEWORKS_BOT_SECRET": BOT_SECRET,
        "LINEWORKS_API_BASE_URL": API_BASE,
        "LINEWORKS_AUTH_URL": AUTH_URL,
        "DATABASE_URL": database_url,
        "BOT_ADMIN_USER_IDS": "admin-1",
    }
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def _postgres_url() -> str:
    return os.environ.get("TEST_DATABASE_URL", DEFAULT_PG_URL)


@pytest.fixture(scope="session")
def postgres_url():
    """A schema of its own in the test database, so that test runs side by side do not collide."""
    url = _postgres_url()
    try:
        engine = create_engine(normalise_database_url(url))
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # unreachable server: a failure in CI, a skip elsewhere
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL at {url} is required in CI but cannot be reached: {exc}")
        pytest.skip(f"PostgreSQL at {url} is not reachable ({type(exc).__name__}); set TEST_DATABASE_URL to run")
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in url else "?"
    scoped = f"{url}{separator}options=-csearch_path%3D{schema}"
    upgrade(normalise_database_url(scoped))
    yield scoped
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


def _truncate(url: str) -> None:
    engine = create_engine(normalise_database_url(url))
    with engine.begin() as conn:
        meta = MetaData()
        meta.reflect(conn)
        names = [t.name for t in meta.sorted_tables if t.name != "alembic_version"]
        if names:
            conn.execute(text("TRUNCATE " + ", ".join(f'"{n}"' for n in names) + " RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path: Path) -> str:
    """Each storage test runs twice: on a fresh SQLite file and on the local PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
        upgrade(url)
        return url
    url = request.getfixturevalue("postgres_url")
    _truncate(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'bot.sqlite3'}"


@pytest.fixture
def settings(keypair, sqlite_url):
    return load_settings(make_env(keypair[0], sqlite_url))


@pytest.fixture
def app(settings, clock):
    """The bot's Flask app on SQLite, worker not started, API calls through a real client."""
    from tests.platform.helpers import make_app

    return make_app(settings, clock)


@pytest.fixture
def http(app):
    return app.test_client()


@pytest.fixture
def settings_for(keypair):
    """Build settings for a given database URL, with overrides."""
    def build(database_url: str, **overrides):
        return load_settings(make_env(keypair[0], database_url, **overrides))
    return build


CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def browser():
    """Debian's headless Chromium through Playwright. Missing: a skip with the reason, a failure in CI."""
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("chromium is required in CI (make browser-deps)")
        pytest.skip("chromium is not installed; run `make browser-deps` (Debian) to include the browser tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield launched
        launched.close()
