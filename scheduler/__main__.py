"""The clock process: `python -m scheduler` (the Procfile's clock line). Exactly one runs.

For now it starts APScheduler's blocking scheduler in the bot's time zone with no jobs; the
reminder jobs are added by the reminders configuration.
"""
from __future__ import annotations

import logging
import sys

from apscheduler.schedulers.blocking import BlockingScheduler

from config.settings import SettingsError, load_settings

log = logging.getLogger("scheduler")


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        settings = load_settings()
    except SettingsError as exc:
        log.critical("%s", exc)
        return 3
    scheduler = BlockingScheduler(timezone=settings.tz,
                                  job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 600})
    log.info("clock started in %s with %d jobs", settings.timezone, len(scheduler.get_jobs()))
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        log.info("clock stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
