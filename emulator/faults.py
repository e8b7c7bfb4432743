"""Queued failures for matching API calls, to test the bot's retry and timeout paths."""
import re
from dataclasses import dataclass

# Error codes used in injected error bodies (the real 5xx codes are undocumented).
FAULT_CODES = {429: "TOO_MANY_REQUESTS", 500: "INTERNAL_SERVER_ERROR", 503: "SERVICE_UNAVAILABLE"}


@dataclass
class Fault:
    id: int
    path_regex: str
    method: str | None  # None = any method
    status: int | str  # an HTTP status, or "timeout"
    remaining: int
    delay_seconds: float

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and re.search(self.path_regex, path) is not None

    def describe(self) -> dict:
        return {"id": self.id, "pathRegex": self.path_regex, "method": self.method,
                "status": self.status, "remaining": self.remaining, "delaySeconds": self.delay_seconds}


def parse_fault(spec: dict, fault_id: int, default_delay: float) -> Fault:
    """Build a Fault from the control-API JSON; raise ValueError with a readable message."""
    if not isinstance(spec, dict):
        raise ValueError("body must be a JSON object")
    path_regex = spec.get("pathRegex")
    if not isinstance(path_regex, str):
        raise ValueError("pathRegex (string) is required")
    try:
        re.compile(path_regex)
    except re.error as exc:
        raise ValueError(f"pathRegex is not a valid regular expression: {exc}") from exc
    status = spec.get("status")
    if status != "timeout" and not (isinstance(status, int) and 400 <= status <= 599):
        raise ValueError("status must be an HTTP error status (400-599) or 'timeout'")
    count = spec.get("count", 1)
    if not isinstance(count, int) or count < 1:
        raise ValueError("count must be a positive integer")
    method = spec.get("method")
    delay = spec.get("delaySeconds", default_delay)
    if not isinstance(delay, (int, float)) or delay < 0:
        raise ValueError("delaySeconds must be a non-negative number")
    return Fault(fault_id, path_regex, method.upper() if method else None, status, count, float(delay))


class FaultQueue:
    """The caller holds the state lock."""

    def __init__(self):
        self.faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        self.faults.append(fault)

    def take(self, method: str, path: str) -> Fault | None:
        """Consume one use of the first matching fault, if any."""
        for fault in self.faults:
            if fault.matches(method, path):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def clear(self) -> None:
        self.faults.clear()
