"""Durations as people write them in config files and on the command line: `30s`, `5m`,
`4h`, `1d`. One parser, so the alert repeat interval, schedules and freshness limits all
read the same way."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import AfterValidator

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str) -> dt.timedelta:
    """`30s`, `5m`, `4h`, `1d`."""
    m = _DURATION.match(text)
    if not m:
        raise ValueError(f"{text!r} is not a duration like 30s, 5m, 4h or 1d")
    return dt.timedelta(**{_UNITS[m[2]]: int(m[1])})


def _valid(text: str) -> str:
    parse_duration(text)
    return text


# A config field holding a duration: validated at load, kept as written.
Duration = Annotated[str, AfterValidator(_valid)]


def _clock(text: str) -> str:
    try:
        dt.time.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a time of day like 17:00") from None
    return text


# A config field holding a local time of day (`17:00`), in the config's time zone.
ClockTime = Annotated[str, AfterValidator(_clock)]


def deadline(day: dt.date, clock: str, zone: ZoneInfo) -> dt.datetime:
    """`clock` on `day` in `zone`, as UTC: 17:00 in New York is 21:00Z in summer and
    22:00Z in winter."""
    local = dt.datetime.combine(day, dt.time.fromisoformat(clock), tzinfo=zone)
    return local.astimezone(dt.UTC)
