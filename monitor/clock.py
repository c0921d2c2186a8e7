"""The wall clock featmon judges by: real time, or `FEATMON_NOW` (ISO 8601) for tests and
replays, so separate processes can share one simulated clock; and how log lines are stamped.
How times are shown is checks/times.py's job."""

from __future__ import annotations

import datetime as dt
import logging
import os

from checks.times import iso_utc

NOW_ENV = "FEATMON_NOW"


def now_utc() -> dt.datetime:
    fixed = os.environ.get(NOW_ENV)
    if fixed:
        moment = dt.datetime.fromisoformat(fixed)
        return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return dt.datetime.now(dt.UTC)


def real_now() -> dt.datetime:
    """The real wall clock, never `FEATMON_NOW`: leases and delivery claims are between
    processes alive now, so their expiry is real time, read afresh at every try (a clock
    frozen at process start would never see another run's lease expire)."""
    return dt.datetime.now(dt.UTC)


class LogFormatter(logging.Formatter):
    """Log lines stamped like every machine-read time (ISO 8601 UTC with `Z`), not in the
    host's local time without a zone: logs from a container, a laptop and Cloud Run agree."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return iso_utc(dt.datetime.fromtimestamp(record.created, dt.UTC))
