"""LineWorksClient: the one object that talks to the LINE WORKS API (the only user of requests).

- Service-account JWT (RS256, integer iat/exp, one hour at most) exchanged for an access token at
  the token URL; the token is cached until shortly before `expires_in` (which may be a string).
- On 401 a new token is minted once and the call repeated.
- 429 waits for `rateLimit-reset`; 5xx and timeouts back off exponentially. Waiting in-process is
  bounded (`max_wait`): past it an ApiError with `retryable=True` and `retry_after` is raised so a
  durable caller (the outbox) can schedule the retry instead of holding a thread.
- Every call has connect and read timeouts and writes one log line (no tokens, no bodies).
- Values put into the URL path (user ids, emails, channel and bot ids) go through `path_segment`:
  percent-encoded, and "."/".."/"" refused, so no value can change which API is called.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterator
from urllib.parse import quote

import jwt
import requests
from urllib3.exceptions import NewConnectionError

from bot.errors import ApiError
from bot.retry import IN_PROCESS

log = logging.getLogger("bot.client")

JWT_LIFETIME = 3600
TOKEN_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass(frozen=True)
class Credentials:
    client_id: str
    client_secret: str
    service_account: str
    private_key: str
    bot_id: str
    api_base_url: str
    auth_url: str
    scopes: str = "bot user directory"

    @classmethod
    def from_settings(cls, settings) -> "Credentials":
        return cls(settings.client_id, settings.client_secret, settings.service_account, settings.private_key,
                   settings.bot_id, settings.api_base_url, settings.auth_url, settings.scopes)


def _error_fields(response: requests.Response) -> tuple[str, str]:
    try:
        body = response.json()
    except ValueError:
        return "HTTP_" + str(response.status_code), ""
    if not isinstance(body, dict):
        return "HTTP_" + str(response.status_code), ""
    return str(body.get("code") or body.get("error") or f"HTTP_{response.status_code}"), \
        str(body.get("description") or body.get("error_description") or "")[:200]


def _may_have_arrived(exc: requests.RequestException) -> bool:
    """False only when the request surely never reached the server (no connection was made)."""
    if isinstance(exc, requests.ConnectTimeout):
        return False
    if isinstance(exc, requests.ConnectionError):
        cause = exc.args[0] if exc.args else None
        if isinstance(getattr(cause, "reason", cause), NewConnectionError):  # refused, unreachable
            return False
    return True


def path_segment(operation: str, value: str) -> str:
    """One URL path segment from a value (a user id, an email, a channel id): every character that
    could end the segment or start a query is percent-encoded, so no value can change the path.

    "." and ".." cannot be made safe by encoding: requests decodes %2E again (an unreserved
    character) and the dot segment is resolved, so `/users/..` would become `/v1.0/`. They, and
    the empty segment, are refused before any request is made.
    """
    text = str(value)
    if text in ("", ".", ".."):
        raise ApiError(operation, None, "INVALID_PATH_SEGMENT", f"{text!r} cannot be a path segment")
    return quote(text, safe="")


def _reset_seconds(response: requests.Response) -> float | None:
    raw = response.headers.get("rateLimit-reset")  # requests' headers are case-insensitive
    try:
        return max(0.0, float(raw)) if raw is not None else None
    except ValueError:
        return None


def _response_error(operation: str, response: requests.Response) -> ApiError:
    """The error of a 4xx/5xx response. 429 and 5xx are worth retrying; a 429 carries LINE WORKS'
    `rateLimit-reset` as `retry_after` (at least half a second)."""
    code, description = _error_fields(response)
    status = response.status_code
    if status == 429:
        reset = _reset_seconds(response)
        return ApiError(operation, status, code, description, retryable=True,
                        retry_after=None if reset is None else max(reset, 0.5))
    return ApiError(operation, status, code, description, retryable=status >= 500)


class LineWorksClient:
    def __init__(self, credentials: Credentials, session: requests.Session | None = None,
                 now: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep,
                 timeout: tuple[float, float] = (3.05, 10.0), max_attempts: int = 3, max_wait: float = 10.0):
        self.credentials = credentials
        self.session = session or requests.Session()
        self._now = now
        self._sleep = sleep
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.max_wait = max_wait
        self._token_lock = threading.Lock()
        self._token: str | None = None
        self._token_expires_at = 0.0

    # -- token ----------------------------------------------------------------------------------

    def _assertion(self) -> str:
        issued = int(self._now())
        claims = {"iss": self.credentials.client_id, "sub": self.credentials.service_account,
                  "iat": issued, "exp": issued + JWT_LIFETIME}
        return jwt.encode(claims, self.credentials.private_key, algorithm="RS256")

    def access_token(self) -> str:
        with self._token_lock:
            if self._token and self._now() < self._token_expires_at:
                return self._token
            self._token, self._token_expires_at = self._fetch_token()
            return self._token

    def invalidate_token(self, stale: str | None = None) -> None:
        with self._token_lock:
            if stale is None or stale == self._token:
                self._token = None
                self._token_expires_at = 0.0

    def _fetch_token(self) -> tuple[str, float]:
        form = {
            "assertion": self._assertion(),
            "grant_type": TOKEN_GRANT,
            "client_id": self.credentials.client_id,
            "client_secret": self.credentials.client_secret,
            "scope": self.credentials.scopes,
        }
        started = time.monotonic()
        try:
            response = self.session.post(self.credentials.auth_url, data=form, timeout=self.timeout)
        except requests.RequestException as exc:
            log.warning("token request failed: %s", type(exc).__name__)
            raise ApiError("token", None, "NETWORK", type(exc).__name__, retryable=True, retry_after=5) from exc
        log.info("api POST token -> %s in %dms", response.status_code, (time.monotonic() - started) * 1000)
        if response.status_code != 200:
            code, description = _error_fields(response)
            raise ApiError("token", response.status_code, code, description,
                           retryable=response.status_code >= 500 or response.status_code == 429, retry_after=5)
        try:
            body = response.json()
            token = str(body["access_token"])
            lifetime = int(body.get("expires_in", 3600))  # documented as a number, seen as a string
        except (ValueError, KeyError, TypeError) as exc:
            raise ApiError("token", response.status_code, "BAD_TOKEN_RESPONSE", retryable=True, retry_after=5) from exc
        margin = min(60, lifetime // 10)
        return token, self._now() + lifetime - margin

    # -- requests -------------------------------------------------------------------------------

    def _request(self, operation: str, method: str, path: str, *, json: dict | None = None,
                 params: dict | None = None, max_wait: float | None = None) -> requests.Response:
        url = self.credentials.api_base_url + path
        budget = self.max_wait if max_wait is None else max_wait
        waited = 0.0
        attempt = 0
        refreshed = False
        while True:
            token = self.access_token()
            response, error = self._send(operation, method, url, token, json=json, params=params)
            if response is not None:
                if response.status_code == 401 and not refreshed:
                    refreshed = True
                    self.invalidate_token(token)
                    continue
                if response.status_code < 400:
                    return response
                error = _response_error(operation, response)
                if not error.retryable:
                    raise error
            attempt += 1
            wait = IN_PROCESS.seconds(attempt) if error.retry_after is None else error.retry_after
            if attempt >= self.max_attempts or waited + wait > budget:
                error.retry_after = wait
                raise error
            self._sleep(wait)
            waited += wait

    def _send(self, operation: str, method: str, url: str, token: str, **kwargs
              ) -> tuple[requests.Response | None, ApiError | None]:
        """One HTTP request and its log line: the response, or the error when none came."""
        started = time.monotonic()
        try:
            response = self.session.request(method, url, headers={"Authorization": f"Bearer {token}"},
                                            timeout=self.timeout, allow_redirects=False, **kwargs)
        except requests.RequestException as exc:
            elapsed = (time.monotonic() - started) * 1000
            log.warning("api %s %s -> %s after %dms", method, operation, type(exc).__name__, elapsed)
            return None, ApiError(operation, None, "TIMEOUT" if isinstance(exc, requests.Timeout) else "NETWORK",
                                  type(exc).__name__, retryable=True, maybe_done=_may_have_arrived(exc))
        elapsed = (time.monotonic() - started) * 1000
        log.info("api %s %s -> %s in %dms remaining=%s", method, operation, response.status_code, elapsed,
                 response.headers.get("rateLimit-remaining", "-"))
        return response, None

    # -- bot messages ---------------------------------------------------------------------------

    def send_message(self, recipient_kind: str, recipient_id: str, content: dict,
                     max_wait: float | None = None) -> None:
        operation = "send-channel-message" if recipient_kind == "channel" else "send-user-message"
        bot = path_segment(operation, self.credentials.bot_id)
        target = path_segment(operation, recipient_id)
        if recipient_kind == "channel":
            self._request("send-channel-message", "POST", f"/bots/{bot}/channels/{target}/messages",
                          json={"content": content}, max_wait=max_wait)
        else:
            self._request("send-user-message", "POST", f"/bots/{bot}/users/{target}/messages",
                          json={"content": content}, max_wait=max_wait)

    def send_to_user(self, user_id: str, content: dict) -> None:
        self.send_message("user", user_id, content)

    def send_to_channel(self, channel_id: str, content: dict) -> None:
        self.send_message("channel", channel_id, content)

    def set_persistent_menu(self, actions: list[dict]) -> None:
        bot = path_segment("set-persistent-menu", self.credentials.bot_id)
        self._request("set-persistent-menu", "POST", f"/bots/{bot}/persistentmenu",
                      json={"content": {"actions": actions}})

    # -- directory ------------------------------------------------------------------------------

    def get_user(self, user_id: str) -> dict:
        return self._request("get-user", "GET", f"/users/{path_segment('get-user', user_id)}").json()

    def list_users(self, cursor: str | None = None, count: int = 100) -> tuple[list[dict], str | None]:
        # requests URL-encodes params, so a cursor with '+', '/' or '=' arrives intact.
        params = {"count": count}
        if cursor:
            params["cursor"] = cursor
        body = self._request("list-users", "GET", "/users", params=params).json()
        next_cursor = (body.get("responseMetaData") or {}).get("nextCursor") or None
        return list(body.get("users") or []), next_cursor

    def iter_users(self, count: int = 100) -> Iterator[dict]:
        cursor = None
        while True:
            users, cursor = self.list_users(cursor, count)
            yield from users
            if not cursor:
                return

    # -- account actions (lost device) ----------------------------------------------------------

    def force_logout(self, user_id: str) -> None:
        self._request("force-logout", "POST", f"/users/{path_segment('force-logout', user_id)}/force-logout")

    def suspend(self, user_id: str) -> None:
        self._request("suspend", "POST", f"/users/{path_segment('suspend', user_id)}/suspend")

    def unsuspend(self, user_id: str) -> None:
        self._request("unsuspend", "POST", f"/users/{path_segment('unsuspend', user_id)}/unsuspend")

    # -- member sign-in (User Account authentication, for the administrators' console) -----------

    def member_token(self, code: str, redirect_uri: str) -> str:
        """Exchange a sign-in's authorization code (valid 10 minutes, once) for the member's token."""
        form = {"grant_type": "authorization_code", "code": code, "client_id": self.credentials.client_id,
                "client_secret": self.credentials.client_secret, "redirect_uri": redirect_uri}
        try:
            response = self.session.post(self.credentials.auth_url, data=form, timeout=self.timeout)
        except requests.RequestException as exc:
            raise ApiError("member-token", None, "NETWORK", type(exc).__name__) from exc
        log.info("api POST member-token -> %s", response.status_code)
        if response.status_code != 200:
            code_name, description = _error_fields(response)
            raise ApiError("member-token", response.status_code, code_name, description)
        try:
            return str(response.json()["access_token"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ApiError("member-token", response.status_code, "BAD_TOKEN_RESPONSE") from exc

    def signed_in_member(self, member_token: str) -> dict:
        """GET /users/me with the member's own token: who signed in."""
        url = self.credentials.api_base_url + "/users/me"
        response, error = self._send("get-me", "GET", url, member_token)
        if error is not None:
            raise error
        if response.status_code != 200:
            raise _response_error("get-me", response)
        try:
            member = response.json()
        except ValueError as exc:
            raise ApiError("get-me", response.status_code, "BAD_RESPONSE") from exc
        if not isinstance(member, dict) or not member.get("userId"):
            raise ApiError("get-me", response.status_code, "BAD_RESPONSE")
        return member
