"""Lease owners that say which process holds a row, so that a dead holder is recognised at once.

Inbox, outbox, broadcast and account-action rows are claimed under a lease (bot/store.py). When the
holder dies (kill -9, a crash), its rows wait for the lease to run out: a minute or two. An owner name
holds the machine, the process id and the process's start time; a process on the same machine can
see that such a holder no longer runs (no such process, or the pid now belongs to a newer process)
and take its rows at once. Across machines nothing can be seen, and the lease still decides.

The machine is the host name together with the kernel's boot id: two containers on one host differ
by host name (and do not see each other's processes), two hosts differ by boot id.
"""
from __future__ import annotations

import hashlib
import os
import socket
import uuid
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def machine() -> str:
    try:
        boot_id = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        boot_id = ""
    return hashlib.sha256(f"{socket.gethostname()}\0{boot_id}".encode()).hexdigest()[:12]


def start_time(pid: int) -> str | None:
    """The process's start time (clock ticks after boot, from /proc), or None when it does not run."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: count fields after its last ')'
    fields = stat[stat.rindex(")") + 2:].split()
    return fields[19] if len(fields) > 19 else None


def lease_owner(role: str) -> str:
    """`role-machine-pid-start-nonce`: the nonce tells apart two workers of one process."""
    pid = os.getpid()
    return f"{role}-{machine()}-{pid}-{start_time(pid) or 0}-{uuid.uuid4().hex[:6]}"


def is_dead_here(owner: str | None) -> bool:
    """True when `owner` names a process on this machine that no longer runs. False for a live one,
    for another machine, and for a name of another form (the lease decides for those)."""
    parts = (owner or "").split("-")
    if len(parts) != 5 or parts[1] != machine() or not parts[2].isdigit():
        return False
    return start_time(int(parts[2])) != parts[3]
