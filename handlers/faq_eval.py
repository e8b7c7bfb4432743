"""Score the FAQ bot against a question set (the format of shared/eval/faq_dev.yaml).

Rules, as stated in the dev set's header: join every message text the bot sends back (labels of
buttons and quick replies left out), NFKC-normalise, lower-case, remove white space. An in-scope
question passes when every `expect` group has at least one alternative in that text. A `topic: none`
question passes when the text holds at most one distinct `signature` word of all topics together.

Besides accuracy, an evaluation in the process (`python -m handlers.faq evaluate FILE...`) prints:
- Hit@3: in-scope questions whose right entry (one whose answer holds the expected words) is among the
  three best candidates, whatever the bot chose to show;
- the fallback rate: questions answered with 「わかりません」 or "not something I handle";
- for each miss, what the bot did instead (the entry it answered, its 「もしかして」, or fallback).

    python -m handlers.faq_eval FILE [FILE...]     exit 1 below 95% in scope or 90% out of scope
"""
from __future__ import annotations

import re
import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, NamedTuple

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
    instead: str = ""  # what the bot did: "answer <entry>", "suggest a, b", "fallback"

    def describe(self) -> str:
        if self.topic == "none":
            why = f"out of scope but reply holds {len(self.signatures)} signature words: {', '.join(self.signatures)}"
        else:
            why = "missing " + " AND ".join("[" + "|".join(g) + "]" for g in self.missing)
        did = f"\n    bot: {self.instead}" if self.instead else ""
        return f"[{self.topic}] {self.question!r}: {why}{did}\n    reply: {self.reply[:160]}"


class Explained(NamedTuple):
    """How the bot handled one question, for the metrics beyond accuracy."""
    kind: str                   # answer, suggest, fallback, not_ours, greeting, menu...
    shown: tuple[str, ...]      # entry answered, or candidates offered
    top3_answers: tuple[str, ...]  # answer texts of the three best entries (for Hit@3)

    def describe(self) -> str:
        return f"{self.kind} {', '.join(self.shown)}".strip()


@dataclass
class Report:
    path: str
    in_total: int = 0
    in_passed: int = 0
    out_total: int = 0
    out_passed: int = 0
    failures: list[Failure] = field(default_factory=list)
    explained: int = 0       # questions with an explanation (in-process evaluation only)
    hit3: int = 0            # in-scope questions whose right entry is among the best three
    hit3_total: int = 0
    fallbacks: int = 0       # questions answered with a fallback or "not ours"

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
        line = (
            f"{self.path}: in scope {self.in_passed}/{self.in_total} ({self.in_rate:.1%}), "
            f"out of scope {self.out_passed}/{self.out_total} ({self.out_rate:.1%})"
        )
        if self.explained:
            total = self.in_total + self.out_total
            line += (f", Hit@3 {self.hit3}/{self.hit3_total} ({self.hit3 / max(1, self.hit3_total):.1%}), "
                     f"fallback rate {self.fallbacks}/{total} ({self.fallbacks / max(1, total):.1%})")
        return line


def load_set(path: str | Path) -> dict:
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    if not isinstance(data, dict) or "questions" not in data or "topics" not in data:
        raise ValueError(f"{path}: expected a mapping with 'topics' and 'questions'")
    return data


def _holds(text: str, groups: list[list[str]]) -> bool:
    return all(any(a in text for a in g) for g in groups)


def score(dev_set_path: str | Path, ask: Callable[[str], list[str]],
          explain: Callable[[str], Explained] | None = None) -> Report:
    data = load_set(dev_set_path)
    signatures = sorted(
        {squash(str(w)) for t in data["topics"].values() for w in (t or {}).get("signature", [])}
    )
    report = Report(str(dev_set_path))
    for item in data["questions"]:
        q, topic = str(item["q"]), str(item.get("topic", "none"))
        reply = squash("".join(ask(q)))
        how = explain(q) if explain else None
        if how is not None:
            report.explained += 1
            report.fallbacks += how.kind in ("fallback", "not_ours")
        if topic == "none":
            report.out_total += 1
            seen = [w for w in signatures if w in reply]
            if len(seen) <= 1:
                report.out_passed += 1
            else:
                report.failures.append(Failure(q, topic, signatures=seen, reply=reply,
                                               instead=how.describe() if how else ""))
        else:
            report.in_total += 1
            groups = [[squash(str(a)) for a in g] for g in item.get("expect", [])]
            missing = [g for g in groups if not any(a in reply for a in g)]
            if how is not None:
                report.hit3_total += 1
                report.hit3 += any(_holds(squash(a), groups) for a in how.top3_answers)
            if not missing:
                report.in_passed += 1
            else:
                report.failures.append(Failure(q, topic, missing=missing, reply=reply,
                                               instead=how.describe() if how else ""))
    return report


def default_ask(book=None) -> Callable[[str], list[str]]:
    """ask(text) -> message texts, through the FAQ handler only (config/ books)."""
    from handlers import faq

    book = book or faq.load_faq()
    return lambda text: faq.reply_texts(faq.respond(book, text))


def default_explain(book) -> Callable[[str], Explained]:
    """explain(text): what the FAQ handler did with the text, and its three best entries."""
    from handlers import faq

    def explain(text: str) -> Explained:
        if faq.browse_request(book, text) is not None:
            return Explained("menu", (), ())
        outcome = faq.classify(book, text)
        shown = (outcome.entry_id,) if outcome.kind == "answer" else outcome.candidates
        query = book.matcher.smalltalk.strip(text[: faq.MAX_QUESTION_CHARS])
        top = [r.id for r in book.matcher.rank(query, limit=5) if r.id in book.by_id][:3]
        return Explained(outcome.kind, tuple(shown), tuple(book.by_id[i].answer for i in top))

    return explain


def evaluate(paths: list[str], words_only: bool = False, echo=print) -> int:
    """Score each set with the FAQ in this process: every miss, then the summary. 0 when every set
    reaches its bar, else 1. `words_only` scores as with BOT_FAQ_SEMANTIC=false."""
    from handlers import faq, matching

    book = faq.load_faq(params=matching.MatchParams(**matching.WORDS_ONLY) if words_only else None)
    ask, explain = default_ask(book), default_explain(book)
    ok = True
    for path in paths:
        report = score(path, ask, explain)
        for f in report.failures:
            echo("FAIL " + f.describe())
        echo(report.summary())
        ok = ok and report.ok
    return 0 if ok else 1


if __name__ == "__main__":
    import manage

    sys.exit(manage.run(["faq", "evaluate", *sys.argv[1:]], prog="python -m handlers.faq_eval"))
