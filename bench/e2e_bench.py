"""End-to-end latency, callback to reply, and the memory of the web and clock processes.

The emulator process, the Procfile's release, web and clock lines (as in bench/webhook_bench.py: fresh
SQLite file, generated key pair, random bot secret). Messages are sent through the emulator's
/_emulator/say from distinct synthetic members; the send time is the emulator's events log entry
(written just before it posts the signed callback), the reply time is the first transcript entry the
bot sent to that member. Both clocks are the emulator's.

  light: 30 messages, one every 200 ms
  heavy: 400 messages, as fast as 16 threads can send them

Memory: VmRSS summed over the web process group (the waitress process) and the clock process,
at rest and right after the heavy load has been answered.

    .venv/bin/python -m bench.e2e_bench
"""
from __future__ import annotations

import datetime as dt
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from bench.webhook_bench import QUESTIONS, ROOT, Stack, group_rss, table, write_result
from emulator.directory import synthetic_user_id

LIGHT_COUNT, LIGHT_INTERVAL = 30, 0.2
HEAVY_COUNT, HEAVY_THREADS = 400, 16
REPLY_TIMEOUT = 120.0


def _time(stamp: str) -> dt.datetime:
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def percentiles(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    ordered = sorted(values)

    def pct(p: float) -> float:
        # nearest rank
        return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))]
    return {"n": len(ordered), "p50_ms": round(pct(50), 1), "p95_ms": round(pct(95), 1), "p99_ms": round(pct(99), 1),
            "max_ms": round(ordered[-1], 1), "mean_ms": round(statistics.fmean(ordered), 1)}


class Sender:
    def __init__(self, stack: Stack):
        self.url = f"{stack.emulator_base}/_emulator/say"
        self.local = threading.local()

    def say(self, user_id: str, text: str) -> tuple[int | None, float]:
        session = getattr(self.local, "session", None) or requests.Session()
        self.local.session = session
        started = time.perf_counter()
        response = session.post(self.url, json={"userId": user_id, "text": text}, timeout=60)
        response.raise_for_status()
        return response.json()["status"], (time.perf_counter() - started) * 1000


def run_phase(stack: Stack, sender: Sender, name: str, members: list[str], interval: float | None,
              threads: int = 1) -> dict:
    since = max([e["id"] for e in stack.emulator_get("events")] + [0])
    statuses: dict[str, int | None] = {}
    round_trips: list[float] = []
    started = time.monotonic()

    def send(index_member):
        index, member = index_member
        if interval:
            delay = started + index * interval - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        status, round_trip = sender.say(member, QUESTIONS[index % len(QUESTIONS)])
        statuses[member] = status
        round_trips.append(round_trip)

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(send, enumerate(members)))
    send_seconds = time.monotonic() - started

    # Wait until every acknowledged member has a reply (or the time is up).
    wanted = {m for m, s in statuses.items() if s == 200}
    deadline = time.monotonic() + REPLY_TIMEOUT
    while True:
        answered = {m["target"]["id"] for m in stack.emulator_get("messages", since=since)
                    if m["from"] == "bot" and m["target"]["kind"] == "user"}
        if wanted <= answered or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    all_answered_after = time.monotonic() - started

    sent_at = {e["event"]["source"]["userId"]: _time(e["time"]) for e in stack.emulator_get("events", since=since)
               if e["event"]["source"].get("userId") in wanted}
    first_reply: dict[str, dt.datetime] = {}
    for m in stack.emulator_get("messages", since=since):
        if m["from"] == "bot" and m["target"]["kind"] == "user" and m["target"]["id"] in sent_at:
            first_reply.setdefault(m["target"]["id"], _time(m["time"]))
    latencies = [(first_reply[u] - sent_at[u]).total_seconds() * 1000 for u in sent_at if u in first_reply]
    span = [min(sent_at.values()), max(first_reply.values())] if first_reply else None
    return {
        "phase": name, "messages": len(members), "acknowledged_200": len(wanted),
        "not_acknowledged": sorted({str(s) for s in statuses.values() if s != 200}),
        "answered": len(first_reply), "unanswered": len(wanted - set(first_reply)),
        "send_seconds": round(send_seconds, 2), "all_answered_after_s": round(all_answered_after, 2),
        "latency": percentiles(latencies),
        "callback_round_trip_via_emulator": percentiles(round_trips),
        "answered_per_s": round(len(first_reply) / (span[1] - span[0]).total_seconds(), 1)
        if span and span[1] > span[0] else None,
        "sender": f"one every {int(interval * 1000)} ms" if interval else f"{threads} threads, as fast as they can",
    }


def memory_row(label: str, figures: dict) -> list:
    return [label, figures.get("rss_mib"), figures.get("processes"),
            " + ".join(f"{m:.1f}" for m in figures.get("per_process_mib", []))]


def main(extra_memory: dict | None = None) -> tuple[dict, dict]:
    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as workdir:
        with Stack(Path(workdir), directory_size=LIGHT_COUNT + HEAVY_COUNT + 100) as stack:
            stack.start_emulator()
            stack.release()
            web = stack.start_web()
            clock_error = None
            try:
                clock = stack.start_clock()
            except RuntimeError as exc:
                clock, clock_error = None, str(exc)
                print(f"[e2e] the clock process did not start; its memory is not measured:\n{exc}", flush=True)
            time.sleep(5.0)  # at rest: started, menu registered, nothing to do
            memory = {"web_at_rest": group_rss(web.pid)}
            if clock:
                memory["clock_at_rest"] = group_rss(clock.pid)
            sender = Sender(stack)
            light_members = [synthetic_user_id(n) for n in range(1, LIGHT_COUNT + 1)]
            heavy_members = [synthetic_user_id(n) for n in range(LIGHT_COUNT + 1, LIGHT_COUNT + HEAVY_COUNT + 1)]
            print(f"[e2e] light: {LIGHT_COUNT} messages, one every {int(LIGHT_INTERVAL * 1000)} ms…", flush=True)
            light = run_phase(stack, sender, "light", light_members, LIGHT_INTERVAL)
            print(f"[e2e] heavy: {HEAVY_COUNT} messages from {HEAVY_THREADS} threads…", flush=True)
            heavy = run_phase(stack, sender, "heavy", heavy_members, None, threads=HEAVY_THREADS)
            memory["web_after_heavy"] = group_rss(web.pid)
            if clock:
                memory["clock_after_heavy"] = group_rss(clock.pid)
                if clock.poll() is not None:
                    clock_error = f"the clock process exited with {clock.returncode} during the run"
            counts = stack.db_counts()

    e2e = {"light": light, "heavy": heavy, "database_after": counts}
    rows = []
    for phase in (light, heavy):
        lat = phase["latency"]
        rows.append([f"{phase['phase']} ({phase['sender']})", phase["messages"], phase["answered"], lat.get("p50_ms"),
                     lat.get("p95_ms"), lat.get("p99_ms"), lat.get("max_ms"), phase["answered_per_s"]])
    print(table("End to end: callback sent by the emulator -> first reply received by the emulator (ms)",
                ["load", "sent", "answered", "p50", "p95", "p99", "max", "answered/s"], rows))
    for phase in (light, heavy):
        rt = phase["callback_round_trip_via_emulator"]
        print(f"  {phase['phase']}: acknowledged {phase['acknowledged_200']}/{phase['messages']}, unanswered "
              f"{phase['unanswered']}; /_emulator/say round trip (emulator signs + posts, bot stores + 200) "
              f"p50 {rt.get('p50_ms')} ms, p99 {rt.get('p99_ms')} ms")
    path = write_result("e2e", e2e)
    print(f"  -> {path.relative_to(ROOT)}")

    memory_figures = {k: v for k, v in memory.items()}
    if clock_error:
        memory_figures["clock_error"] = clock_error
    if extra_memory:
        memory_figures.update(extra_memory)
    rows = [memory_row("web (waitress, one process), at rest", memory["web_at_rest"]),
            memory_row(f"web, right after the heavy load ({HEAVY_COUNT} messages answered)", memory["web_after_heavy"])]
    if "clock_at_rest" in memory:
        rows += [memory_row("clock (python -m scheduler), at rest", memory["clock_at_rest"]),
                 memory_row("clock, right after the heavy load", memory["clock_after_heavy"])]
    if extra_memory and "web_after_wrk" in extra_memory:
        rows.append(memory_row("web, right after the 15 s wrk run (webhook benchmark)", extra_memory["web_after_wrk"]))
    print(table("Memory: VmRSS summed over the process group", ["process", "RSS MiB", "processes", "per process (MiB, by pid)"], rows))
    if clock_error:
        print(f"  clock: {clock_error.splitlines()[0]}")
    path = write_result("memory", memory_figures)
    print(f"  -> {path.relative_to(ROOT)}")
    return e2e, memory_figures


if __name__ == "__main__":
    main()
