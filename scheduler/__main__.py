"""`python -m scheduler`: the clock process (the Procfile's clock line; run exactly one).

    python -m scheduler                    the clock
    python -m scheduler list [--count N]   every reminder with its next runs
    python -m scheduler send ID [--dry-run]

The same commands as `python -m manage clock` and `python -m manage reminders ...` (scheduler/commands.py).
"""
from __future__ import annotations

import sys

import manage


def main(argv: list[str] | None = None, **injected) -> int:
    """`injected`: env, clock, client, out, settings, for tests."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command = ["clock"] if not argv or argv == ["clock"] else ["reminders", *argv]
    return manage.run(command, prog="python -m scheduler", **injected)


if __name__ == "__main__":
    sys.exit(main())
