"""The LINE WORKS client against `responses` (the network edge): token, retries, paging."""
from urllib.parse import parse_qs, urlparse

import jwt
import pytest
import requests
import responses

from bot.client import ApiError, Credentials, LineWorksClient
from tests.conftest import API_BASE, AUTH_URL, BOT_ID

USER_MESSAGES = f"{API_BASE}/bots/{BOT_ID}/users/u1/messages"


class FakeTime:
    def __init__(self):
        self.now = 1_800_000_000.25
        self.slept: list[float] = []

    def time(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time():
    return FakeTime()


@pytest.fixture
def client(keypair, fake_time):
    credentials = Credentials("cid", "csecret", "sa.serviceaccount@example.co.jp", keypair[0], BOT_ID,
                              API_BASE, AUTH_URL)
    return LineWorksClient(credentials, now=fake_time.time, sleep=fake_time.sleep, max_attempts=4, max_wait=60)


def token_reply(token="tok-1", expires_in="86400"):
    return responses.Response(responses.POST, AUTH_URL, json={
        "access_token": token, "refresh_token": "r", "token_type": "Bearer", "expires_in": expires_in,
        "scope": "bot user directory"})


@responses.activate
def test_token_exchange_sends_a_valid_service_account_jwt(client, keypair, fake_time):
    responses.add(token_reply())
    responses.add(responses.POST, USER_MESSAGES, status=201)
    client.send_to_user("u1", {"type": "text", "text": "hi"})

    form = parse_qs(responses.calls[0].request.body)
    assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    assert form["client_id"] == ["cid"] and form["client_secret"] == ["csecret"]
    assert form["scope"] == ["bot user directory"]
    header = jwt.get_unverified_header(form["assertion"][0])
    assert header["alg"] == "RS256"
    claims = jwt.decode(form["assertion"][0], keypair[1], algorithms=["RS256"], options={"verify_exp": False, "verify_iat": False})
    assert claims["iss"] == "cid" and claims["sub"] == "sa.serviceaccount@example.co.jp"
    assert isinstance(claims["iat"], int) and isinstance(claims["exp"], int)
    assert claims["iat"] == int(fake_time.now) and 0 < claims["exp"] - claims["iat"] <= 3600
    assert responses.calls[1].request.headers["Authorization"] == "Bearer tok-1"


@responses.activate
def test_cached_token_is_reused_until_shortly_before_expiry(client, fake_time):
    responses.add(token_reply("tok-1", "3600"))
    responses.add(token_reply("tok-2", 3600))
    responses.add(responses.POST, USER_MESSAGES, status=201)
    client.send_to_user("u1", {"type": "text", "text": "1"})
    fake_time.now += 3000
    client.send_to_user("u1", {"type": "text", "text": "2"})
    token_calls = [c for c in responses.calls if c.request.url == AUTH_URL]
    assert len(token_calls) == 1
    fake_time.now += 560  # within the last minute of the hour: renew before it runs out
    client.send_to_user("u1", {"type": "text", "text": "3"})
    token_calls = [c for c in responses.calls if c.request.url == AUTH_URL]
    assert len(token_calls) == 2
    assert responses.calls[-1].request.headers["Authorization"] == "Bearer tok-2"


@responses.activate
def test_401_mints_a_new_token_once_and_retries(client):
    responses.add(token_reply("old"))
    responses.add(token_reply("new"))
    responses.add(responses.POST, USER_MESSAGES, status=401, json={"code": "UNAUTHORIZED", "description": "x"})
    responses.add(responses.POST, USER_MESSAGES, status=201)
    client.send_to_user("u1", {"type": "text", "text": "hi"})
    sends = [c for c in responses.calls if c.request.url == USER_MESSAGES]
    assert [c.request.headers["Authorization"] for c in sends] == ["Bearer old", "Bearer new"]


@responses.activate
def test_401_twice_is_an_error_not_a_loop(client):
    responses.add(token_reply("a"))
    responses.add(token_reply("b"))
    responses.add(responses.POST, USER_MESSAGES, status=401, json={"code": "UNAUTHORIZED"})
    responses.add(responses.POST, USER_MESSAGES, status=401, json={"code": "UNAUTHORIZED"})
    with pytest.raises(ApiError) as info:
        client.send_to_user("u1", {"type": "text", "text": "hi"})
    assert info.value.status == 401 and not info.value.retryable
    assert len([c for c in responses.calls if c.request.url == USER_MESSAGES]) == 2


@responses.activate
def test_429_waits_for_rate_limit_reset(client, fake_time):
    responses.add(token_reply())
    responses.add(responses.POST, USER_MESSAGES, status=429, headers={"rateLimit-reset": "7"},
                  json={"code": "TOO_MANY_REQUESTS", "description": "API rate limit exceeded"})
    responses.add(responses.POST, USER_MESSAGES, status=201)
    client.send_to_user("u1", {"type": "text", "text": "hi"})
    assert fake_time.slept == [7.0]


@responses.activate
def test_429_longer_than_the_wait_budget_is_handed_back_with_retry_after(keypair, fake_time):
    credentials = Credentials("cid", "cs", "sa", keypair[0], BOT_ID, API_BASE, AUTH_URL)
    client = LineWorksClient(credentials, now=fake_time.time, sleep=fake_time.sleep, max_wait=2)
    responses.add(token_reply())
    responses.add(responses.POST, USER_MESSAGES, status=429, headers={"RateLimit-Reset": "40"})
    with pytest.raises(ApiError) as info:
        client.send_to_user("u1", {"type": "text", "text": "hi"})
    assert info.value.retryable and info.value.retry_after == 40.0 and info.value.status == 429
    assert fake_time.slept == []


@responses.activate
def test_5xx_backs_off_exponentially_then_succeeds(client, fake_time):
    responses.add(token_reply())
    for _ in range(3):
        responses.add(responses.POST, USER_MESSAGES, status=503)
    responses.add(responses.POST, USER_MESSAGES, status=201)
    client.send_to_user("u1", {"type": "text", "text": "hi"})
    assert fake_time.slept == [1.0, 2.0, 4.0]


@responses.activate
def test_timeout_is_retried_then_reported(client, fake_time):
    responses.add(token_reply())
    for _ in range(4):
        responses.add(responses.POST, USER_MESSAGES, body=requests.ReadTimeout("slow"))
    with pytest.raises(ApiError) as info:
        client.send_to_user("u1", {"type": "text", "text": "hi"})
    assert info.value.code == "TIMEOUT" and info.value.retryable
    assert fake_time.slept == [1.0, 2.0, 4.0]


@responses.activate
def test_every_call_has_connect_and_read_timeouts(client):
    responses.add(token_reply())
    responses.add(responses.GET, f"{API_BASE}/users/u1", json={"userId": "u1"})
    client.get_user("u1")
    assert all(isinstance(c.request.req_kwargs["timeout"], tuple) for c in responses.calls)


@responses.activate
def test_4xx_is_not_retried(client, fake_time):
    responses.add(token_reply())
    responses.add(responses.POST, f"{API_BASE}/users/boss%40example.co.jp/suspend", status=400,
                  json={"code": "INVALID_PARAMETER", "description": "cannot suspend"})
    with pytest.raises(ApiError) as info:
        client.suspend("boss@example.co.jp")
    assert (info.value.status, info.value.code, info.value.retryable) == (400, "INVALID_PARAMETER", False)
    assert fake_time.slept == []


@responses.activate
def test_list_users_pages_with_an_encoded_cursor(client):
    responses.add(token_reply())
    responses.add(responses.GET, f"{API_BASE}/users",
                  json={"users": [{"userId": "a"}], "responseMetaData": {"nextCursor": "ab+c/d=="}})
    responses.add(responses.GET, f"{API_BASE}/users", json={"users": [{"userId": "b"}], "responseMetaData": {}})
    assert [u["userId"] for u in client.iter_users()] == ["a", "b"]
    second = responses.calls[2].request.url
    assert "cursor=ab%2Bc%2Fd%3D%3D" in second
    assert parse_qs(urlparse(second).query)["cursor"] == ["ab+c/d=="]


@responses.activate
def test_account_actions_and_channel_send_paths(client):
    responses.add(token_reply())
    responses.add(responses.POST, f"{API_BASE}/users/u%401/force-logout", status=202)
    responses.add(responses.POST, f"{API_BASE}/users/u%401/suspend", status=204)
    responses.add(responses.POST, f"{API_BASE}/users/u%401/unsuspend", status=204)
    responses.add(responses.POST, f"{API_BASE}/bots/{BOT_ID}/channels/ch-1/messages", status=201)
    responses.add(responses.POST, f"{API_BASE}/bots/{BOT_ID}/persistentmenu", status=201)
    client.force_logout("u@1")
    client.suspend("u@1")
    client.unsuspend("u@1")
    client.send_to_channel("ch-1", {"type": "text", "text": "x"})
    client.set_persistent_menu([{"type": "message", "label": "ヘルプ"}])
    assert len(responses.calls) == 6


@responses.activate
def test_token_endpoint_refusal_is_reported_without_the_secret(client):
    responses.add(responses.POST, AUTH_URL, status=400, json={"error": "invalid_client"})
    with pytest.raises(ApiError) as info:
        client.get_user("u1")
    assert info.value.operation == "token" and info.value.status == 400
    assert "csecret" not in str(info.value)
