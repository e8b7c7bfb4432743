"""`make bench`: every benchmark, in order, each figure printed and written to bench/results/<name>.json
together with the machine it ran on.

  1. webhook   POST /callback through the Procfile's web line vs a bare Flask app (wrk)
  2. e2e       callback -> reply latency through the emulator, light and heavy load
  3. faq       FAQ answering time per question and memory (bench/faq_bench.py)
  4. reminder  reminder broadcast (bench/reminder_bench.py, when present)
  5. memory    RSS of the web and clock processes at rest and after the heavy load

Needs only the project's files and wrk (`sudo make bench-deps`). About 5 minutes on 2 cores.

    .venv/bin/python -m bench [webhook e2e faq reminder]   (default: all)
"""
from __future__ import annotations

import contextlib
import importlib
import inspect
import io
import json
import os
import shutil
import sys
import time
import traceback
from pathlib import Path

from bench.webhook_bench import ROOT, RESULTS, machine, write_result

ALL = ("webhook", "e2e", "faq", "reminder")


def run_webhook(state: dict) -> None:
    from bench import webhook_bench
    figures = webhook_bench.main()
    state["web_after_wrk"] = figures["web_rss_after_run"]


def run_e2e(state: dict) -> None:
    from bench import e2e_bench
    extra = {"web_after_wrk": state["web_after_wrk"]} if "web_after_wrk" in state else None
    e2e_bench.main(extra_memory=extra)


def _tee(fn):
    """Run fn() with its stdout shown and kept."""
    buffer = io.StringIO()

    class Tee(io.TextIOBase):
        def write(self, text):
            sys.__stdout__.write(text)
            buffer.write(text)
            return len(text)

        def flush(self):
            sys.__stdout__.flush()

    with contextlib.redirect_stdout(Tee()):
        result = fn()
    return result, buffer.getvalue()


def run_faq(state: dict) -> None:
    from bench import faq_bench
    print("FAQ: answering time per question and memory, words only and with the meaning signal (bench/faq_bench.py)")
    rows, text = _tee(faq_bench.main)
    path = write_result("faq", {"rows": rows, "output": text})
    print(f"  -> {path.relative_to(ROOT)}")


def run_reminder(state: dict) -> None:
    """bench/reminder_bench.py is written separately; it prints its figures and writes its own file."""
    if not (ROOT / "bench" / "reminder_bench.py").exists():
        print("Reminder broadcast: bench/reminder_bench.py is not in this checkout; skipped.")
        return
    module = importlib.import_module("bench.reminder_bench")
    print("Reminder broadcast (bench/reminder_bench.py)", flush=True)
    path = Path(getattr(module, "RESULTS", RESULTS / "reminders.json"))
    before = path.stat().st_mtime if path.exists() else None
    takes_argv = bool(inspect.signature(module.main).parameters)
    code = module.main([]) if takes_argv else module.main()  # [] so that it does not read our own argv
    if path.exists() and path.stat().st_mtime != before:
        figures = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(figures, dict) and "machine" not in figures:
            figures["machine"] = machine()
            path.write_text(json.dumps(figures, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    elif isinstance(code, dict):
        path = write_result("reminder", code)
    print(f"  -> {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    if isinstance(code, int) and code != 0:
        raise RuntimeError(f"bench/reminder_bench.py main() returned {code} (see its figures above)")


RUNNERS = {"webhook": run_webhook, "e2e": run_e2e, "faq": run_faq, "reminder": run_reminder}


def main(argv: list[str] | None = None) -> int:
    names = list(argv if argv is not None else sys.argv[1:]) or list(ALL)
    unknown = [n for n in names if n not in RUNNERS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(ALL)}", file=sys.stderr)
        return 2
    if {"webhook"} & set(names) and not shutil.which("wrk"):
        print("wrk is not installed; run `sudo make bench-deps` (Debian package wrk) first", file=sys.stderr)
        return 2
    info = machine()
    print(f"Machine: {info['nproc']} CPU(s), {info['cpu_model']}, {info['memory_total_mib']} MiB, "
          f"Python {info['python']}, {info['wrk'] or 'no wrk'}, {info['date']}, "
          f"load average {info['load_average_1_5_15_min'][0]}\n", flush=True)
    if os.getloadavg()[0] > 0.5 * info["nproc"]:
        print(f"warning: the machine is busy (load average {os.getloadavg()[0]:.1f} on {info['nproc']} CPUs); "
              "other work lowers every figure below\n", flush=True)
    state: dict = {}
    failed = []
    for name in names:
        started = time.monotonic()
        try:
            RUNNERS[name](state)
        except Exception:  # one benchmark failing does not hide the others' figures
            failed.append(name)
            print(f"\n[{name}] FAILED:\n{traceback.format_exc()}", file=sys.stderr, flush=True)
        print(f"  ({name}: {time.monotonic() - started:.0f} s)\n", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
