"""Token endpoint (JWT bearer grant) and bearer checks on /v1.0."""
import time

import jwt
import pytest
import requests

from emulator.directory import SEED_USERS
from emulator.testing import running_emulator
from tests.emulator.conftest import Api, make_assertion, make_config, token_request


def test_good_jwt_gets_a_token_shaped_like_line_works(emu, keypair):
    response = token_request(emu, make_assertion(keypair[0]), scope="bot user.read")
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == "86400"  # a string, like the real platform
    assert body["scope"] == "bot user.read"
    assert body["access_token"] and body["refresh_token"]
    assert body["access_token"] != body["refresh_token"]


def _now():
    return int(time.time())


# Claims are built from "now" at test time (offsets in seconds).
@pytest.mark.parametrize("make_claims, why", [
    (lambda now: {"iat": now + 0.5}, "float iat"),
    (lambda now: {"exp": str(now + 600)}, "string exp"),
    (lambda now: {"iat": now, "exp": now + 3601}, "lifetime over 3600 s"),
    (lambda now: {"iat": now - 7200, "exp": now - 3600}, "expired"),
    (lambda now: {"iat": now + 600, "exp": now + 1200}, "iat in the future"),
    (lambda now: {"iss": "someone-else"}, "wrong iss"),
    (lambda now: {"sub": "other.serviceaccount@example.co.jp"}, "wrong sub"),
])
def test_bad_claims_are_rejected(emu, keypair, make_claims, why):
    response = token_request(emu, make_assertion(keypair[0], **make_claims(_now())))
    assert response.status_code == 400, why
    assert response.json()["code"] == "invalid_grant"
    assert response.json()["description"]


def test_lifetime_of_exactly_3600_seconds_is_accepted(emu, keypair):
    now = _now()
    assert token_request(emu, make_assertion(keypair[0], iat=now, exp=now + 3600)).status_code == 200


def test_jwt_signed_with_another_key_is_rejected(emu, other_keypair):
    response = token_request(emu, make_assertion(other_keypair[0]))
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_grant"


def test_hs256_jwt_is_rejected(emu):
    now = _now()
    assertion = jwt.encode({"iss": "test-client-id", "sub": "test.serviceaccount@example.co.jp",
                            "iat": now, "exp": now + 600}, "x" * 32, algorithm="HS256")
    assert token_request(emu, assertion).status_code == 400


def test_wrong_client_secret_is_rejected(emu, keypair):
    response = token_request(emu, make_assertion(keypair[0]), client_secret="nope")
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_client"


@pytest.mark.parametrize("grant_type", [
    "client_credentials",
    "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer",  # the double-encoding bug
])
def test_wrong_grant_type_is_rejected(emu, keypair, grant_type):
    response = token_request(emu, make_assertion(keypair[0]), grant_type=grant_type)
    assert response.status_code == 400
    assert response.json()["code"] == "unsupported_grant_type"


def test_refresh_token_grant_issues_a_new_access_token(emu, keypair):
    first = token_request(emu, make_assertion(keypair[0])).json()
    response = requests.post(emu.auth_url, data={
        "grant_type": "refresh_token", "refresh_token": first["refresh_token"],
        "client_id": "test-client-id", "client_secret": "test-client-secret"}, timeout=5)
    assert response.status_code == 200
    assert response.json()["access_token"] != first["access_token"]


def test_api_needs_a_known_bearer_token(emu, token):
    url = f"{emu.api_base_url}/users/{SEED_USERS['tanaka'].user_id}"
    for header in [None, "Bearer unknown-token", f"Bearer  {token}", f"bearer {token}", token]:
        headers = {"Authorization": header} if header else {}
        response = requests.get(url, headers=headers, timeout=5)
        assert response.status_code == 401, header
        assert response.json()["code"] == "UNAUTHORIZED"
    assert requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=5).status_code == 200


def test_expire_tokens_invalidates_issued_tokens(emu, keypair, token):
    api = Api(emu, token)
    path = f"/users/{SEED_USERS['tanaka'].user_id}"
    assert api.get(path).status_code == 200
    emu.expire_tokens()
    assert api.get(path).status_code == 401
    fresh = token_request(emu, make_assertion(keypair[0])).json()["access_token"]
    assert Api(emu, fresh).get(path).status_code == 200


def test_token_ttl_is_enforced(keypair):
    with running_emulator(make_config(keypair[1], token_ttl_seconds=1)) as emu:
        body = token_request(emu, make_assertion(keypair[0])).json()
        assert body["expires_in"] == "1"
        api = Api(emu, body["access_token"])
        assert api.get("/users?count=1").status_code == 200
        time.sleep(1.1)
        assert api.get("/users?count=1").status_code == 401


TANAKA_ID = SEED_USERS["tanaka"].user_id
TEXT = {"content": {"type": "text", "text": "こんにちは"}}
SCOPED_CALLS = {  # name: (method, path, json body)
    "get-user": ("GET", f"/users/{TANAKA_ID}", None),
    "list-users": ("GET", "/users?count=1", None),
    "force-logout": ("POST", f"/users/{TANAKA_ID}/force-logout", None),
    "suspend": ("POST", f"/users/{TANAKA_ID}/suspend", None),
    "send": ("POST", f"/bots/2000001/users/{TANAKA_ID}/messages", TEXT),
}


@pytest.mark.parametrize("scope, allowed", [
    ("bot user", {"get-user", "list-users", "force-logout", "suspend", "send"}),
    ("bot directory", {"get-user", "list-users", "force-logout", "suspend", "send"}),
    ("bot user.read", {"get-user", "list-users", "send"}),
    ("bot.message directory.read", {"get-user", "list-users", "send"}),
    ("bot", {"send"}),
    ("user", {"get-user", "list-users", "force-logout", "suspend"}),
    ("bot user.profile.read", {"get-user", "send"}),
])
def test_each_api_needs_one_of_its_documented_scopes(emu, keypair, scope, allowed):
    body = token_request(emu, make_assertion(keypair[0]), scope=scope).json()
    api = Api(emu, body["access_token"])
    for name, (method, path, payload) in SCOPED_CALLS.items():
        response = (api.get(path) if method == "GET" else api.post(path, json=payload))
        if name in allowed:
            assert response.status_code < 400, (scope, name, response.text)
        else:
            assert response.status_code == 403, (scope, name, response.status_code)
            assert response.json()["code"] == "FORBIDDEN" and "scope" in response.json()["description"]
    suspended = any(u["isSuspended"] for u in emu.directory() if u["userId"] == TANAKA_ID)
    assert suspended == ("suspend" in allowed)  # a refused call changed nothing


def test_a_profile_only_token_gets_the_profile_subset_of_a_member(emu, keypair):
    body = token_request(emu, make_assertion(keypair[0]), scope="bot user.profile.read").json()
    user = Api(emu, body["access_token"]).get(f"/users/{TANAKA_ID}").json()
    assert user["userId"] == TANAKA_ID and user["email"] == "tanaka@example.co.jp" and user["userName"]
    assert not {"isAdministrator", "isSuspended", "isPending", "employeeNumber"} & user.keys()


def test_a_refreshed_token_keeps_the_scopes_of_the_first(emu, keypair):
    first = token_request(emu, make_assertion(keypair[0]), scope="bot").json()
    refreshed = requests.post(emu.auth_url, data={
        "grant_type": "refresh_token", "refresh_token": first["refresh_token"],
        "client_id": "test-client-id", "client_secret": "test-client-secret"}, timeout=5).json()
    assert Api(emu, refreshed["access_token"]).get(f"/users/{TANAKA_ID}").status_code == 403
