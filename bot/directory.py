"""Directory look-ups for handlers: who is this user (name, admin flag, status)?

A thin cache over LineWorksClient.get_user, so that a conversation does not call the API for every
message. A user that does not exist is None; other API failures raise ApiError for the caller to
explain.
"""
from __future__ import annotations

import threading
import time

from bot.client import ApiError


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
