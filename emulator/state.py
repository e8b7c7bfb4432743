"""All mutable emulator state, in memory, behind one lock (the server is threaded)."""
import bisect
import copy
import threading
from datetime import datetime, timedelta, timezone

from emulator.auth import AuthorizationCodes, TokenStore
from emulator.config import EmulatorConfig
from emulator.directory import ADMIN_CHANNEL_ID, ADMIN_CHANNEL_MEMBERS, Directory
from emulator.faults import FaultQueue
from emulator.ratelimit import RateLimiter
from emulator.util import utc_now_iso


def entries_since(entries: list[dict], since: int) -> list[dict]:
    """Entries with id > since (ids only grow, so bisect works)."""
    return entries[bisect.bisect_right(entries, since, key=lambda e: e["id"]):]


class EmulatorState:
    def __init__(self, config: EmulatorConfig, now=None):
        self.config = config
        # The time events are issued at: the wall clock, or the clock of the bot under test, so that
        # both sides agree on what "now" is (the bot refuses events issued far from its own clock).
        self.now = now
        self._last_issued = None
        self.lock = threading.RLock()
        self._next_id = 0  # shared by all logs; never reset, so pollers never miss entries
        self.epoch = 0  # bumped by reset() so the page knows to start over
        self.limiter = RateLimiter(config.rate_limit_per_minute)
        self._init_data()

    def issued_time(self) -> str:
        """Now, and always after the previous event (a clock that stands still in a test still gives
        every event a time of its own, as the platform's does)."""
        with self.lock:
            moment = self.now() if self.now else datetime.now(timezone.utc)
            if self._last_issued is not None and moment <= self._last_issued:
                moment = self._last_issued + timedelta(milliseconds=1)
            self._last_issued = moment
        return utc_now_iso(moment)

    def _init_data(self) -> None:
        self.directory = Directory(self.config.domain_id, self.config.directory_size)
        self.tokens = TokenStore(self.config.token_ttl_seconds)
        self.codes = AuthorizationCodes(self.config.authorization_code_ttl_seconds)
        self.faults = FaultQueue()
        self.transcript: list[dict] = []
        self.calls: list[dict] = []
        self.events: list[dict] = []  # callback events sent to the bot
        self.persistent_menu: dict | None = None
        self.channels: dict[str, dict] = {
            ADMIN_CHANNEL_ID: {"channelId": ADMIN_CHANNEL_ID, "title": "管理者トーク",
                               "members": list(ADMIN_CHANNEL_MEMBERS)},
        }

    def new_id(self) -> int:
        with self.lock:
            self._next_id += 1
            return self._next_id

    def reset(self) -> None:
        """Back to the seed: transcript, calls, faults, tokens, sign-in codes, directory, menu, rate windows."""
        with self.lock:
            self._init_data()
            self.limiter.reset()
            self.limiter.per_minute = self.config.rate_limit_per_minute
            self.epoch += 1

    # --- logs ------------------------------------------------------------

    def record_message(self, sender: str, target_kind: str, target_id: str, content: dict,
                       user_id: str | None = None) -> dict:
        """One transcript entry. sender is "bot" or "user"; user_id is the human sender."""
        with self.lock:
            entry = {"id": self.new_id(), "time": utc_now_iso(), "from": sender,
                     "userId": user_id, "target": {"kind": target_kind, "id": target_id},
                     "content": copy.deepcopy(content)}
            self.transcript.append(entry)
            return entry

    def record_call(self, method: str, path: str, operation: str | None,
                    status: int, duration_ms: float) -> None:
        with self.lock:
            self.calls.append({"id": self.new_id(), "time": utc_now_iso(), "method": method,
                               "path": path, "operation": operation, "status": status,
                               "durationMs": round(duration_ms, 1)})

    def record_event(self, event: dict) -> dict:
        with self.lock:
            entry = {"id": self.new_id(), "time": utc_now_iso(), "event": copy.deepcopy(event),
                     "status": None}
            self.events.append(entry)
            return entry

    def messages(self, since: int = 0, user_id: str | None = None,
                 channel_id: str | None = None) -> list[dict]:
        """Transcript entries of one room: a channel, or the 1:1 room of a user."""
        with self.lock:
            entries = entries_since(self.transcript, since)
            if channel_id:
                entries = [e for e in entries if e["target"] == {"kind": "channel", "id": channel_id}]
            elif user_id:
                entries = [e for e in entries if e["target"] == {"kind": "user", "id": user_id}]
            return copy.deepcopy(entries)
