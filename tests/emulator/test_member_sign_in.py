"""Member sign-in (User Account auth): the authorize page, the code grant and GET /users/me."""
import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from emulator.directory import ADMIN, SEED_USERS, SUPER_ADMIN
from emulator.testing import running_emulator
from tests.emulator.conftest import CLIENT_ID, CLIENT_SECRET, Api, make_config

TANAKA = SEED_USERS["tanaka"]
REDIRECT_URI = "http://127.0.0.1:8765/admin/callback?from=emulator"
SCOPE = "user.read"


def authorize_params(**overrides) -> dict:
    params = {"client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI, "scope": SCOPE,
              "response_type": "code", "state": "st-ä 1/2"}
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def choose(emu, user_id: str, **overrides) -> requests.Response:
    """What the page's button for `user_id` posts."""
    form = authorize_params(user_id=user_id, **overrides)
    form.pop("response_type")
    return requests.post(emu.authorize_url, data=form, allow_redirects=False, timeout=5)


def sign_in_code(emu, user_id: str, **overrides) -> str:
    response = choose(emu, user_id, **overrides)
    assert response.status_code == 302, response.text
    return parse_qs(urlsplit(response.headers["Location"]).query)["code"][0]


def exchange(emu, code: str, **overrides) -> requests.Response:
    form = {"grant_type": "authorization_code", "code": code, "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET, "redirect_uri": REDIRECT_URI}
    form.update(overrides)
    return requests.post(emu.auth_url, data={k: v for k, v in form.items() if v is not None}, timeout=5)


def member_token(emu, user_id: str, scope: str = SCOPE) -> str:
    response = exchange(emu, sign_in_code(emu, user_id, scope=scope))
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def test_the_page_lists_members_with_clickable_buttons(emu):
    response = requests.get(emu.authorize_url, params=authorize_params(), allow_redirects=False, timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    html = response.content.decode("utf-8")
    assert "<title>LINE WORKS にログイン（エミュレーター）</title>" in html and '<html lang="ja">' in html
    assert not re.search(r"""(src|href)=["']https?://""", html)  # self-contained
    button = re.search(rf'<button type="submit" data-user-id="{TANAKA.user_id}">([^<]*)</button>', html)
    assert button and button.group(1) == TANAKA.email
    assert "田中 太郎" in html
    for user in (SUPER_ADMIN, ADMIN):
        row = next(li for li in html.split("<li>") if f'data-user-id="{user.user_id}"' in li)
        assert "管理者" in row  # the administrators are marked
    tanaka_row = next(li for li in html.split("<li>") if f'data-user-id="{TANAKA.user_id}"' in li)
    assert "管理者" not in tanaka_row
    for name, value in [("client_id", CLIENT_ID), ("scope", SCOPE), ("user_id", TANAKA.user_id),
                        ("redirect_uri", REDIRECT_URI.replace("&", "&amp;")), ("state", "st-ä 1/2")]:
        assert f'<input type="hidden" name="{name}" value="{value}">' in tanaka_row, name
    assert 'method="post" action="/oauth2/v2.0/authorize"' in tanaka_row
    suspended = SEED_USERS["yoshida"]
    assert re.search(rf'data-user-id="{suspended.user_id}" disabled>', html)  # cannot sign in


def test_choosing_a_member_redirects_with_a_code_and_the_state(emu):
    response = choose(emu, TANAKA.user_id)
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert (location.scheme, location.netloc, location.path) == ("http", "127.0.0.1:8765", "/admin/callback")
    query = parse_qs(location.query)
    assert query["from"] == ["emulator"]  # the redirect_uri's own query is kept
    assert query["state"] == ["st-ä 1/2"]  # URL-encoded on the way, intact on arrival
    assert len(query["code"]) == 1 and len(query["code"][0]) >= 32


def test_the_code_exchanges_once_for_a_member_token(emu):
    code = sign_in_code(emu, TANAKA.user_id)
    first = exchange(emu, code)
    assert first.status_code == 200
    body = first.json()
    assert body["token_type"] == "Bearer" and body["scope"] == SCOPE and body["expires_in"] == "86400"
    assert body["access_token"] and body["refresh_token"]
    again = exchange(emu, code)
    assert again.status_code == 400
    assert again.json()["code"] == "invalid_grant" and "used" in again.json()["description"]
    unknown = exchange(emu, "no-such-code")
    assert unknown.status_code == 400 and unknown.json()["code"] == "invalid_grant"


def test_a_wrong_client_secret_is_refused_and_leaves_the_code_usable(emu):
    code = sign_in_code(emu, TANAKA.user_id)
    response = exchange(emu, code, client_secret="nope")
    assert response.status_code == 401
    assert response.json() == {"code": "invalid_client", "description": "client_id or client_secret is wrong"}
    assert exchange(emu, code, client_id="someone-else").json()["code"] == "invalid_client"
    assert exchange(emu, code).status_code == 200  # refused exchanges did not use the code up


@pytest.mark.parametrize("redirect_uri, code", [
    ("http://127.0.0.1:8765/admin/callback", "invalid_grant"),  # query left off
    ("http://127.0.0.1:8765/other?from=emulator", "invalid_grant"),
    (None, "invalid_request"),
])
def test_a_wrong_redirect_uri_is_refused(emu, redirect_uri, code):
    sign_in = sign_in_code(emu, TANAKA.user_id)
    response = exchange(emu, sign_in, redirect_uri=redirect_uri)
    assert response.status_code == 400
    assert response.json()["code"] == code and "redirect_uri" in response.json()["description"]
    assert exchange(emu, sign_in).status_code == 200


def test_an_expired_code_is_refused(keypair):
    with running_emulator(make_config(keypair[1], authorization_code_ttl_seconds=0.5)) as emu:
        code = sign_in_code(emu, TANAKA.user_id)
        time.sleep(0.6)
        response = exchange(emu, code)
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_grant" and "expired" in response.json()["description"]


def test_users_me_returns_the_member_who_signed_in(emu, api):
    for user, scope in [(TANAKA, "user.read"), (ADMIN, "openid user.read"), (SUPER_ADMIN, "directory.read")]:
        me = Api(emu, member_token(emu, user.user_id, scope)).get("/users/me")
        assert me.status_code == 200, me.text
        assert me.json() == api.get(f"/users/{user.user_id}").json()  # the same object as /users/{id}
    assert me.json()["userId"] == SUPER_ADMIN.user_id and me.json()["isAdministrator"] is True


def test_users_me_needs_a_user_scope(emu):
    token = member_token(emu, TANAKA.user_id, scope="openid email")
    response = Api(emu, token).get("/users/me")
    assert response.status_code == 403
    assert response.json()["code"] == "FORBIDDEN" and "scope" in response.json()["description"]
    profile = Api(emu, member_token(emu, TANAKA.user_id, scope="user.profile.read")).get("/users/me")
    assert profile.status_code == 200
    assert profile.json()["email"] == TANAKA.email and "isAdministrator" not in profile.json()


def test_users_me_with_the_service_account_token_is_403(emu, api):
    response = api.get("/users/me")
    assert response.status_code == 403
    assert response.json()["code"] == "FORBIDDEN"
    assert "service-account" in response.json()["description"]


def test_a_refreshed_member_token_still_belongs_to_the_member(emu):
    body = exchange(emu, sign_in_code(emu, ADMIN.user_id)).json()
    refreshed = requests.post(emu.auth_url, data={
        "grant_type": "refresh_token", "refresh_token": body["refresh_token"],
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}, timeout=5).json()
    assert refreshed["scope"] == SCOPE
    assert Api(emu, refreshed["access_token"]).get("/users/me").json()["userId"] == ADMIN.user_id


def test_force_logout_expires_the_members_tokens(emu, api):
    member = Api(emu, member_token(emu, TANAKA.user_id))
    assert member.get("/users/me").status_code == 200
    assert api.post(f"/users/{TANAKA.user_id}/force-logout").status_code == 202
    assert member.get("/users/me").status_code == 401
    assert api.get(f"/users/{TANAKA.user_id}").status_code == 200  # the bot's token is untouched


@pytest.mark.parametrize("overrides, error", [
    ({"client_id": "someone-else"}, "unauthorized_client"),
    ({"client_id": None}, "invalid_request"),
    ({"response_type": "token"}, "unsupported_response_type"),
    ({"response_type": None}, "invalid_request"),
    ({"redirect_uri": "/admin/callback"}, "invalid_request"),
    ({"redirect_uri": "ftp://127.0.0.1/cb"}, "invalid_request"),
    ({"redirect_uri": "http://127.0.0.1:8765/cb#frag"}, "invalid_request"),
    ({"redirect_uri": None}, "invalid_request"),
    ({"scope": ""}, "invalid_request"),
    ({"scope": "user.read,openid"}, "invalid_scope"),
    ({"state": None}, "invalid_request"),
])
def test_bad_authorize_parameters_give_400_without_a_redirect(emu, overrides, error):
    response = requests.get(emu.authorize_url, params=authorize_params(**overrides),
                            allow_redirects=False, timeout=5)
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert response.headers["Content-Type"].startswith("text/html")
    assert f'<code id="error-code">{error}</code>' in response.text
    assert "data-user-id" not in response.text


def test_a_parameter_sent_twice_is_refused(emu):
    query = "&".join(f"{k}={v}" for k, v in authorize_params(state="a").items()) + "&state=b"
    response = requests.get(f"{emu.authorize_url}?{query}", allow_redirects=False, timeout=5)
    assert response.status_code == 400 and "only once" in response.text


@pytest.mark.parametrize("overrides, user_id, error", [
    ({"client_id": "someone-else"}, TANAKA.user_id, "unauthorized_client"),
    ({"redirect_uri": "javascript:alert(1)"}, TANAKA.user_id, "invalid_request"),
    ({}, "nobody", "invalid_request"),
    ({}, SEED_USERS["yoshida"].user_id, "access_denied"),  # suspended
    ({}, SEED_USERS["yamada"].user_id, "access_denied"),  # deleted
])
def test_a_bad_choice_gives_400_without_a_redirect_or_code(emu, overrides, user_id, error):
    response = choose(emu, user_id, **overrides)
    assert response.status_code == 400 and "Location" not in response.headers
    assert f'<code id="error-code">{error}</code>' in response.text


def test_registered_redirect_uris_are_enforced(keypair):
    config = make_config(keypair[1], redirect_uris=(REDIRECT_URI,))
    with running_emulator(config) as emu:
        assert requests.get(emu.authorize_url, params=authorize_params(), timeout=5).status_code == 200
        other = authorize_params(redirect_uri="http://127.0.0.1:8765/elsewhere")
        response = requests.get(emu.authorize_url, params=other, allow_redirects=False, timeout=5)
        assert response.status_code == 400 and "not registered" in response.text


def test_the_call_log_records_sign_in_without_codes_or_tokens(emu):
    since = emu.calls()[-1]["id"] if emu.calls() else 0
    requests.get(emu.authorize_url, params=authorize_params(), timeout=5)
    code = sign_in_code(emu, TANAKA.user_id)
    token = exchange(emu, code).json()["access_token"]
    Api(emu, token).get("/users/me")
    calls = emu.calls(since)
    assert [(c["method"], c["path"], c["operation"], c["status"]) for c in calls] == [
        ("GET", "/oauth2/v2.0/authorize", "authorize", 200),
        ("POST", "/oauth2/v2.0/authorize", "authorize_member", 302),
        ("POST", "/oauth2/v2.0/token", "token", 200),
        ("GET", "/v1.0/users/me", "get_me", 200),
    ]
    logged = repr(calls)
    assert code not in logged and token not in logged and "st-" not in logged
