"""Directory look-ups for handlers: who is this user (name, admin flag, status)?

A thin cache over LineWorksClient.get_user, so that a conversation does not call the API for every
message. A user that does not exist is None; other API failures raise ApiError for the caller to
explain.

Also what a member reference typed by a person may look like (`user_ref_problem`) and how to read a
member's state and LINE WORKS administrator flag defensively (`member_state`, `tenant_admin_flag`).
"""
from __future__ import annotations

import logging
import re
import threading
import time

from cachetools import TTLCache
from contextlib import contextmanager
from typing import Iterable

from bot.errors import ApiError

log = logging.getLogger("bot.directory")

# A look-up made while preparing an event counts as fresh for this long: the handler that asks for a
# fresh answer inside the transaction gets it without calling the API again.
PREPARED_SECONDS = 30.0

# The longest member reference accepted; the columns that keep a target are this long.
USER_REF_MAX_LENGTH = 200
# A resource id (UUID-like) or an email-like login. ASCII only, no '/', '\\', '%', spaces or
# control characters; ".." is refused separately.
_USER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*", re.ASCII)
_EMAIL = re.compile(r"[A-Za-z0-9._+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+", re.ASCII)


def user_ref_problem(text: str) -> str | None:
    """Why `text` cannot name a member ("too_long" or "malformed"), or None when it can."""
    if len(text) > USER_REF_MAX_LENGTH:
        return "too_long"
    if ".." in text or not (_USER_ID.fullmatch(text) or _EMAIL.fullmatch(text)):
        return "malformed"
    return None


def tenant_admin_flag(user: dict) -> bool | None:
    """Is the member a LINE WORKS administrator (`isAdministrator`)? None when the answer does not
    say: a profile-only answer (scope user.profile.read) has no flag, and an unexpected value is not
    taken for "no"."""
    value = user.get("isAdministrator")
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def member_state(user: dict) -> str:
    """deleted, pending, awaiting (not started yet), suspended or active."""
    for flag, state in (("isDeleted", "deleted"), ("isPending", "pending"), ("isAwaiting", "awaiting"),
                        ("isSuspended", "suspended")):
        if user.get(flag) is True:
            return state
    return "active"


def display_name(user: dict | None, fallback: str = "") -> str:
    if not user:
        return fallback
    name = user.get("userName") or {}
    full = f"{name.get('lastName', '')} {name.get('firstName', '')}".strip()
    return full or user.get("email") or user.get("userId") or fallback


def is_manager(user: dict) -> bool:
    return any(unit.get("isManager") for org in user.get("organizations") or [] for unit in org.get("orgUnits") or [])


class Directory:
    """Handlers run inside a database transaction, where no API call may be made (on SQLite the write
    lock would be held while it retries). So the worker first `prepare`s the members an event names
    (the sender, a command's target), outside the transaction, then runs the handlers `offline`: there
    a look-up is answered from what was prepared, or fails as the API did, and never calls it."""

    def __init__(self, client, ttl_seconds: float = 300.0, now=time.monotonic, max_members: int = 10_000):
        self.client = client
        self.ttl = ttl_seconds
        self._now = now
        # (when read, the member or None for "no such member"); a failure is kept just long enough
        # for the handler that prepared it to get the same error.
        self._cache: TTLCache = TTLCache(max_members, ttl_seconds, timer=now)
        self._failed: TTLCache = TTLCache(max_members, PREPARED_SECONDS, timer=now)
        self._lock = threading.Lock()
        self._local = threading.local()

    def get_user(self, user_id_or_email: str, fresh: bool = False) -> dict | None:
        key = user_id_or_email.strip().lower()
        with self._lock:
            hit, failed = self._cache.get(key), self._failed.get(key)
        max_age = PREPARED_SECONDS if fresh else self.ttl
        if hit and self._now() - hit[0] < max_age:
            return hit[1]
        if getattr(self._local, "offline", False):
            return self._offline_answer(hit, failed)
        try:
            user = self.client.get_user(user_id_or_email.strip())
        except ApiError as exc:
            if exc.status != 404:
                with self._lock:
                    self._failed[key] = (self._now(), exc)
                raise
            user = None
        with self._lock:
            self._failed.pop(key, None)
            self._cache[key] = (self._now(), user)
            if user:
                self._cache[str(user.get("userId", "")).lower()] = (self._now(), user)
        return user

    def _offline_answer(self, hit, failed) -> dict | None:
        if failed:
            raise failed[1]
        if hit:
            return hit[1]  # older than asked for; the API is not called inside a transaction
        log.warning("a member was looked up inside a transaction without being prepared; answered as unavailable")
        raise ApiError("get-user", None, "NOT_PREPARED", "looked up inside a database transaction")

    def prepare(self, refs: Iterable[tuple[str | None, bool]]) -> None:
        """Look these (member, fresh) up now, before a transaction; a failure is kept for the handler."""
        for ref, fresh in refs:
            if not ref or not ref.strip():
                continue
            try:
                self.get_user(ref, fresh=fresh)
            except ApiError:
                pass  # kept in _failed: the handler that asks gets the same error

    @contextmanager
    def offline(self):
        """Within the block, this thread's look-ups never call the API."""
        self._local.offline = True
        try:
            yield
        finally:
            self._local.offline = False
