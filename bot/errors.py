"""The error every LINE WORKS API call raises: platform and handlers catch it without importing the
client (handlers never import the API client or requests)."""
from __future__ import annotations


class ApiError(Exception):
    def __init__(self, operation: str, status: int | None, code: str, description: str = "",
                 retryable: bool = False, retry_after: float | None = None, maybe_done: bool = False):
        self.operation = operation
        self.status = status
        self.code = code
        self.description = description
        self.retryable = retryable
        self.retry_after = retry_after
        # No response, but the request may have reached LINE WORKS and taken effect (a read timeout,
        # a connection dropped after sending): repeating it may do it twice.
        self.maybe_done = maybe_done
        super().__init__(f"{operation}: {status or 'no response'} {code} {description}".strip())
