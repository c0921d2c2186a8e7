"""Which game dates a run looks at.

Game dates are calendar dates in the platform's time zone, so "today" is computed there,
not in UTC: at 21:00 in New York it is already tomorrow in UTC.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from monitor.config import Config


@dataclass(frozen=True)
class DateWindow:
    start: dt.date
    end: dt.date

    def dates(self) -> list[dt.date]:
        days = (self.end - self.start).days
        return [self.start + dt.timedelta(days=i) for i in range(days + 1)]

    def as_dict(self) -> dict[str, str]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat()}


def today_in(config: Config, now: dt.datetime | None = None) -> dt.date:
    now = now or dt.datetime.now(dt.UTC)
    return now.astimezone(config.zone()).date()


def resolve_window(
    config: Config,
    *,
    date: dt.date | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    now: dt.datetime | None = None,
) -> DateWindow:
    """CLI dates win over the config's fixed window, which wins over the relative one."""
    if date is not None:
        return DateWindow(date, date)
    if start is not None or end is not None:
        if start is None or end is None:
            raise ValueError("--from and --to go together")
        if start > end:
            raise ValueError(f"--from {start} is after --to {end}")
        return DateWindow(start, end)
    w = config.window
    if w.from_ is not None and w.to is not None:
        return DateWindow(w.from_, w.to)
    today = today_in(config, now)
    return DateWindow(
        today - dt.timedelta(days=w.days_back), today + dt.timedelta(days=w.days_ahead)
    )
