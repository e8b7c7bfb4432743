"""Rate limits, fault injection and the API call log."""
import pytest
import requests

from emulator.directory import SEED_USERS
from emulator.ratelimit import RateLimiter
from tests.emulator.conftest import BOT_ID, make_assertion, token_request

TANAKA = SEED_USERS["tanaka"]


def test_every_api_response_has_rate_limit_headers(api):
    response = api.get(f"/users/{TANAKA.user_id}")
    assert response.headers["rateLimit-limit"] == "240"
    assert response.headers["rateLimit-remaining"] == "239"
    assert 0 < int(response.headers["rateLimit-reset"]) <= 60
    unauthorised = requests.get(f"{api.base}/users/{TANAKA.user_id}", timeout=5)
    assert unauthorised.status_code == 401 and "rateLimit-limit" in unauthorised.headers


def test_rate_limit_is_per_operation(emu, api):
    emu.set_rate_limit(3)
    for expected_remaining in (2, 1, 0):
        response = api.get(f"/users/{TANAKA.user_id}")
        assert response.status_code == 200
        assert response.headers["rateLimit-remaining"] == str(expected_remaining)
    limited = api.get(f"/users/{TANAKA.user_id}")
    assert limited.status_code == 429
    assert limited.json() == {"code": "TOO_MANY_REQUESTS", "description": "API rate limit exceeded"}
    assert limited.headers["rateLimit-limit"] == "3"
    assert limited.headers["rateLimit-remaining"] == "0"
    assert 0 < int(limited.headers["rateLimit-reset"]) <= 60
    # Another operation has its own budget.
    assert api.get("/users", params={"count": 1}).status_code == 200
    assert api.send_to_user(TANAKA.user_id, {"type": "text", "text": "x"}).status_code == 201


def test_rate_limit_window_resets_after_60_seconds():
    now = [1000.0]
    limiter = RateLimiter(2, clock=lambda: now[0])
    assert limiter.hit("op").allowed and limiter.hit("op").allowed
    verdict = limiter.hit("op")
    assert not verdict.allowed and verdict.reset == 60
    now[0] += 59.5
    assert not limiter.hit("op").allowed and limiter.peek("op").reset == 1
    now[0] += 0.5
    assert limiter.hit("op").allowed


def test_fault_count_then_recovery(emu, api):
    emu.inject_fault(r"/users/[^/]+/messages$", status=500, count=2, method="POST")
    text = {"type": "text", "text": "x"}
    assert api.get(f"/users/{TANAKA.user_id}").status_code == 200  # does not match
    assert api.send_to_user(TANAKA.user_id, text).status_code == 500
    assert api.send_to_user(TANAKA.user_id, text).status_code == 500
    assert api.send_to_user(TANAKA.user_id, text).status_code == 201
    assert len(emu.bot_messages()) == 1


@pytest.mark.parametrize("status, code", [(429, "TOO_MANY_REQUESTS"), (503, "SERVICE_UNAVAILABLE")])
def test_fault_statuses(emu, api, status, code):
    emu.inject_fault("/users", status=status)
    response = api.get("/users")
    assert response.status_code == status and response.json()["code"] == code
    assert "rateLimit-reset" in response.headers
    assert api.get("/users").status_code == 200


def test_fault_on_token_endpoint(emu, keypair):
    emu.inject_fault("/oauth2/", status=503)
    assert token_request(emu, make_assertion(keypair[0])).status_code == 503
    assert token_request(emu, make_assertion(keypair[0])).status_code == 200


def test_timeout_fault_outlasts_the_client(emu, api):
    emu.inject_fault("/messages$", status="timeout", delay_seconds=0.6)
    with pytest.raises(requests.Timeout):
        requests.post(f"{api.base}/bots/{BOT_ID}/users/{TANAKA.user_id}/messages", headers=api.headers,
                      json={"content": {"type": "text", "text": "x"}}, timeout=0.2)
    assert api.send_to_user(TANAKA.user_id, {"type": "text", "text": "x"}).status_code == 201


def test_clear_faults(emu, api):
    emu.inject_fault("/users", status=500, count=5)
    assert emu.info()["faults"][0]["remaining"] == 5
    emu.clear_faults()
    assert api.get("/users").status_code == 200


def test_bad_fault_spec_is_400(emu):
    response = requests.post(f"{emu.base_url}/_emulator/faults", json={"pathRegex": "(", "status": 500},
                             timeout=5)
    assert response.status_code == 400


def test_call_log_has_no_secrets(emu, api, token):
    api.get("/users", params={"count": 2})
    api.send_to_user(TANAKA.user_id, {"type": "text"})
    calls = emu.calls()
    assert [c["path"] for c in calls][-2:] == ["/v1.0/users", f"/v1.0/bots/{BOT_ID}/users/{TANAKA.user_id}/messages"]
    assert calls[-1]["status"] == 400 and calls[-1]["method"] == "POST"
    assert calls[-1]["operation"] == "send_user_message" and calls[-1]["durationMs"] >= 0
    assert calls[0]["path"] == "/oauth2/v2.0/token"
    assert token not in repr(calls) and "count=" not in repr(calls)
    assert emu.calls(since=calls[-1]["id"]) == []
