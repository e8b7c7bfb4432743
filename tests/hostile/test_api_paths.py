"""No value put into an API URL can change its path: user ids, emails, channel ids are one segment.

The client percent-encodes every path value and refuses the dot segments ("." and "..") that
requests would resolve even when encoded (`/users/..` became `GET /v1.0/`).
"""
from __future__ import annotations

import re

import pytest
import responses

from bot.client import ApiError, Credentials, LineWorksClient
from tests.conftest import API_BASE, AUTH_URL, BOT_ID

CALLS = {
    "get-user": lambda client, value: client.get_user(value),
    "force-logout": lambda client, value: client.force_logout(value),
    "suspend": lambda client, value: client.suspend(value),
    "unsuspend": lambda client, value: client.unsuspend(value),
    "send-user-message": lambda client, value: client.send_message("user", value, {"type": "text", "text": "x"}),
    "send-channel-message": lambda client, value: client.send_message("channel", value, {"type": "text", "text": "x"}),
}


@pytest.fixture
def client(keypair):
    credentials = Credentials("cid", "secret", "sa.serviceaccount@example.co.jp", keypair[0], BOT_ID, API_BASE,
                              AUTH_URL)
    return LineWorksClient(credentials, sleep=lambda s: None, max_wait=0)


@pytest.fixture
def api():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.POST, AUTH_URL, json={"access_token": "tok", "expires_in": "86400"})
        mock.add(responses.GET, re.compile(re.escape(API_BASE) + r"/.*"), json={"userId": "u"})
        mock.add(responses.POST, re.compile(re.escape(API_BASE) + r"/.*"), status=204)
        yield mock


@pytest.mark.parametrize("operation", CALLS)
@pytest.mark.parametrize("value", ["..", ".", ""])
def test_dot_segments_are_refused_before_any_request(client, api, operation, value):
    with pytest.raises(ApiError) as refused:
        CALLS[operation](client, value)
    assert (refused.value.status, refused.value.code, refused.value.retryable) == (None, "INVALID_PATH_SEGMENT", False)
    assert refused.value.operation == operation
    assert len(api.calls) == 0  # not even a token


@pytest.mark.parametrize("value, encoded", [
    ("a/../b", "a%2F..%2Fb"),
    ("../../bots", "..%2F..%2Fbots"),
    ("tanaka@example.co.jp", "tanaka%40example.co.jp"),
    ("x?y=1#z", "x%3Fy%3D1%23z"),
    ("a b\x07", "a%20b%07"),
    ("%2e%2e", "%252e%252e"),
])
def test_every_other_value_stays_one_path_segment(client, api, value, encoded):
    client.suspend(value)
    client.get_user(value)
    client.send_message("user", value, {"type": "text", "text": "x"})
    urls = [c.request.url for c in api.calls if c.request.url.startswith(API_BASE)]
    assert urls == [f"{API_BASE}/users/{encoded}/suspend", f"{API_BASE}/users/{encoded}",
                    f"{API_BASE}/bots/{BOT_ID}/users/{encoded}/messages"]
