"""Run the emulator inside a test process and drive it through its control API.

    with running_emulator(config) as emu:
        emu.say(SEED_USERS["tanaka"].user_id, "こんにちは")
        replies = emu.wait_for_bot_messages(1, user_id=SEED_USERS["tanaka"].user_id)
"""
import threading
import time
from contextlib import contextmanager
from typing import Iterator

import requests
from werkzeug.serving import WSGIRequestHandler, make_server

from emulator.app import create_app
from emulator.config import EmulatorConfig


class EmulatorHandle:
    def __init__(self, base_url: str, app=None):
        self.base_url = base_url
        self.api_base_url = base_url + "/v1.0"
        self.auth_url = base_url + "/oauth2/v2.0/token"
        self.authorize_url = base_url + "/oauth2/v2.0/authorize"  # member sign-in page
        self.app = app  # the Flask app, for white-box access in tests (app.extensions["emulator"])
        self._http = requests.Session()

    def _control(self, method: str, path: str, **kwargs):
        response = self._http.request(method, f"{self.base_url}/_emulator/{path}", timeout=30, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    # --- user side (sends callbacks to the bot) ---------------------------------

    def say(self, user_id: str, text: str, channel_id: str | None = None,
            postback: str | None = None) -> dict:
        """A user sends a text message. Returns {"status": bot HTTP status | None, "eventId"}."""
        body = {"userId": user_id, "text": text, "channelId": channel_id, "postback": postback}
        return self._control("POST", "say", json={k: v for k, v in body.items() if v is not None})

    def postback(self, user_id: str, data: str, channel_id: str | None = None,
                 display_text: str | None = None) -> dict:
        """A user presses a postback action."""
        body = {"userId": user_id, "data": data, "channelId": channel_id, "displayText": display_text}
        return self._control("POST", "postback", json={k: v for k, v in body.items() if v is not None})

    def send_event(self, event: dict) -> dict:
        """Sign and send any raw callback event (join, leave, location, ...)."""
        return self._control("POST", "event", json=event)

    # --- observation ----------------------------------------------------------------

    def messages(self, user_id: str | None = None, channel_id: str | None = None,
                 since: int = 0) -> list[dict]:
        """Transcript entries (both directions) of one room, or of all rooms."""
        params = {"since": since, "userId": user_id or "", "channelId": channel_id or ""}
        return self._control("GET", "messages", params=params)

    def bot_messages(self, user_id: str | None = None, channel_id: str | None = None) -> list[dict]:
        """Only what the bot sent (entries with from == "bot")."""
        return [m for m in self.messages(user_id, channel_id) if m["from"] == "bot"]

    def wait_for_bot_messages(self, count: int, user_id: str | None = None,
                              channel_id: str | None = None, timeout: float = 10) -> list[dict]:
        """Poll until the bot has sent at least `count` messages to the room; return them."""
        deadline = time.monotonic() + timeout
        while True:
            seen = self.bot_messages(user_id, channel_id)
            if len(seen) >= count:
                return seen
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"expected {count} bot message(s) (user={user_id}, channel={channel_id}) "
                    f"within {timeout}s, saw {len(seen)}: {[m['content'] for m in seen]}")
            time.sleep(0.05)

    def calls(self, since: int = 0) -> list[dict]:
        """API call log: method, path, operation, status, durationMs, time."""
        return self._control("GET", "calls", params={"since": since})

    def events(self, since: int = 0) -> list[dict]:
        """Callback events sent to the bot, with the bot's HTTP status."""
        return self._control("GET", "events", params={"since": since})

    def directory(self) -> list[dict]:
        return self._control("GET", "directory")

    def info(self) -> dict:
        return self._control("GET", "info")

    # --- knobs --------------------------------------------------------------------

    def inject_fault(self, path_regex: str, status: int | str = 500, count: int = 1,
                     method: str | None = None, delay_seconds: float | None = None) -> dict:
        """Make the next `count` matching API calls fail (status may be "timeout")."""
        body = {"pathRegex": path_regex, "status": status, "count": count}
        if method:
            body["method"] = method
        if delay_seconds is not None:
            body["delaySeconds"] = delay_seconds
        return self._control("POST", "faults", json=body)

    def clear_faults(self) -> None:
        self._control("DELETE", "faults")

    def set_rate_limit(self, per_minute: int) -> None:
        self._control("POST", "rate-limit", json={"perMinute": per_minute})

    def expire_tokens(self) -> None:
        self._control("POST", "expire-tokens")

    def reset(self) -> None:
        self._control("POST", "reset")


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):  # keep test output clean
        pass


@contextmanager
def serving(app, port: int = 0) -> Iterator[str]:
    """Serve a WSGI app on 127.0.0.1 (a free port when 0) on a background thread; yields its base URL."""
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def running_emulator(config: EmulatorConfig, now=None) -> Iterator[EmulatorHandle]:
    """Serve the emulator on 127.0.0.1 (free port) in a background thread for the block's duration;
    `now` (a function) stamps the events' issuedTime, for a bot run on a test clock."""
    app = create_app(config, now)
    with serving(app) as url:
        yield EmulatorHandle(url, app)
