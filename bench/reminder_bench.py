"""Reminder broadcast benchmark: one reminder to N directory members through the LINE WORKS emulator.

    python bench/reminder_bench.py [--recipients 10000] [--rate 6000] [--questions 20]

The emulator limits the message API to --rate calls a minute (per API, like LINE WORKS); the bot's
send budget (BOT_SEND_RATE_PER_MIN) is set a little under it (--headroom, default 5 %). At the real
limit (240/min, half of it for long runs) 10,000 members take most of an hour, so the default runs
at 6,000/min to finish in about two minutes; the pacing code is the same.

The broadcaster runs in its own process (`python -m scheduler send` does the same work; this bench
starts a child that can take a rate above the production cap) and reports its peak RSS. Meanwhile
the bot's web process (in this process) answers employees' questions sent through the emulator's
`say`: their reply latency is measured with and without the broadcast running.

Prints the figures and writes them to bench/results/reminders.json.
"""
from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "bench" / "results" / "reminders.json"
QUESTIONS = ["通信費は誰が払うの？", "スマホをなくしたらどうすればいい？", "休みの日にトークを見なくてもいいですか",
             "通知を止めたい", "データ通信量を減らしたい"]
BENCH_REMINDER = """
reminders:
  - id: bench
    title: ベンチマーク
    # urgent so that the bench runs at any hour (quiet hours and days off would stop it otherwise)
    urgent: true
    skip_holidays: false
    schedule: {hour: 10, minute: 0}
    audience: all
    message:
      text: ベンチマーク用のお知らせです。
"""


def _config_dir(tmp: Path) -> Path:
    import yaml
    config = tmp / "config"
    shutil.copytree(ROOT / "config", config, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    data = yaml.safe_load((config / "reminders.yaml").read_text(encoding="utf-8"))
    data["reminders"] = yaml.safe_load(BENCH_REMINDER)["reminders"]
    (config / "reminders.yaml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False),
                                           encoding="utf-8")
    return config


# -- the broadcaster process --------------------------------------------------------------------------

def child(args) -> int:
    """Send the bench reminder to everyone, report elapsed time and peak RSS as JSON on stdout."""
    import logging
    from bot.app import build_runtime
    from bot.client import Credentials, LineWorksClient
    from config.settings import load_settings
    from scheduler.broadcast import Broadcaster
    from scheduler.config import load_reminders
    from scheduler.service import ReminderService

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s",
                        stream=sys.stderr)
    logging.getLogger("bot").setLevel(logging.WARNING)
    settings = replace(load_settings(), config_dir=Path(args.config_dir), send_rate_per_min=args.bot_rate)
    client = LineWorksClient(Credentials.from_settings(settings), timeout=(3, 10), max_wait=0)
    runtime = build_runtime(settings, client=client)
    book = load_reminders(settings.config_dir / "reminders.yaml", settings.tz, settings.config_dir / "company.yaml")
    started = time.monotonic()
    with runtime.store.transaction() as tx:
        result = ReminderService(book).request_send(tx, "bench", runtime.clock.now(), "bench")
    broadcaster = Broadcaster(runtime.store, runtime.client, book, args.bot_rate)
    broadcaster.run_until_done(result.broadcast_id, poll_seconds=0.2)
    elapsed = time.monotonic() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"elapsed": elapsed, "peak_rss_mb": round(peak_kb / 1024, 1), "yields": broadcaster.pacer.yields,
                      "pauses": broadcaster.pacer.pauses, "senders": broadcaster.senders}))
    return 0


# -- the driver ---------------------------------------------------------------------------------------

def ask(emu, user_id: str, text: str, timeout: float = 30.0) -> float:
    """Send a question as the user; seconds until the bot's answer appears in the user's room."""
    started = time.monotonic()
    event_id = emu.say(user_id, text)["eventId"]  # ids are shared by all logs: the answer comes after it
    while time.monotonic() - started < timeout:
        if any(m["from"] == "bot" for m in emu.messages(user_id=user_id, since=event_id)):
            return time.monotonic() - started
        time.sleep(0.01)
    raise RuntimeError(f"no answer to {text!r} within {timeout}s")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def run(args) -> dict:
    from bot.app import create_app
    from bot.client import Credentials, LineWorksClient
    from config.settings import load_settings
    from emulator.directory import SEED_USERS
    from emulator.keys import generate_keypair
    from demo.stack import free_port
    from emulator.testing import running_emulator, serving
    from tests.stack import emulator_config, stack_env

    tmp = Path(tempfile.mkdtemp(prefix="reminder-bench-"))
    config_dir = _config_dir(tmp)
    database_url = args.database_url or f"sqlite:///{tmp / 'bench.sqlite3'}"
    private_key, public_key = generate_keypair()
    seed_active = [u for u in SEED_USERS.values() if u.state == "active"]
    synthetic = max(0, args.recipients - len(seed_active))
    port = free_port()
    bot_rate = max(1, int(args.rate * (1 - args.headroom / 100)))
    config = emulator_config(public_key, f"http://127.0.0.1:{port}/callback", directory_size=synthetic,
                             rate_limit_per_minute=args.rate)
    with running_emulator(config) as emu:
        env = stack_env(private_key, database_url, emu)
        settings = replace(load_settings(env), config_dir=config_dir)
        app = create_app(settings, client=LineWorksClient(Credentials.from_settings(settings), max_wait=2))
        runtime = app.extensions["bot"]
        runtime.worker.poll_seconds = 0.02
        import logging
        logging.getLogger("bot").setLevel(logging.WARNING)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        with serving(app, port):
            askers = [u.user_id for u in seed_active]
            try:
                baseline = [ask(emu, askers[i % len(askers)], QUESTIONS[i % len(QUESTIONS)])
                            for i in range(args.questions)]
                eligible = {u.user_id for u in seed_active} | {u["userId"] for u in emu.directory()
                                                               if u["email"].startswith("emp")}
                first_id = max([m["id"] for m in emu.messages()] or [0])
                child_env = dict(env, PYTHONPATH=str(ROOT))
                started = time.monotonic()
                process = subprocess.Popen(
                    [sys.executable, str(Path(__file__).resolve()), "--child", "--config-dir", str(config_dir),
                     "--bot-rate", str(bot_rate)], cwd=ROOT, env=child_env, stdout=subprocess.PIPE,
                    stderr=None if args.verbose else subprocess.DEVNULL, text=True)
                during = []
                time.sleep(3)  # let the broadcast get going
                gap = max(0.5, (args.recipients / bot_rate * 60) / (args.questions + 2))
                for i in range(args.questions):
                    if process.poll() is not None:
                        break
                    during.append(ask(emu, askers[i % len(askers)], QUESTIONS[i % len(QUESTIONS)]))
                    time.sleep(gap)
                out, _ = process.communicate(timeout=args.recipients / bot_rate * 60 * 3 + 120)
                wall = time.monotonic() - started
                report = json.loads(out.strip().splitlines()[-1])
            finally:
                runtime.worker.stop()

        broadcast = [m for m in emu.messages(since=first_id)
                     if m["from"] == "bot" and m["content"].get("text") == "ベンチマーク用のお知らせです。"]
        counts: dict[str, int] = {}
        for m in broadcast:
            counts[m["target"]["id"]] = counts.get(m["target"]["id"], 0) + 1
        over_limit = sum(1 for c in emu.calls() if c["status"] == 429)

    recipients = len(eligible)
    floor_budget = recipients / bot_rate * 60
    floor_limit = recipients / args.rate * 60
    result = {
        "recipients": recipients,
        "platform_limit_per_min": args.rate,
        "bot_rate_per_min": bot_rate,
        "floor_seconds_at_bot_rate": round(floor_budget, 1),
        "floor_seconds_at_platform_limit": round(floor_limit, 1),
        "time_taken_seconds": round(report["elapsed"], 1),
        "ratio_to_bot_rate_floor": round(report["elapsed"] / floor_budget, 3),
        "ratio_to_platform_limit_floor": round(report["elapsed"] / floor_limit, 3),
        "broadcaster_peak_rss_mb": report["peak_rss_mb"],
        "sender_threads": report["senders"],
        "duplicates": sum(c - 1 for c in counts.values() if c > 1),
        "missed": len(eligible - set(counts)),
        "unexpected_recipients": len(set(counts) - eligible),
        "responses_429": over_limit,
        "broadcast_yields_to_answers": report["yields"],
        "questions": len(baseline),
        "latency_without_broadcast_ms": {"p50": round(statistics.median(baseline) * 1000),
                                         "p99": round(percentile(baseline, 99) * 1000)},
        "latency_during_broadcast_ms": {"p50": round(statistics.median(during) * 1000) if during else None,
                                        "p99": round(percentile(during, 99) * 1000) if during else None,
                                        "count": len(during)},
        "database": database_url.split("://")[0],
        "wall_seconds_including_start": round(wall, 1),
    }
    shutil.rmtree(tmp, ignore_errors=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=10000)
    parser.add_argument("--rate", type=int, default=6000, help="the emulator's per-API limit (calls a minute)")
    parser.add_argument("--headroom", type=float, default=5.0, help="percent of the limit the bot leaves unused")
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--database-url", default=None, help="default: a SQLite file in a temporary folder")
    parser.add_argument("--verbose", action="store_true", help="show the broadcaster's log")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--config-dir", help=argparse.SUPPRESS)
    parser.add_argument("--bot-rate", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args)
    result = run(args)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    print(f"written to {RESULTS.relative_to(ROOT)}")
    return 0 if result["duplicates"] == 0 and result["missed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
