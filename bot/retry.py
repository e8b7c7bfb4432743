"""The one retry policy of the bot: exponential backoff with jitter, and LINE WORKS' own word first.

Used by the client's short in-process retries and by every durable retry (inbox, outbox, account
actions, broadcasts). When the API said how long to wait (`rateLimit-reset` on a 429, carried as
`ApiError.retry_after`), that wait is taken as it is.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from bot.errors import ApiError


@dataclass(frozen=True)
class Backoff:
    first_seconds: float = 1.0
    max_seconds: float = 300.0
    jitter: float = 0.2  # +-20 %, so that retries of many rows do not arrive together

    def seconds(self, attempt: int) -> float:
        """The wait after the `attempt`-th failure (1 for the first): first, 2 x first, 4 x first ..."""
        base = min(self.first_seconds * 2.0 ** max(attempt - 1, 0), self.max_seconds)
        return base * random.uniform(1 - self.jitter, 1 + self.jitter) if self.jitter else base

    def after(self, error: ApiError, attempt: int) -> float:
        """The wait before trying again after `error`: the API's own `rateLimit-reset` for a 429."""
        if error.status == 429 and error.retry_after:
            return error.retry_after
        return self.seconds(attempt)


DURABLE = Backoff()  # rows in the database: 1 s, 2 s, 4 s ... 5 minutes
IN_PROCESS = Backoff(max_seconds=30.0, jitter=0.0)  # the client's short waits inside one call
