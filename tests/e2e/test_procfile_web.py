"""The Procfile's web line, started for real, against the LINE WORKS emulator."""
import json
import time

import requests

from bot import signature
from emulator.directory import SEED_USERS
from emulator.testing import running_emulator
from tests.conftest import BOT_ID
from demo.stack import free_port
from tests.stack import emulator_config, serve_procfile_web, stack_env

TANAKA = SEED_USERS["tanaka"].user_id


def test_procfile_web_answers_signed_messages_and_refuses_unsigned(keypair, tmp_path, database_url):
    port = free_port()
    with running_emulator(emulator_config(keypair[1], f"http://127.0.0.1:{port}/callback")) as emulator:
        env = stack_env(keypair[0], database_url, emulator)
        with serve_procfile_web(env, port, tmp_path / "web.log"):
            # Signed by the emulator exactly like LINE WORKS: answered through JWT token + message API.
            assert emulator.say(TANAKA, "こんにちは")["status"] == 200
            replies = emulator.wait_for_bot_messages(1, user_id=TANAKA, timeout=15)
            assert replies[0]["content"]["type"] in ("text", "button_template")
            operations = [c["path"] for c in emulator.calls()]
            assert any("oauth2" in p for p in operations) and any("/messages" in p for p in operations)

            # Unsigned and forged callbacks: 401 and no API call at all.
            calls_before = len(emulator.calls())
            raw = json.dumps({"type": "message", "source": {"userId": TANAKA},
                              "content": {"type": "text", "text": "なりすまし"}}).encode()
            unsigned = requests.post(f"http://127.0.0.1:{port}/callback", data=raw,
                                     headers={"Content-Type": "application/json", "X-WORKS-BotId": BOT_ID})
            forged = requests.post(f"http://127.0.0.1:{port}/callback", data=raw,
                                   headers={"X-WORKS-BotId": BOT_ID,
                                            "X-WORKS-Signature": signature.sign("guessed-secret", raw)})
            assert (unsigned.status_code, forged.status_code) == (401, 401)
            time.sleep(1.0)  # give a (wrongly) stored event time to be answered
            later = [c["path"] for c in emulator.calls()[calls_before:]]
            # Each web worker sets the menu once at start (with its own token); nothing else may happen.
            assert all(p.endswith(("/persistentmenu", "/token")) for p in later), later
            assert len(emulator.bot_messages(user_id=TANAKA)) == len(replies)
            menu = emulator.info()["persistentMenu"]
            assert [a["label"] for a in menu["actions"]] == ["よくある質問", "端末をなくした", "通知と勤務時間",
                                                                         "ヘルプ"]
        log = (tmp_path / "web.log").read_text()
        assert "test-bot-secret" not in log and "BEGIN PRIVATE KEY" not in log
