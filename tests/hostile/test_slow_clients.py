"""Clients that open a callback request and never finish it do not stop the bot.

An attacker needs no signature to open `POST /callback`, send its headers with `Content-Length: 1000`
and one byte of body, and wait. LINE WORKS never resends a callback, so a server whose worker threads
sit reading such bodies loses every message sent meanwhile. The Procfile's web line runs for real
against an in-process emulator, with 200 such connections held open.
"""
from __future__ import annotations

import socket
import time

import requests

from demo.stack import free_port
from emulator.directory import synthetic_user_id
from emulator.testing import running_emulator
from tests.stack import emulator_config, serve_procfile_web, stack_env

HALF_SENT = 200


def half_sent_request(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(b"POST /callback HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 b"X-WORKS-Signature: x\r\nX-WORKS-BotId: 1\r\nContent-Length: 1000\r\n\r\n{")
    return sock


def bot_replies_to(emulator, member: str) -> list[dict]:
    return [m for m in emulator.messages()
            if m["from"] == "bot" and m["target"]["kind"] == "user" and m["target"]["id"] == member]


def test_half_sent_requests_do_not_hold_up_a_signed_callback(keypair, tmp_path, database_url):
    port = free_port()
    config = emulator_config(keypair[1], f"http://127.0.0.1:{port}/callback", directory_size=10,
                             rate_limit_per_minute=1_000_000)
    member = synthetic_user_id(7)
    with running_emulator(config) as emulator:
        env = stack_env(keypair[0], database_url, emulator)
        with serve_procfile_web(env, port, tmp_path / "web.log"):
            held = [half_sent_request(port) for _ in range(HALF_SENT)]
            try:
                time.sleep(0.5)  # every connection is now waiting for the rest of its body
                started = time.monotonic()
                response = requests.post(f"{emulator.base_url}/_emulator/say", timeout=30,
                                         json={"userId": member, "text": "通信費は誰が払うの？"})
                took = time.monotonic() - started
                assert response.json().get("status") == 200, response.text
                assert took < 1.0, f"the callback took {took:.2f} s"

                deadline = time.monotonic() + 20
                while not bot_replies_to(emulator, member) and time.monotonic() < deadline:
                    time.sleep(0.1)
                [reply] = bot_replies_to(emulator, member)
                assert "3,000" in str(reply["content"])  # the communication allowance answer
            finally:
                for sock in held:
                    sock.close()
