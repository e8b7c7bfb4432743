"""FAQ answering time per question and resident memory, words only and with the meaning signal.
Not a test.

Each mode runs in a fresh Python process (so that its memory is its own): it loads the FAQ as a web
process does, then answers every question of the project's question sets (real questions, short and
long), each once after a warm-up, and reports the time of `faq.respond` per question (p50, p99, max)
and the process's resident memory before and after loading the FAQ (VmRSS).

    .venv/bin/python -m bench.faq_bench
"""
from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETS = sorted((ROOT / "tests" / "faq" / "data").glob("*.yaml"))
MODES = ("words", "semantic")


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def measure(mode: str) -> dict:
    """In this process: load the FAQ in `mode` and time every question."""
    import yaml

    before = rss_mib()
    from handlers import faq, matching

    params = matching.MatchParams() if mode == "semantic" else matching.MatchParams(**matching.WORDS_ONLY)
    started = time.perf_counter()
    book = faq.load_faq(params=params)
    load_s = time.perf_counter() - started
    questions = [str(q["q"]) for path in SETS for q in yaml.safe_load(path.read_text(encoding="utf-8"))["questions"]]
    for q in questions[:20]:
        faq.respond(book, q)  # warm-up: first calls build per-thread tokenizers
    times = []
    for q in questions:
        t = time.perf_counter()
        faq.respond(book, q)
        times.append((time.perf_counter() - t) * 1e3)
    times.sort()
    return {"mode": mode, "questions": len(times), "p50_ms": round(statistics.median(times), 2),
            "p99_ms": round(times[int(len(times) * 0.99) - 1], 2), "max_ms": round(times[-1], 2),
            "load_s": round(load_s, 2), "rss_before_mib": round(before, 1), "rss_after_mib": round(rss_mib(), 1)}


def main() -> list[dict]:
    rows = []
    for mode in MODES:
        out = subprocess.run([sys.executable, "-m", "bench.faq_bench", "--mode", mode], cwd=ROOT,
                             capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"{'mode':9s} {'questions':>9s} {'p50 ms':>7s} {'p99 ms':>7s} {'max ms':>7s} {'load s':>7s} "
          f"{'RSS before':>10s} {'after (MiB)':>11s}")
    for r in rows:
        print(f"{r['mode']:9s} {r['questions']:9d} {r['p50_ms']:7.2f} {r['p99_ms']:7.2f} {r['max_ms']:7.2f} "
              f"{r['load_s']:7.2f} {r['rss_before_mib']:10.1f} {r['rss_after_mib']:11.1f}")
    return rows


if __name__ == "__main__":
    if sys.argv[1:2] == ["--mode"]:
        print(json.dumps(measure(sys.argv[2])))
    else:
        main()
