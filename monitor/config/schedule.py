"""When the daemon runs checks: `{every: 2m}` or a cron string in the config's time zone.

Parsed at config load (a bad schedule is a config error); APScheduler, which builds the
triggers, is only imported for a cron string or when the daemon starts.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

_EVERY = re.compile(r"^\s*(\d+)\s*([smh])\s*$")


@dataclass(frozen=True)
class Schedule:
    """`{every: 2m}` or a cron string in the config's time zone."""

    every_s: float | None = None
    cron: str | None = None

    @property
    def interval_s(self) -> float:
        """The nominal gap between cycles (cron: the smallest gap within a day)."""
        if self.every_s is not None:
            return self.every_s
        assert self.cron is not None
        from apscheduler.triggers.cron import CronTrigger

        trigger = CronTrigger.from_crontab(self.cron)
        now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        first = trigger.get_next_fire_time(None, now)
        assert first is not None
        second = trigger.get_next_fire_time(first, first + dt.timedelta(seconds=1))
        assert second is not None
        return float((second - first).total_seconds())

    def trigger(self, zone: Any, jitter: float | None) -> Any:
        if self.every_s is not None:
            from apscheduler.triggers.interval import IntervalTrigger

            return IntervalTrigger(seconds=self.every_s, jitter=jitter)
        assert self.cron is not None
        from apscheduler.triggers.cron import CronTrigger

        return CronTrigger.from_crontab(self.cron, timezone=zone)


def parse_schedule(value: str | dict[str, str]) -> Schedule:
    if isinstance(value, dict):
        every = value.get("every")
        m = _EVERY.match(every or "")
        if set(value) != {"every"} or not m:
            raise ValueError("use {every: Ns|Nm|Nh} or a cron string like '*/5 * * * *'")
        if int(m[1]) == 0:
            raise ValueError("`every` must be longer than 0 (a cycle with no gap never rests)")
        return Schedule(every_s=int(m[1]) * {"s": 1, "m": 60, "h": 3600}[m[2]])
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(value)
    except ValueError as e:
        raise ValueError(f"{value!r} is not a cron string: {e}") from None
    return Schedule(cron=value)
