"""The states of the platform's queued rows (bot/store.py's lease primitive)."""
from enum import StrEnum


class Status(StrEnum):
    """The life of a queued row (inbox, outbox, account actions, broadcasts): `pending` until claimed
    under a lease (`claim`), then working (processing, sending, running), then closed."""

    PENDING = "pending"
    PROCESSING = "processing"  # inbox rows and account actions
    SENDING = "sending"  # outbox rows
    RUNNING = "running"  # broadcasts
    DONE = "done"
    SENT = "sent"
    FAILED = "failed"
    EXPIRED = "expired"
