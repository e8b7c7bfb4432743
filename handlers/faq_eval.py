"""Score the FAQ bot against a dev set (the format of /work/shared/eval/faq_dev.yaml).

Rules, as stated in the dev set's header: join every message text the bot sends back (labels of
buttons and quick replies left out), NFKC-normalise, lower-case, remove white space. An in-scope
question passes when every `expect` group has at least one alternative in that text. A `topic: none`
question passes when the text holds at most one distinct `signature` word of all topics together.

    python -m handlers.faq_eval FILE [FILE...]     exit 1 below 95% in scope or 90% out of scope
"""
from __future__ import annotations

import re
import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import yaml

IN_SCOPE_TARGET = 0.95
OUT_OF_SCOPE_TARGET = 0.90


def squash(text: str) -> str:
    """NFKC, lower case, no white space: the form replies and expected words are compared in."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text).lower())


@dataclass
class Failure:
    question: str
    topic: str
    missing: list[list[str]] = field(default_factory=list)  # expect groups with no alternative found
    signatures: list[str] = field(default_factory=list)  # signature words seen (out of scope)
    reply: str = ""

    def describe(self) -> str:
        if self.topic == "none":
            why = f"out of scope but reply holds {len(self.signatures)} signature words: {', '.join(self.signatures)}"
        else:
            why = "missing " + " AND ".join("[" + "|".join(g) + "]" for g in self.missing)
        return f"[{self.topic}] {self.question!r}: {why}\n    reply: {self.reply[:160]}"


@dataclass
class Report:
    path: str
    in_total: int = 0
    in_passed: int = 0
    out_total: int = 0
    out_passed: int = 0
    failures: list[Failure] = field(default_factory=list)

    @property
    def in_rate(self) -> float:
        return self.in_passed / self.in_total if self.in_total else 1.0

    @property
    def out_rate(self) -> float:
        return self.out_passed / self.out_total if self.out_total else 1.0

    @property
    def ok(self) -> bool:
        return self.in_rate >= IN_SCOPE_TARGET and self.out_rate >= OUT_OF_SCOPE_TARGET

    def summary(self) -> str:
        return (
            f"{self.path}: in scope {self.in_passed}/{self.in_total} ({self.in_rate:.1%}), "
            f"out of scope {self.out_passed}/{self.out_total} ({self.out_rate:.1%})"
        )


def load_set(path: str | Path) -> dict:
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    if not isinstance(data, dict) or "questions" not in data or "topics" not in data:
        raise ValueError(f"{path}: expected a mapping with 'topics' and 'questions'")
    return data


def score(dev_set_path: str | Path, ask: Callable[[str], list[str]]) -> Report:
    data = load_set(dev_set_path)
    signatures = sorted(
        {squash(str(w)) for t in data["topics"].values() for w in (t or {}).get("signature", [])}
    )
    report = Report(str(dev_set_path))
    for item in data["questions"]:
        q, topic = str(item["q"]), str(item.get("topic", "none"))
        reply = squash("".join(ask(q)))
        if topic == "none":
            report.out_total += 1
            seen = [w for w in signatures if w in reply]
            if len(seen) <= 1:
                report.out_passed += 1
            else:
                report.failures.append(Failure(q, topic, signatures=seen, reply=reply))
        else:
            report.in_total += 1
            groups = [[squash(str(a)) for a in g] for g in item.get("expect", [])]
            missing = [g for g in groups if not any(a in reply for a in g)]
            if not missing:
                report.in_passed += 1
            else:
                report.failures.append(Failure(q, topic, missing=missing, reply=reply))
    return report


def default_ask(book=None) -> Callable[[str], list[str]]:
    """ask(text) -> message texts, through the FAQ handler only (config/ books)."""
    from handlers import faq

    book = book or faq.load_faq()
    return lambda text: faq.reply_texts(faq.respond(book, text))


def main(argv: list[str] | None = None) -> int:
    paths = list(sys.argv[1:] if argv is None else argv)
    if not paths:
        print("usage: python -m handlers.faq_eval FILE [FILE...]", file=sys.stderr)
        return 2
    ask = default_ask()
    ok = True
    for path in paths:
        report = score(path, ask)
        for f in report.failures:
            print("FAIL " + f.describe())
        print(report.summary())
        ok = ok and report.ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
