"""Settings: read from the environment once, at start, and validated together.

Every problem is reported in one error that names the variable; secret values are never echoed.
Nothing here reads os.environ at import time: callers pass the mapping (tests pass a dict).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_API_BASE_URL = "https://www.worksapis.com/v1.0"
DEFAULT_AUTH_URL = "https://auth.worksmobile.com/oauth2/v2.0/token"
DEFAULT_AUTHORIZE_URL = "https://auth.worksmobile.com/oauth2/v2.0/authorize"
DEFAULT_DATABASE_URL = "sqlite:///bot.sqlite3"
CONFIG_DIR = Path(__file__).resolve().parent


class SettingsError(ValueError):
    """Raised with one line per missing or malformed variable."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(
            "configuration is incomplete or invalid:\n"
            + "\n".join(f"  - {p}" for p in problems)
            + "\nSee README.md, section 'Environment variables'."
        )


@dataclass(frozen=True)
class Settings:
    client_id: str
    client_secret: str = field(repr=False)
    service_account: str
    private_key: str = field(repr=False)
    bot_id: str
    bot_secret: str = field(repr=False)
    api_base_url: str = DEFAULT_API_BASE_URL
    auth_url: str = DEFAULT_AUTH_URL
    database_url: str = DEFAULT_DATABASE_URL
    admin_user_ids: tuple[str, ...] = ()
    admin_channel_id: str | None = None
    admin_from_directory: bool = False
    timezone: str = "Asia/Tokyo"
    port: int = 8000
    send_rate_per_min: int = 100
    retention_days: int = 90
    faq_semantic: bool = True  # the FAQ's meaning signal (an embedding model, ~100 MB); False: words only
    scopes: str = "bot user"
    bot_name: str = "ボット"  # how members address the bot in a group room (its display name)
    config_dir: Path = CONFIG_DIR
    public_url: str | None = None  # BOT_PUBLIC_URL: where the bot is reached; the console is off without it
    authorize_url: str = DEFAULT_AUTHORIZE_URL  # member sign-in for the console
    demo_reminders_any_hour: bool = False  # trial with the emulator only: no quiet hours or days off

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def console_enabled(self) -> bool:
        return bool(self.public_url)

    @property
    def reads_members(self) -> bool:
        """Member look-ups and directory-wide reminders need a user or directory scope."""
        return bool({"user", "user.read", "directory", "directory.read"} & set(self.scopes.split()))

    @property
    def locks_accounts(self) -> bool:
        """Force logout, suspend and unsuspend need `user` or `directory` (not offered on the Free plan)."""
        return bool({"user", "directory"} & set(self.scopes.split()))


def normalise_database_url(url: str) -> str:
    """Accept Heroku-style postgres:// and plain postgresql:// and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _int(env: Mapping[str, str], name: str, default: int, problems: list[str], low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        problems.append(f"{name} must be a whole number (got {raw!r})")
        return default
    if not low <= value <= high:
        problems.append(f"{name} must be between {low} and {high} (got {value})")
    return value


def _bool(env: Mapping[str, str], name: str, problems: list[str], default: bool = False) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in ("0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    problems.append(f"{name} must be true or false (got {raw!r})")
    return False


def _private_key(env: Mapping[str, str], problems: list[str]) -> str:
    pem = env.get("LINEWORKS_PRIVATE_KEY", "").strip()
    path = env.get("LINEWORKS_PRIVATE_KEY_FILE", "").strip()
    if not pem and path:
        try:
            pem = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            problems.append(f"LINEWORKS_PRIVATE_KEY_FILE cannot be read ({exc.strerror})")
            return ""
    if not pem:
        problems.append("LINEWORKS_PRIVATE_KEY (PEM text) or LINEWORKS_PRIVATE_KEY_FILE is required")
        return ""
    # Platforms that cannot hold multi-line values often store the PEM with literal \n.
    pem = pem.replace("\\n", "\n")
    if "PRIVATE KEY-----" not in pem:
        source = "LINEWORKS_PRIVATE_KEY" if env.get("LINEWORKS_PRIVATE_KEY") else "LINEWORKS_PRIVATE_KEY_FILE"
        problems.append(f"{source} is not a PEM private key (expected the key file's text, PKCS#8)")
    return pem


def _url(env: Mapping[str, str], name: str, default: str, problems: list[str]) -> str:
    value = env.get(name, "").strip() or default
    if not value.startswith(("https://", "http://")):
        problems.append(f"{name} must be an http(s) URL (got {value!r})")
    return value.rstrip("/")


def _demo_any_hour(env: Mapping[str, str], problems: list[str]) -> bool:
    """BOT_DEMO_REMINDERS_ANY_HOUR: for trying the bot against the local emulator (`make run ANY_HOUR=1`)."""
    wanted = _bool(env, "BOT_DEMO_REMINDERS_ANY_HOUR", problems)
    host = urlparse(env.get("LINEWORKS_API_BASE_URL", "").strip() or DEFAULT_API_BASE_URL).hostname or ""
    if wanted and host not in ("127.0.0.1", "localhost", "::1"):
        problems.append("BOT_DEMO_REMINDERS_ANY_HOUR is for a trial with the local emulator only "
                        "(LINEWORKS_API_BASE_URL is not on this machine)")
        return False
    return wanted


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    problems: list[str] = []

    def required(name: str) -> str:
        value = env.get(name, "").strip()
        if not value:
            problems.append(f"{name} is required")
        return value

    client_id = required("LINEWORKS_CLIENT_ID")
    client_secret = required("LINEWORKS_CLIENT_SECRET")
    service_account = required("LINEWORKS_SERVICE_ACCOUNT")
    private_key = _private_key(env, problems)
    bot_id = required("LINEWORKS_BOT_ID")
    bot_secret = required("LINEWORKS_BOT_SECRET")

    database_url = normalise_database_url(env.get("DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL)
    if not database_url.startswith(("sqlite:", "postgresql+psycopg://")):
        problems.append("DATABASE_URL must be a postgres://, postgresql:// or sqlite:/// URL")

    admins = tuple(u.strip() for u in env.get("BOT_ADMIN_USER_IDS", "").split(",") if u.strip())
    timezone = env.get("BOT_TIMEZONE", "").strip() or "Asia/Tokyo"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(f"BOT_TIMEZONE is not a known time zone (got {timezone!r})")
        timezone = "Asia/Tokyo"

    settings = Settings(
        client_id=client_id,
        client_secret=client_secret,
        service_account=service_account,
        private_key=private_key,
        bot_id=bot_id,
        bot_secret=bot_secret,
        api_base_url=_url(env, "LINEWORKS_API_BASE_URL", DEFAULT_API_BASE_URL, problems),
        auth_url=_url(env, "LINEWORKS_AUTH_URL", DEFAULT_AUTH_URL, problems),
        database_url=database_url,
        admin_user_ids=admins,
        admin_channel_id=env.get("BOT_ADMIN_CHANNEL_ID", "").strip() or None,
        admin_from_directory=_bool(env, "BOT_ADMINS_FROM_DIRECTORY", problems),
        timezone=timezone,
        port=_int(env, "PORT", 8000, problems, 1, 65535),
        send_rate_per_min=_int(env, "BOT_SEND_RATE_PER_MIN", 100, problems, 1, 240),
        retention_days=_int(env, "BOT_RETENTION_DAYS", 90, problems, 2, 3650),
        faq_semantic=_bool(env, "BOT_FAQ_SEMANTIC", problems, default=True),
        scopes=env.get("LINEWORKS_SCOPES", "").strip() or "bot user",
        bot_name=env.get("BOT_NAME", "").strip() or "ボット",
        public_url=_url(env, "BOT_PUBLIC_URL", "", problems) if env.get("BOT_PUBLIC_URL", "").strip() else None,
        authorize_url=_url(env, "LINEWORKS_AUTHORIZE_URL", DEFAULT_AUTHORIZE_URL, problems),
        demo_reminders_any_hour=_demo_any_hour(env, problems),
    )
    if problems:
        raise SettingsError(problems)
    return settings
