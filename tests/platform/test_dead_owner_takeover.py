"""Rows held by a process of this machine that died are taken over at once, not after the lease."""
import subprocess
import sys

from bot.owners import is_dead_here, lease_owner, machine
from bot.store import Store, make_engine
from config.settings import normalise_database_url


def dead_owner() -> str:
    """The owner name of a process that ran here and exited."""
    done = subprocess.run([sys.executable, "-c", "from bot.owners import lease_owner; print(lease_owner('web'))"],
                          capture_output=True, text=True, check=True)
    return done.stdout.strip()


def held_row(store: Store, owner: str) -> int:
    assert store.add_inbox(f"hash-{owner}", '{"type":"message"}', "message/text")
    store.import_journal()
    [row] = store.claim_inbox(owner, limit=1, lease_seconds=60)
    return row.id


def test_a_dead_local_holder_is_recognised():
    gone, alive = dead_owner(), lease_owner("web")
    assert is_dead_here(gone) and not is_dead_here(alive)
    elsewhere = gone.replace(machine(), "0" * 12)
    assert not is_dead_here(elsewhere)  # another machine: the lease decides
    assert not is_dead_here("web-3f2a9c1d4e5b") and not is_dead_here(None)  # an older name: the lease decides


def test_rows_of_a_dead_process_are_claimed_at_once_and_live_ones_are_not(database_url, clock):
    store = Store(make_engine(normalise_database_url(database_url)), clock)
    try:
        of_the_living = held_row(store, lease_owner("web"))
        of_another_machine = held_row(store, dead_owner().replace(machine(), "0" * 12))
        of_the_dead = held_row(store, dead_owner())
        taken = store.claim_inbox(lease_owner("web"), limit=10)  # the clock has not moved: no lease ran out
        assert [row.id for row in taken] == [of_the_dead]
        assert taken[0].attempts == 2
        assert {of_the_living, of_another_machine}.isdisjoint(row.id for row in taken)
    finally:
        store.engine.dispose()
