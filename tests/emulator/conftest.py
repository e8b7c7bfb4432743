"""Fixtures: a key pair, a fake bot that records callbacks, and a running emulator."""
import functools
import json
import time

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from flask import Flask, request

from emulator.config import EmulatorConfig
from emulator.keys import generate_keypair
from emulator.testing import running_emulator, serving

BOT_ID = "2000001"
BOT_SECRET = "test-bot-secret"
CLIENT_ID = "test-client-id"
CLIENT_SECRET = "test-client-secret"
SERVICE_ACCOUNT = "test.serviceaccount@example.co.jp"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class FakeBot:
    """Records every callback exactly as received; answers with `status`."""

    def __init__(self):
        self.received: list[dict] = []
        self.status = 200
        self.on_event = None  # optional callable(event dict), run before answering
        self.app = Flask("fake_bot")
        self.app.add_url_rule("/callback", view_func=self._callback, methods=["POST"])

    def _callback(self):
        self.received.append({"headers": dict(request.headers), "body": request.get_data()})
        if self.on_event:
            self.on_event(request.get_json())
        return "", self.status

    def events(self) -> list[dict]:
        return [json.loads(r["body"]) for r in self.received]


@pytest.fixture(scope="session")
def keypair():
    return generate_keypair()


@pytest.fixture(scope="session")
def other_keypair():
    return generate_keypair()


@pytest.fixture(scope="session")
def _fake_bot_server():
    bot = FakeBot()
    with serving(bot.app) as url:
        bot.url = url + "/callback"
        yield bot


@pytest.fixture
def fake_bot(_fake_bot_server):
    _fake_bot_server.received.clear()
    _fake_bot_server.status = 200
    _fake_bot_server.on_event = None
    return _fake_bot_server


def make_config(public_pem: str, callback_url: str | None = None, **overrides) -> EmulatorConfig:
    return EmulatorConfig(
        bot_id=BOT_ID, bot_secret=BOT_SECRET, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
        service_account=SERVICE_ACCOUNT, public_key_pem=public_pem, callback_url=callback_url,
        **overrides,
    )


@pytest.fixture(scope="session")
def _shared_emulator(keypair, _fake_bot_server):
    with running_emulator(make_config(keypair[1], _fake_bot_server.url)) as handle:
        yield handle


@pytest.fixture
def emu(_shared_emulator, fake_bot):
    """One emulator for the whole run (fast); every test starts from the seed state."""
    _shared_emulator.reset()
    return _shared_emulator


@functools.lru_cache
def _private_key(private_pem: str):
    # Loading (and checking) an RSA key takes tens of ms; do it once per key.
    return load_pem_private_key(private_pem.encode(), password=None)


def make_assertion(private_pem: str, **claims) -> str:
    now = int(time.time())
    payload = {"iss": CLIENT_ID, "sub": SERVICE_ACCOUNT, "iat": now, "exp": now + 3600}
    payload.update(claims)
    return jwt.encode(payload, _private_key(private_pem), algorithm="RS256")


def token_request(emu, assertion: str, **form) -> requests.Response:
    data = {"grant_type": JWT_BEARER, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            "assertion": assertion, "scope": "bot user.read directory"}
    data.update(form)
    return requests.post(emu.auth_url, data=data, timeout=5)


@pytest.fixture
def token(emu, keypair) -> str:
    response = token_request(emu, make_assertion(keypair[0]))
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


class Api:
    """Authenticated calls to the emulated /v1.0 API."""

    def __init__(self, emu, token: str):
        self.base = emu.api_base_url
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path, **kw):
        return requests.get(self.base + path, headers=self.headers, timeout=5, **kw)

    def post(self, path, **kw):
        return requests.post(self.base + path, headers=self.headers, timeout=5, **kw)

    def delete(self, path, **kw):
        return requests.delete(self.base + path, headers=self.headers, timeout=5, **kw)

    def send_to_user(self, user_id: str, content: dict):
        return self.post(f"/bots/{BOT_ID}/users/{user_id}/messages", json={"content": content})


@pytest.fixture
def api(emu, token) -> Api:
    return Api(emu, token)
