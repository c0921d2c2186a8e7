"""Durations as people write them in config files and on the command line: `30s`, `5m`,
`4h`, `1d`. One parser, so the alert repeat interval, schedules and freshness limits all
read the same way."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

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
