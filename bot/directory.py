"""Directory look-ups for handlers: who is this user (name, admin flag, status)?

A thin cache over LineWorksClient.get_user, so that a conversation does not call the API for every
message. A user that does not exist is None; other API failures raise ApiError for the caller to
explain.

Also what a member reference typed by a person may look like (`user_ref_problem`) and how to read a
member's state and LINE WORKS administrator flag defensively (`member_state`, `tenant_admin_flag`).
"""
from __future__ import annotations

import re
import threading
import time

from bot.client import ApiError
from bot.records import account_actions, confirmations

# The longest member reference accepted: what the columns that keep a target can hold.
USER_REF_MAX_LENGTH = min(account_actions.c.target_user_id.type.length,
                          confirmations.c.target_user_id.type.length)
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
    def __init__(self, client, ttl_seconds: float = 300.0, now=time.monotonic):
        self.client = client
        self.ttl = ttl_seconds
        self._now = now
        self._cache: dict[str, tuple[float, dict | None]] = {}
        self._lock = threading.Lock()

    def get_user(self, user_id_or_email: str, fresh: bool = False) -> dict | None:
        key = user_id_or_email.strip().lower()
        with self._lock:
            hit = self._cache.get(key)
        if hit and not fresh and self._now() - hit[0] < self.ttl:
            return hit[1]
        try:
            user = self.client.get_user(user_id_or_email.strip())
        except ApiError as exc:
            if exc.status == 404:
                user = None
            else:
                raise
        with self._lock:
            self._cache[key] = (self._now(), user)
            if user:
                self._cache[str(user.get("userId", "")).lower()] = (self._now(), user)
        return user
