"""Webhook throughput and latency through the production server, against a bare Flask baseline.

The Procfile's web line (waitress, parsed from the Procfile, $PORT substituted) runs with its
environment pointed at an emulator process, a fresh SQLite file in a temporary directory, a generated
key pair and a random bot secret. wrk drives POST /callback with pre-generated, distinct, correctly
signed callbacks from the emulator's synthetic members (a repeated body would be a duplicate and take
a shortcut). Then the same wrk run against bench/bare_app.py under waitress with the same flags.
Afterwards, once the web workers have moved the intake journal into the inbox: every callback
acknowledged with 200 must be in the inbox. Beside the throughput, the servers' CPU time per request
(from /proc, all processes of each server), and the intake write alone: Store.add_inbox in two
processes at once with no HTTP around it, i.e. the part of our overhead that keeps each callback
before it is acknowledged. And slow clients: with 200 connections that sent a callback's headers and
one byte of its body and then wait, how long a signed callback takes to be acknowledged and answered.

This module also holds the pieces the other benchmarks share: the machine description, the result
files, the process stack (emulator, release, web, clock) and the RSS and CPU time of a process group.

    .venv/bin/python -m bench.webhook_bench
"""
from __future__ import annotations

import datetime as dt
import json
import os
import platform
import re
import secrets
import shlex
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.signature import sign  # noqa: E402
from bot.store import journal_directory  # noqa: E402
from demo.procfile import procfile_commands  # noqa: E402
from emulator.callbacks import message_event  # noqa: E402
from emulator.directory import ADMIN, ADMIN_CHANNEL_ID, synthetic_user_id  # noqa: E402
from emulator.keys import write_keypair  # noqa: E402

RESULTS = ROOT / "bench" / "results"
LUA = ROOT / "bench" / "wrk_callback.lua"
BOT_ID = "2000001"
DOMAIN_ID = 10000001
WRK_THREADS, WRK_CONNECTIONS, WRK_SECONDS, WARMUP_SECONDS = 2, 16, 15, 3
DIRECTORY_SIZE = 2000

# Questions employees ask (all answered by the FAQ route, none starts a conversation).
QUESTIONS = ["通信費は誰が払うの？", "休日に返信しないとだめ？", "退職したらデータはどうなる？", "会社のWi-Fiは使える？",
             "業務時間外の通知を止めたい", "私物スマホを使うメリットは何ですか", "ギガが足りない", "手当はいくら？"]


# -- machine and results ----------------------------------------------------------------------------

def machine() -> dict:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    except OSError:
        pass
    try:
        wrk_version = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split("[")[0].strip()
    except OSError:
        wrk_version = None
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "memory_total_mib": round(mem_kib / 1024) if mem_kib else None,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "wrk": wrk_version,
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        # Other work on the machine lowers every figure: the load when the result was written.
        "load_average_1_5_15_min": [round(x, 2) for x in os.getloadavg()],
    }


def write_result(name: str, figures: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"benchmark": name, "machine": machine(), **figures}, ensure_ascii=False, indent=2)
                    + "\n", encoding="utf-8")
    return path


def table(title: str, header: list[str], rows: list[list]) -> str:
    cells = [[str(c) for c in header]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = [title, "  " + "  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(cells[0], widths)))]
    for row in cells[1:]:
        lines.append("  " + "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
    return "\n".join(lines)


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return "-" if value is None else str(value)


# -- processes ------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port_free(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) != 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"port {port} is still taken {seconds:.0f}s after its server was stopped")


def wait_http(url: str, process: subprocess.Popen, log: Path, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode}; last log lines:\n{_tail(log)}")
        try:
            if requests.get(url, timeout=1).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {seconds:.0f}s; last log lines:\n{_tail(log)}")


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def stop_group(process: subprocess.Popen | None, sig: int = signal.SIGTERM, wait: float = 15) -> None:
    """Stop a process we started in its own session (and everything in its group)."""
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        return
    try:
        process.wait(wait)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


SHELLS = {"sh", "dash", "bash"}


def _group_members(pgid: int):
    """(pid, fields of /proc/<pid>/stat after the command name, /proc/<pid>/status) of a process group."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[2]) != pgid:  # fields after the comm: state ppid pgrp ...
                continue
            yield int(entry.name), fields, (entry / "status").read_text()
        except (OSError, ValueError):
            continue


def group_rss(pgid: int) -> dict:
    """VmRSS summed over the live processes of a process group (from /proc/<pid>/status).

    The `sh -c` that runs a Procfile line (as `make run` does) is listed but not counted.
    """
    total, processes = 0, []
    for pid, _fields, status in _group_members(pgid):
        rss = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
        name = next((line.split(None, 1)[1] for line in status.splitlines() if line.startswith("Name:")), "?").strip()
        processes.append({"pid": pid, "name": name, "rss_kib": rss})
        if name not in SHELLS:
            total += rss
    counted = [p for p in processes if p["name"] not in SHELLS]
    return {"rss_mib": round(total / 1024, 1), "processes": len(counted),
            "per_process_mib": [round(p["rss_kib"] / 1024, 1) for p in sorted(counted, key=lambda p: p["pid"])],
            "detail": sorted(processes, key=lambda p: p["pid"])}


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU time used so far by the live processes of a process group."""
    ticks = sum(int(fields[11]) + int(fields[12]) for _pid, fields, _status in _group_members(pgid))
    return ticks / os.sysconf("SC_CLK_TCK")


def inbox_write_alone(workdir: Path, processes: int = 2, rows: int = 3000) -> dict:
    """Store.add_inbox alone, in `processes` forked processes keeping callbacks at once beside one fresh
    SQLite file (its intake journal), as the web line's processes do: the CPU time a kept callback
    costs without any HTTP."""
    import resource

    from bot.clock import SystemClock
    from bot.intake_journal import IntakeJournal
    from bot.migrate import upgrade
    from bot.store import Store, make_engine

    url = f"sqlite:///{workdir / 'write-alone.sqlite3'}"
    upgrade(url)
    body = json.dumps(message_event(DOMAIN_ID, synthetic_user_id(1), QUESTIONS[0]), ensure_ascii=False)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    children = []
    for n in range(processes):
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                store = Store(make_engine(url), SystemClock(), journal=IntakeJournal(journal_directory(url)))
                stored = [store.add_inbox(f"{n:08d}{i:056d}", body, "message/text") for i in range(rows)]
                code = 0 if all(stored) else 1
            finally:
                os._exit(code)
        children.append(pid)
    failed = [pid for pid in children if os.waitpid(pid, 0)[1] != 0]
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if failed:
        raise RuntimeError(f"inbox writers failed: {failed}")
    total = processes * rows
    return {"processes": processes, "rows": total, "cpu_us_per_row": round(cpu / total * 1e6, 1),
            "rows_per_s": round(total / elapsed, 1)}


class Stack:
    """An emulator process plus the Procfile's processes, all in a temporary directory."""

    def __init__(self, workdir: Path, directory_size: int = DIRECTORY_SIZE):
        self.workdir = workdir
        self.directory_size = directory_size
        self.procfile = procfile_commands()
        self.bot_secret = secrets.token_urlsafe(24)
        self.private_key, self.public_key = write_keypair(workdir / "keys")
        self.web_port, self.emulator_port = free_port(), free_port()
        self.emulator_base = f"http://127.0.0.1:{self.emulator_port}"
        self.bot_url = f"http://127.0.0.1:{self.web_port}"
        self.db_path = workdir / "bot.sqlite3"
        self.processes: dict[str, subprocess.Popen] = {}

    @property
    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LINEWORKS_", "BOT_"))}
        env.update({
            "LINEWORKS_CLIENT_ID": "bench-client-id",
            "LINEWORKS_CLIENT_SECRET": "bench-client-secret",
            "LINEWORKS_SERVICE_ACCOUNT": "bench.serviceaccount@example.co.jp",
            "LINEWORKS_PRIVATE_KEY_FILE": str(self.private_key),
            "LINEWORKS_BOT_ID": BOT_ID,
            "LINEWORKS_BOT_SECRET": self.bot_secret,
            "LINEWORKS_API_BASE_URL": f"{self.emulator_base}/v1.0",
            "LINEWORKS_AUTH_URL": f"{self.emulator_base}/oauth2/v2.0/token",
            "DATABASE_URL": f"sqlite:///{self.db_path}",
            "BOT_ADMIN_USER_IDS": ADMIN.user_id,
            "BOT_ADMIN_CHANNEL_ID": ADMIN_CHANNEL_ID,
            "PORT": str(self.web_port),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONUNBUFFERED": "1",
        })
        return env

    def _start(self, name: str, command, **kwargs) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "ab")
        process = subprocess.Popen(command, shell=isinstance(command, str), cwd=ROOT, env=self.env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True, **kwargs)
        log.close()
        self.processes[name] = process
        return process

    def start_emulator(self) -> None:
        process = self._start("emulator", [
            sys.executable, "-m", "emulator", "--port", str(self.emulator_port),
            "--callback-url", f"{self.bot_url}/callback", "--bot-id", BOT_ID, f"--bot-secret={self.bot_secret}",  # may begin with "-"
            "--client-id", "bench-client-id", "--client-secret", "bench-client-secret",
            "--service-account", "bench.serviceaccount@example.co.jp", "--public-key-file", str(self.public_key),
            "--rate-limit", "1000000", "--directory-size", str(self.directory_size), "--domain-id", str(DOMAIN_ID)])
        wait_http(f"{self.emulator_base}/_emulator/info", process, self.workdir / "emulator.log")

    def release(self) -> None:
        with open(self.workdir / "release.log", "ab") as log:
            subprocess.run(self.procfile["release"], shell=True, cwd=ROOT, env=self.env, stdout=log,
                           stderr=subprocess.STDOUT, check=True)

    def start_web(self, command: str | None = None, name: str = "web", health: str = "/healthz") -> subprocess.Popen:
        wait_port_free(self.web_port)  # a server stopped just before may still be closing: its answers are not ours
        process = self._start(name, command or web_line(self.web_port, self.procfile["web"]))
        wait_http(self.bot_url + health, process, self.workdir / f"{name}.log")
        return process

    def start_clock(self) -> subprocess.Popen:
        process = self._start("clock", self.procfile["clock"])
        time.sleep(2.0)
        if process.poll() is not None:
            raise RuntimeError(f"clock process exited with {process.returncode}:\n{_tail(self.workdir / 'clock.log')}")
        return process

    def stop(self, name: str) -> None:
        stop_group(self.processes.pop(name, None))

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.stop(name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop_all()

    # -- looking at what happened -------------------------------------------------------------------

    def emulator_get(self, what: str, **params):
        response = requests.get(f"{self.emulator_base}/_emulator/{what}", params=params, timeout=60)
        response.raise_for_status()
        return response.json()

    def wait_journal_imported(self, seconds: float) -> float | None:
        """Wait until the web workers have moved every journalled callback into the inbox (the flood
        over, they import at once); the seconds it took, None if files were still there at the end."""
        directory = journal_directory(f"sqlite:///{self.db_path}")
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            if not any(path.stat().st_size for path in directory.glob("*.journal")):
                return round(time.monotonic() - started, 1)
            time.sleep(0.2)
        return None

    def db_counts(self) -> dict:
        with sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=30) as conn:
            inbox = dict(conn.execute("SELECT status, count(*) FROM inbox WHERE event_type NOT LIKE 'internal/%' "
                                      "GROUP BY status").fetchall())
            outbox = dict(conn.execute("SELECT status, count(*) FROM outbox GROUP BY status").fetchall())
        return {"inbox": inbox, "outbox": outbox}


def web_line(port: int, line: str | None = None) -> str:
    """The Procfile's web line with $PORT substituted."""
    line = line or procfile_commands()["web"]
    return line.replace("${PORT}", str(port)).replace("$PORT", str(port))


def bare_command(line: str) -> str:
    """The same command line with only the application replaced by bench/bare_app.py (an app object,
    not a factory to call)."""
    words = [w for w in shlex.split(line) if w != "--call"]
    app_index = next(i for i, w in enumerate(words) if i > 0 and re.match(r"^[A-Za-z_][\w.]*:[A-Za-z_]", w))
    words[app_index] = "bench.bare_app:app"
    return shlex.join(words)


def half_sent_request(port: int) -> socket.socket:
    """A callback request whose headers promise 1,000 bytes of body, of which one is sent."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(b"POST /callback HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 1000\r\n\r\n{")
    return sock


def slow_clients(stack: Stack, held: int = 200, probes: int = 10) -> dict:
    """With `held` half-sent requests open, `probes` signed callbacks one after the other: the time to
    their 200 and to the bot's reply reaching the message API."""
    sockets = [half_sent_request(stack.web_port) for _ in range(held)]
    acknowledged, answered = [], []
    try:
        time.sleep(1.0)
        for n in range(probes):
            member = synthetic_user_id(stack.directory_size - n)
            event = message_event(DOMAIN_ID, member, QUESTIONS[n % len(QUESTIONS)])
            body = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
            headers = {"Content-Type": "application/json", "X-WORKS-BotId": BOT_ID,
                       "X-WORKS-Signature": sign(stack.bot_secret, body)}
            def sends() -> int:
                return sum(member in c["path"] and "/messages" in c["path"] for c in stack.emulator_get("calls"))

            before = sends()
            started = time.monotonic()
            status = requests.post(f"{stack.bot_url}/callback", data=body, headers=headers, timeout=30).status_code
            acknowledged.append((status, time.monotonic() - started))
            deadline = started + 30
            while time.monotonic() < deadline:
                if sends() > before:
                    answered.append(time.monotonic() - started)
                    break
                time.sleep(0.02)
    finally:
        for sock in sockets:
            sock.close()
    times = [t for _, t in acknowledged]
    return {"held_connections": held, "probes": probes, "acknowledged_200": sum(s == 200 for s, _ in acknowledged),
            "ack_max_ms": round(max(times) * 1000, 1), "ack_median_ms": round(sorted(times)[len(times) // 2] * 1000, 1),
            "answered": len(answered), "reply_max_ms": round(max(answered) * 1000, 1) if answered else None}


# -- the wrk runs ---------------------------------------------------------------------------------

def write_bodies(path: Path, count: int, secret: str, start: int, directory_size: int = DIRECTORY_SIZE) -> None:
    """`count` distinct signed message callbacks, one per line, from synthetic members in turn."""
    base = dt.datetime.now(dt.timezone.utc)
    with open(path, "w", encoding="utf-8") as out:
        for i in range(start, start + count):
            event = message_event(DOMAIN_ID, synthetic_user_id(1 + i % directory_size), QUESTIONS[i % len(QUESTIONS)])
            # Distinct issuedTime (1 ms apart): distinct bodies, as LINE WORKS sends them.
            event["issuedTime"] = (base + dt.timedelta(milliseconds=i)).isoformat(timespec="milliseconds").replace(
                "+00:00", "Z")
            body = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
            out.write(f"{sign(secret, body.encode('utf-8'))}\t{BOT_ID}\t{body}\n")


def run_wrk(url: str, bodies: Path, seconds: int, latency: bool = True) -> dict:
    command = ["wrk", f"-t{WRK_THREADS}", f"-c{WRK_CONNECTIONS}", f"-d{seconds}s", "-s", str(LUA)]
    if latency:
        command.append("--latency")
    command += [url, "--", str(bodies), str(WRK_THREADS)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    line = next((l for l in done.stdout.splitlines() if l.startswith("WRK_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout[-2000:]} {done.stderr[-2000:]}")
    figures = json.loads(line[len("WRK_JSON "):])
    figures["requests_per_s"] = figures["requests"] / (figures["duration_us"] / 1e6)
    figures["non_2xx"] = figures["errors"]["status"]
    figures["text"] = "\n".join(l for l in done.stdout.splitlines() if not l.startswith("WRK_JSON "))
    return figures


def _summary(figures: dict) -> dict:
    lat = figures["latency_us"]
    return {"requests": figures["requests"], "requests_per_s": round(figures["requests_per_s"], 1),
            "p50_ms": lat["p50"] / 1000, "p90_ms": lat["p90"] / 1000, "p99_ms": lat["p99"] / 1000,
            "max_ms": lat["max"] / 1000, "non_2xx": figures["non_2xx"],
            "socket_errors": {k: v for k, v in figures["errors"].items() if k != "status"},
            "bodies_issued": figures["issued"], "bodies_wrapped": figures["wraps"]}


def wait_drained(stack: Stack, expected: int, seconds: float) -> dict:
    """Watch the worker work off the backlog; rate of inbox rows done per second."""
    started, first = time.monotonic(), stack.db_counts()
    done_before = first["inbox"].get("done", 0)
    counts = first
    while time.monotonic() - started < seconds:
        counts = stack.db_counts()
        if counts["inbox"].get("done", 0) + counts["inbox"].get("failed", 0) >= expected and \
                not counts["outbox"].get("pending") and not counts["outbox"].get("sending"):
            break
        time.sleep(1.0)
    elapsed = time.monotonic() - started
    done = counts["inbox"].get("done", 0)
    return {"waited_s": round(elapsed, 1), "inbox_done": done, "inbox": counts["inbox"], "outbox": counts["outbox"],
            "done_per_s_while_draining": round((done - done_before) / elapsed, 1) if elapsed else None,
            "drained": done + counts["inbox"].get("failed", 0) >= expected}


def main(tmp: Path | None = None, drain_seconds: float = 60) -> dict:
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: run `sudo make bench-deps` (Debian package wrk)")
    import tempfile
    with tempfile.TemporaryDirectory(prefix="bench-webhook-") as workdir:
        workdir = Path(workdir)
        with Stack(workdir) as stack:
            print(f"[webhook] generating signed callbacks ({DIRECTORY_SIZE} synthetic members)…", flush=True)
            warm, main_bodies = workdir / "warmup.tsv", workdir / "bodies.tsv"
            write_bodies(warm, 20_000, stack.bot_secret, start=0)
            write_bodies(main_bodies, 80_000, stack.bot_secret, start=20_000)
            stack.start_emulator()
            stack.release()
            stack.start_web()
            web_pgid = stack.processes["web"].pid
            ours_line = web_line(stack.web_port)
            print(f"[webhook] ours: {ours_line}", flush=True)
            print("[webhook] slow clients: 200 half-sent requests held open (before the load, nothing queued)…",
                  flush=True)
            slow = slow_clients(stack)
            warmup = run_wrk(f"{stack.bot_url}/callback", warm, WARMUP_SECONDS, latency=False)
            time.sleep(0.5)  # the warm-up's requests in flight when wrk stopped
            cpu_before = group_cpu_seconds(web_pgid)
            ours = run_wrk(f"{stack.bot_url}/callback", main_bodies, WRK_SECONDS)
            ours_cpu = group_cpu_seconds(web_pgid) - cpu_before
            rss_after = group_rss(web_pgid)
            imported_after = stack.wait_journal_imported(60)
            stored = sum(stack.db_counts()["inbox"].values())  # the warm-up's callbacks and the run's
            acknowledged = warmup["requests"] - warmup["non_2xx"] + ours["requests"] - ours["non_2xx"]
            print(f"[webhook] ours: {acknowledged} acknowledged, {stored} stored; draining the backlog "
                  f"(up to {drain_seconds:.0f}s)…", flush=True)
            drain = wait_drained(stack, sum(stack.db_counts()["inbox"].values()), drain_seconds)
            calls = stack.emulator_get("calls")
            sends = [c for c in calls if "/messages" in c["path"]]
            refused = [c for c in sends if c["status"] >= 300]
            stack.stop("web")

            bare_line = bare_command(web_line(stack.web_port))
            bare_pgid = stack.start_web(bare_line, name="bare", health="/nothing-here").pid
            print(f"[webhook] bare: {bare_line}", flush=True)
            run_wrk(f"{stack.bot_url}/callback", warm, WARMUP_SECONDS, latency=False)
            cpu_before = group_cpu_seconds(bare_pgid)
            bare = run_wrk(f"{stack.bot_url}/callback", main_bodies, WRK_SECONDS)
            bare_cpu = group_cpu_seconds(bare_pgid) - cpu_before
            stack.stop("bare")
        print("[webhook] the intake write alone: two processes keeping callbacks at once…", flush=True)
        write_alone = inbox_write_alone(workdir)

    o, b = _summary(ours), _summary(bare)
    # The servers' own CPU time per request (all their processes; the worker thread's share included).
    o["cpu_us_per_request"] = round(ours_cpu / ours["requests"] * 1e6) if ours["requests"] else None
    b["cpu_us_per_request"] = round(bare_cpu / bare["requests"] * 1e6) if bare["requests"] else None
    ratio = o["requests_per_s"] / b["requests_per_s"] if b["requests_per_s"] else None
    figures = {
        "wrk": {"threads": WRK_THREADS, "connections": WRK_CONNECTIONS, "seconds": WRK_SECONDS,
                "warmup_seconds": WARMUP_SECONDS},
        "web_line": ours_line, "bare_line": bare_line,
        "ours": o, "bare": b, "ratio_requests_per_s": round(ratio, 3) if ratio else None, "goal_ratio": 0.8,
        "stored_check": {"acknowledged_200": acknowledged, "inbox_rows_stored": stored,
                         "journal_imported_s_after_run": imported_after,
                         "missing": max(0, acknowledged - stored), "stored_beyond_acknowledged": max(0, stored - acknowledged),
                         "non_2xx": warmup["non_2xx"] + ours["non_2xx"]},
        "web_rss_after_run": {k: v for k, v in rss_after.items() if k != "detail"},
        "drain_after_run": drain,
        "inbox_write_alone": write_alone,
        "reply_sends": {"message_api_calls": len(sends), "refused": len(refused)},
        "slow_clients": slow,
        "wrk_output": {"ours": ours["text"], "bare": bare["text"]},
    }
    print(table("Webhook: POST /callback, wrk -t2 -c16 -d15s (after a 3 s warm-up)",
                ["server", "requests/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "non-2xx", "requests", "CPU µs/req"],
                [["ours (Procfile web)", o["requests_per_s"], o["p50_ms"], o["p90_ms"], o["p99_ms"], o["max_ms"],
                  o["non_2xx"], o["requests"], o["cpu_us_per_request"]],
                 ["bare Flask", b["requests_per_s"], b["p50_ms"], b["p90_ms"], b["p99_ms"], b["max_ms"],
                  b["non_2xx"], b["requests"], b["cpu_us_per_request"]]]))
    verdict = "meets" if ratio and ratio >= 0.8 else "below"
    print(f"  ratio ours/bare (requests/s): {ratio:.2f}  ({verdict} the 0.8 goal)")
    sc = figures["stored_check"]
    print(f"  acknowledged with 200 (warm-up and run): {sc['acknowledged_200']:,}; stored in the inbox: {sc['inbox_rows_stored']:,}; "
          f"missing: {sc['missing']}; stored but not counted by wrk (in flight at the end): "
          f"{sc['stored_beyond_acknowledged']}; distinct bodies wrapped: {o['bodies_wrapped']}; "
          f"journal imported {sc['journal_imported_s_after_run']} s after the run")
    print(f"  backlog after the run: worker did {drain['done_per_s_while_draining']} events/s while draining; "
          f"{'drained' if drain['drained'] else 'not drained'} after {drain['waited_s']} s "
          f"(inbox {drain['inbox']}, outbox {drain['outbox']}); message API calls {len(sends):,}, refused {len(refused)}")
    print(f"  web RSS right after the run: {rss_after['rss_mib']} MiB over {rss_after['processes']} processes")
    print(f"  the intake write alone (Store.add_inbox, {write_alone['processes']} processes at once, no HTTP): "
          f"{write_alone['cpu_us_per_row']} µs CPU per kept callback, {write_alone['rows_per_s']:,} callbacks/s")
    print(f"  slow clients: with {slow['held_connections']} half-sent requests held open, {slow['acknowledged_200']}/"
          f"{slow['probes']} signed callbacks acknowledged (median {slow['ack_median_ms']} ms, max {slow['ack_max_ms']} ms), "
          f"{slow['answered']} answered (slowest reply {slow['reply_max_ms']} ms after its callback)")
    path = write_result("webhook", figures)
    print(f"  -> {path.relative_to(ROOT)}")
    return figures


if __name__ == "__main__":
    main()
