"""The console's sign-in with LINE WORKS through the emulator, over real HTTP: administrators only,
state checked, CSRF required, sessions that end."""
import re
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from sqlalchemy import select

from emulator.directory import ADMIN, SEED_USERS
from handlers import records
from tests.stack import running_stack

TANAKA = SEED_USERS["tanaka"]


@pytest.fixture
def stack(keypair, sqlite_url, clock):
    with running_stack(keypair, sqlite_url, clock=clock) as stack:
        yield stack


def sign_in(stack, user_id: str) -> tuple[requests.Session, requests.Response]:
    """What a browser does: /admin/ -> LINE WORKS' page -> pick a member -> back with a code."""
    browser = requests.Session()
    to_lineworks = browser.get(f"{stack.bot_url}/admin/", allow_redirects=False)
    assert to_lineworks.status_code == 302
    authorize = urlparse(to_lineworks.headers["Location"])
    query = {k: v[0] for k, v in parse_qs(authorize.query).items()}
    assert query["redirect_uri"] == f"{stack.bot_url}/admin/auth/callback"
    assert query["response_type"] == "code" and "user.read" in query["scope"].split() and query["state"]
    page = browser.get(to_lineworks.headers["Location"])
    assert page.status_code == 200 and f'data-user-id="{user_id}"' in page.text
    chosen = browser.post(f"{authorize.scheme}://{authorize.netloc}{authorize.path}",
                          data={**{k: query[k] for k in ("client_id", "redirect_uri", "scope", "state")},
                                "user_id": user_id}, allow_redirects=False)
    assert chosen.status_code == 302
    return browser, browser.get(chosen.headers["Location"])


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def audit(stack) -> list[tuple]:
    with stack.runtime.store.engine.connect() as conn:
        return [(r.actor_id, r.action, r.result) for r in conn.execute(select(records.audit_log))]


def test_an_administrator_signs_in_and_sees_the_console(stack):
    browser, home = sign_in(stack, ADMIN.user_id)
    assert home.status_code == 200 and "対応中の紛失報告" in home.text
    assert ADMIN.email in home.text or "佐藤" in home.text
    cookie = next(c for c in browser.cookies if c.name == "bot_console")
    assert cookie.has_nonstandard_attr("HttpOnly") and cookie.path == "/admin"
    assert (ADMIN.user_id, "console_sign_in", "ok") in audit(stack)


def test_a_member_who_is_not_an_administrator_sees_nothing(stack):
    browser, refused = sign_in(stack, TANAKA.user_id)
    assert refused.status_code == 403
    assert "管理者専用" in refused.text and "紛失報告" not in refused.text
    again = browser.get(f"{stack.bot_url}/admin/reports", allow_redirects=False)
    assert again.status_code == 302  # no session: back to sign-in, no data
    assert (TANAKA.user_id, "console_sign_in", "refused: not an administrator") in audit(stack)


def test_a_callback_with_a_wrong_state_is_refused(stack):
    browser = requests.Session()
    browser.get(f"{stack.bot_url}/admin/", allow_redirects=False)
    forged = browser.get(f"{stack.bot_url}/admin/auth/callback", params={"code": "x", "state": "guessed"})
    assert forged.status_code == 400
    assert not any(action == "console_sign_in" for _, action, _ in audit(stack))


def test_a_post_without_a_csrf_token_is_refused_and_does_nothing(stack):
    browser, home = sign_in(stack, ADMIN.user_id)
    refused = browser.post(f"{stack.bot_url}/admin/settings", data={"allowance_yen": "9,999"})
    assert refused.status_code == 400
    settings = browser.get(f"{stack.bot_url}/admin/settings")
    assert "9,999" not in settings.text
    accepted = browser.post(f"{stack.bot_url}/admin/settings",
                            data={"csrf_token": csrf_of(settings.text), "allowance_yen": "4,000"})
    assert accepted.status_code == 200 and "保存しました" in accepted.text


def test_signing_out_ends_the_session(stack):
    browser, home = sign_in(stack, ADMIN.user_id)
    out = browser.post(f"{stack.bot_url}/admin/logout", data={"csrf_token": csrf_of(home.text)})
    assert out.status_code == 200 and "サインアウトしました" in out.text
    assert browser.get(f"{stack.bot_url}/admin/", allow_redirects=False).status_code == 302


def test_the_webhook_needs_no_csrf_token(stack):
    assert stack.emulator.say(TANAKA.user_id, "こんにちは")["status"] == 200
