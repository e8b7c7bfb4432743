"""Score the FAQ end to end: `python -m demo.evaluate FILE [FILE...]`.

Each question is sent as a text message by its own (synthetic) employee through the emulator: signed
callback, the bot's webhook, inbox, dispatcher with every route, outbox, JWT token and message API.
The bot's replies are read back from the emulator's transcript and scored with the dev set's rules
(handlers/faq_eval.py). Exit code 1 below 95% in scope or 90% out of scope.
"""
from __future__ import annotations

import secrets
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from demo.stack import Identity, running_stack
from emulator.keys import generate_keypair
from handlers.faq_eval import load_set, score

PARALLEL = 8


def message_text(content: dict) -> str:
    return content.get("text") or content.get("contentText") or ""


def ask_all(stack, questions: list[str], settle_seconds: float = 0.6, timeout: float = 120) -> dict[str, list[str]]:
    """Send every question from a different member; return question -> texts the bot sent back."""
    members = [u["userId"] for u in stack.emulator.directory() if u.get("email", "").startswith("emp")]
    if len(members) < len(questions):
        raise RuntimeError("the emulator needs one synthetic member per question")
    askers = dict(zip(questions, members))
    with ThreadPoolExecutor(PARALLEL) as pool:
        statuses = list(pool.map(lambda q: stack.emulator.say(askers[q], q)["status"], questions))
    if any(status != 200 for status in statuses):
        raise RuntimeError(f"the bot refused some callbacks: {sorted(set(statuses))}")
    deadline = time.monotonic() + timeout
    last, stable_since = None, time.monotonic()
    while time.monotonic() < deadline:
        transcript = [m for m in stack.emulator.messages() if m["from"] == "bot"]
        answered = {m["target"]["id"] for m in transcript}
        if len(transcript) != last:
            last, stable_since = len(transcript), time.monotonic()
        if answered >= set(members[: len(questions)]) and time.monotonic() - stable_since >= settle_seconds:
            break
        time.sleep(0.1)
    replies: dict[str, list[str]] = {}
    for question, member in askers.items():
        replies[question] = [message_text(m["content"]) for m in transcript if m["target"]["id"] == member]
    return replies


def evaluate(paths: list[str]) -> list:
    questions = sorted({str(item["q"]) for path in paths for item in load_set(path)["questions"]})
    private_key, public_key = generate_keypair()
    identity = Identity(private_key=private_key, public_key=public_key, bot_secret=secrets.token_urlsafe(16))
    with tempfile.TemporaryDirectory() as scratch:
        database = f"sqlite:///{Path(scratch) / 'evaluate.sqlite3'}"
        with running_stack(identity, database, emulator_overrides={"directory_size": len(questions),
                                                                   "rate_limit_per_minute": 100_000}) as stack:
            replies = ask_all(stack, questions)
    return [score(path, lambda q: replies.get(q, [])) for path in paths]


def main(argv: list[str] | None = None) -> int:
    paths = list(sys.argv[1:] if argv is None else argv)
    if not paths:
        print("usage: python -m demo.evaluate FILE [FILE...]", file=sys.stderr)
        return 2
    reports = evaluate(paths)
    for report in reports:
        for failure in report.failures:
            print("FAIL " + failure.describe())
        print(report.summary())
    return 0 if all(report.ok for report in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
