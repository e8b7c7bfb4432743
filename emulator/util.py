"""Small shared helpers."""
from datetime import datetime, timezone


def utc_now_iso(moment: datetime | None = None) -> str:
    """ISO-8601 in UTC with milliseconds, the way LINE WORKS writes issuedTime (now, or `moment`)."""
    moment = moment or datetime.now(timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def error_body(code: str, description: str) -> dict:
    """LINE WORKS error JSON: {"code", "description"}."""
    return {"code": code, "description": description}
