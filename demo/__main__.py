"""`make run`: the whole bot on one machine, no tenant, no credentials, no internet.

Starts the LINE WORKS emulator, runs the Procfile's release line, then its web and clock lines as real
processes pointed at the emulator (SQLite in .run/), and prints the chat page URL. Ctrl-C stops all.

`--live` runs the same Procfile processes with the environment as it is (real LINE WORKS), after
checking the settings and naming whatever is missing.
"""
from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from config.settings import SettingsError, load_settings
from emulator.directory import ADMIN, ADMIN_CHANNEL_ID, SUPER_ADMIN
from demo.procfile import procfile_commands
from emulator.keys import write_keypair
from bot.private_files import keep_private

ROOT = Path(__file__).resolve().parent.parent
RUN_DIR = ROOT / ".run"


def demo_environment(bot_port: int, emulator_port: int) -> tuple[dict, dict]:
    """Settings shared by the emulator and the bot; the keys and secret stay in .run/ (not committed)."""
    keep_private()  # the key pair and the bot secret below, the demo database
    RUN_DIR.mkdir(exist_ok=True)
    RUN_DIR.chmod(0o700)  # also for a folder made by an older version
    private_key, public_key = RUN_DIR / "private.pem", RUN_DIR / "public.pem"
    if not private_key.exists():
        write_keypair(RUN_DIR)
    secret_file = RUN_DIR / "bot-secret"
    if not secret_file.exists():
        secret_file.write_text(secrets.token_urlsafe(24))
    shared = {
        "bot_id": "2000001",
        "bot_secret": secret_file.read_text().strip(),
        "client_id": "demo-client-id",
        "client_secret": "demo-client-secret",
        "service_account": "demo.serviceaccount@example.co.jp",
    }
    emulator_base = f"http://127.0.0.1:{emulator_port}"
    env = dict(os.environ)
    env.update({
        "LINEWORKS_CLIENT_ID": shared["client_id"],
        "LINEWORKS_CLIENT_SECRET": shared["client_secret"],
        "LINEWORKS_SERVICE_ACCOUNT": shared["service_account"],
        "LINEWORKS_PRIVATE_KEY_FILE": str(private_key),
        "LINEWORKS_BOT_ID": shared["bot_id"],
        "LINEWORKS_BOT_SECRET": shared["bot_secret"],
        "LINEWORKS_API_BASE_URL": f"{emulator_base}/v1.0",
        "LINEWORKS_AUTH_URL": f"{emulator_base}/oauth2/v2.0/token",
        "LINEWORKS_AUTHORIZE_URL": f"{emulator_base}/oauth2/v2.0/authorize",
        "BOT_PUBLIC_URL": f"http://127.0.0.1:{bot_port}",  # the administrators' console at /admin/
        "DATABASE_URL": f"sqlite:///{RUN_DIR / 'demo.sqlite3'}",
        "BOT_ADMIN_USER_IDS": f"{ADMIN.user_id},{SUPER_ADMIN.email}",  # both shown as (管理者) on the chat page
        "BOT_ADMIN_CHANNEL_ID": ADMIN_CHANNEL_ID,
        "PORT": str(bot_port),
    })
    env.pop("LINEWORKS_PRIVATE_KEY", None)
    emulator_args = [
        sys.executable, "-m", "emulator", "--port", str(emulator_port),
        "--callback-url", f"http://127.0.0.1:{bot_port}/callback",
        # "--name=value": a generated secret may begin with "-", which would read as an option
        "--bot-id", shared["bot_id"], f"--bot-secret={shared['bot_secret']}",
        "--client-id", shared["client_id"], f"--client-secret={shared['client_secret']}",
        "--service-account", shared["service_account"], "--public-key-file", str(public_key),
    ]
    return env, {"args": emulator_args, "base": emulator_base}


def with_venv_path(env: dict) -> dict:
    env = dict(env)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def start(name: str, command, env: dict) -> subprocess.Popen:
    shell = isinstance(command, str)
    print(f"[{name}] {command if shell else ' '.join(command[1:3])}", flush=True)
    return subprocess.Popen(command, shell=shell, cwd=ROOT, env=env, start_new_session=True)


def wait_until_up(url: str, processes: list[subprocess.Popen], seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in processes):
            return False
        try:
            if requests.get(url, timeout=1).status_code < 500:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.2)
    return False


def stop_all(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + 10
    for process in processes:
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def port_in_use(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _stop_on_sigterm(_signum, _frame):
    raise KeyboardInterrupt  # same clean shutdown as Ctrl-C: the children are stopped in `finally`


def run(live: bool, bot_port: int, emulator_port: int) -> int:
    procfile = procfile_commands()
    processes: list[subprocess.Popen] = []
    busy = [p for p in ([bot_port] if live else [bot_port, emulator_port]) if port_in_use(p)]
    if busy:
        print(f"port {', '.join(map(str, busy))} is already in use (another `make run`?); "
              "stop it or choose other ports: python -m demo --port N --emulator-port M", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    if live:
        env = dict(os.environ)
        env.setdefault("PORT", str(bot_port))
        try:
            load_settings(env)
        except SettingsError as exc:
            print(exc, file=sys.stderr)
            return 2
    else:
        env, emulator = demo_environment(bot_port, emulator_port)
    env = with_venv_path(env)
    try:
        if not live:
            processes.append(start("emulator", emulator["args"], env))
            if not wait_until_up(emulator["base"] + "/_emulator/directory", processes):
                print("the emulator did not start; see its output above", file=sys.stderr)
                return 1
        if subprocess.run(procfile["release"], shell=True, cwd=ROOT, env=env).returncode != 0:
            print("migrations failed; see the output above", file=sys.stderr)
            return 1
        processes.append(start("web", procfile["web"], env))
        processes.append(start("clock", procfile["clock"], env))
        if not wait_until_up(f"http://127.0.0.1:{env['PORT']}/healthz", processes):
            print("the web process did not come up; see its output above", file=sys.stderr)
            return 1
        time.sleep(2.5)  # let the clock print its schedule first, so that the addresses come last
        print(banner(live, env, None if live else emulator["base"]), flush=True)
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
        print("a process stopped; stopping the others", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping…", flush=True)
        return 0
    finally:
        stop_all(processes)


def banner(live: bool, env: dict, chat_page: str | None) -> str:
    """Where to go now, after the processes' start-up lines."""
    lines = []
    if live:
        lines.append(f"Bot is serving on port {env['PORT']} (callback path /callback). Ctrl-C stops it.")
    else:
        lines += [f"Chat page:  {chat_page}/   pick who you are, talk to the bot; the 管理者トーク tab is the "
                  f"administrators' room",
                  f"Console:    {env['BOT_PUBLIC_URL']}/admin/   sign in as {ADMIN.email} (佐藤 美咲, an administrator)"]
        if env.get("BOT_DEMO_REMINDERS_ANY_HOUR") == "true":
            lines.append("Reminders:  /reminder send <id> (or the console) sends at night and on days off too "
                         "in this trial; the schedule itself is unchanged")
        else:
            lines.append("Reminders:  /reminder send <id> is refused at night (20:00-8:00) and on days off; "
                         "to try it at any hour: make run ANY_HOUR=1")
    if live and env.get("BOT_PUBLIC_URL"):
        lines.append(f"Console:    {env['BOT_PUBLIC_URL'].rstrip('/')}/admin/")
    lines.append("Ctrl-C stops everything.")
    rule = "=" * 78
    return "\n".join(["", rule, *lines, rule])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__.splitlines()[0])
    parser.add_argument("--live", action="store_true", help="real LINE WORKS: use the environment as it is")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)), help="the bot's port")
    parser.add_argument("--emulator-port", type=int, default=9000)
    parser.add_argument("--reminders-any-hour", action="store_true",
                        help="trial only: send reminders at night and on days off too")
    args = parser.parse_args(argv)
    if args.reminders_any_hour and not args.live:
        os.environ["BOT_DEMO_REMINDERS_ANY_HOUR"] = "true"
    return run(args.live, args.port, args.emulator_port)


if __name__ == "__main__":
    sys.exit(main())
