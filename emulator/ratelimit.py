"""Per-operation rate limit with a fixed 60-second window (section 4.2 of the API notes).

LINE WORKS counts calls per API operation per domain; we emulate one domain, so the
operation name alone is the key. The caller holds the state lock.
"""
import math
import time
from dataclasses import dataclass

WINDOW_SECONDS = 60


@dataclass
class Window:
    started: float
    used: int = 0


@dataclass
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset: int  # whole seconds until the window resets

    def headers(self) -> dict:
        return {
            "rateLimit-limit": str(self.limit),
            "rateLimit-remaining": str(self.remaining),
            "rateLimit-reset": str(self.reset),
        }


class RateLimiter:
    def __init__(self, per_minute: int, clock=time.monotonic):
        self.per_minute = per_minute
        self._clock = clock
        self._windows: dict[str, Window] = {}

    def _window(self, operation: str) -> Window:
        now = self._clock()
        window = self._windows.get(operation)
        if window is None or now - window.started >= WINDOW_SECONDS:
            window = self._windows[operation] = Window(started=now)
        return window

    def _verdict(self, window: Window, allowed: bool) -> Verdict:
        reset = max(0, math.ceil(window.started + WINDOW_SECONDS - self._clock()))
        return Verdict(allowed, self.per_minute, max(0, self.per_minute - window.used), reset)

    def hit(self, operation: str) -> Verdict:
        """Count one call; allowed is False once the window's budget is used up."""
        window = self._window(operation)
        if window.used >= self.per_minute:
            return self._verdict(window, allowed=False)
        window.used += 1
        return self._verdict(window, allowed=True)

    def peek(self, operation: str) -> Verdict:
        """Current state without counting (for responses to rejected requests)."""
        return self._verdict(self._window(operation), allowed=True)

    def reset(self) -> None:
        self._windows.clear()
