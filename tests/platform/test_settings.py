import pytest

from config.settings import SettingsError, load_settings, normalise_database_url
from tests.conftest import make_env


def test_missing_variables_are_each_named(keypair):
    env = make_env(keypair[0], "sqlite:///x.db", LINEWORKS_CLIENT_ID=None, LINEWORKS_BOT_SECRET=None,
                   LINEWORKS_PRIVATE_KEY=None)
    with pytest.raises(SettingsError) as info:
        load_settings(env)
    message = str(info.value)
    assert "LINEWORKS_CLIENT_ID is required" in message
    assert "LINEWORKS_BOT_SECRET is required" in message
    assert "LINEWORKS_PRIVATE_KEY" in message
    assert "LINEWORKS_SERVICE_ACCOUNT" not in message  # present, so not named


def test_malformed_values_are_named_and_secrets_never_printed(keypair):
    env = make_env(keypair[0], "mysql://nope", PORT="eighty", BOT_TIMEZONE="Mars/Base",
                   LINEWORKS_API_BASE_URL="ftp://x", LINEWORKS_PRIVATE_KEY="super-secret-not-a-pem")
    with pytest.raises(SettingsError) as info:
        load_settings(env)
    message = str(info.value)
    for name in ("DATABASE_URL", "PORT", "BOT_TIMEZONE", "LINEWORKS_API_BASE_URL", "LINEWORKS_PRIVATE_KEY"):
        assert name in message
    assert "super-secret-not-a-pem" not in message
    assert "test-client-secret" not in message and "test-bot-secret" not in message


def test_defaults_and_parsing(keypair):
    env = make_env(keypair[0], "", LINEWORKS_API_BASE_URL=None, LINEWORKS_AUTH_URL=None,
                   BOT_ADMIN_USER_IDS=" a@example.co.jp, b ,,")
    settings = load_settings(env)
    assert settings.api_base_url == "https://www.worksapis.com/v1.0"
    assert settings.auth_url == "https://auth.worksmobile.com/oauth2/v2.0/token"
    assert settings.database_url == "sqlite:///bot.sqlite3"
    assert settings.admin_user_ids == ("a@example.co.jp", "b")
    assert settings.timezone == "Asia/Tokyo"
    assert "secret" not in repr(settings).lower().replace("bot_secret", "").replace("client_secret", "")


def test_private_key_from_file_and_escaped_newlines(keypair, tmp_path):
    key_file = tmp_path / "key.pem"
    key_file.write_text(keypair[0])
    settings = load_settings(make_env(keypair[0], "", LINEWORKS_PRIVATE_KEY=None,
                                      LINEWORKS_PRIVATE_KEY_FILE=str(key_file)))
    assert settings.private_key == keypair[0].strip()
    escaped = keypair[0].strip().replace("\n", "\\n")
    assert load_settings(make_env(escaped, "")).private_key == keypair[0].strip()
    with pytest.raises(SettingsError, match="LINEWORKS_PRIVATE_KEY_FILE cannot be read"):
        load_settings(make_env(keypair[0], "", LINEWORKS_PRIVATE_KEY=None,
                               LINEWORKS_PRIVATE_KEY_FILE=str(tmp_path / "missing.pem")))


@pytest.mark.parametrize("given,expected", [
    ("postgres://u:p@h:5432/db", "postgresql+psycopg://u:p@h:5432/db"),
    ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
    ("sqlite:///bot.sqlite3", "sqlite:///bot.sqlite3"),
])
def test_database_url_forms(given, expected):
    assert normalise_database_url(given) == expected


def test_reminders_at_any_hour_are_for_a_trial_against_the_local_emulator_only(keypair):
    local = make_env(keypair[0], "sqlite:///x.db", LINEWORKS_API_BASE_URL="http://127.0.0.1:9000/v1.0",
                     BOT_DEMO_REMINDERS_ANY_HOUR="true")
    assert load_settings(local).demo_reminders_any_hour is True
    real = dict(local, LINEWORKS_API_BASE_URL="https://www.worksapis.com/v1.0")
    with pytest.raises(SettingsError, match="BOT_DEMO_REMINDERS_ANY_HOUR"):
        load_settings(real)


def test_at_any_hour_a_reminder_may_be_sent_at_night_in_the_trial_only():
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from config.tree import load_config
    from scheduler.config import book_from_config

    tokyo = ZoneInfo("Asia/Tokyo")
    night = datetime(2026, 11, 17, 22, 0, tzinfo=tokyo)
    usual, trial = book_from_config(load_config(), tokyo), book_from_config(load_config(), tokyo, any_hour=True)
    reminder = next(r for r in usual.reminders if not r.spec.urgent)
    assert usual.may_send_now(reminder, night) == "quiet"
    assert trial.may_send_now(trial.get(reminder.id), night) is None
