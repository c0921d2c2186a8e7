"""One clock for people, one for machines, and one reader of the times people type.

People read times in the config's `timezone` with its abbreviation (`2026-02-03 18:05 EST`),
so a message never mixes zones and on-call never converts from UTC in their head; the
abbreviation also says which side of a DST change a time falls on (EST vs EDT). Machines
(JSON output, webhook payloads, what is stored in the warehouse) read ISO 8601 UTC with `Z`,
one spelling everywhere. Every surface formats through here, so neither rule can drift.

It lives in `checks/`, the bottom layer, because checks word their own messages
(`store_freshness` names its deadline) and everything above imports from here.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

# How much of a time a person needs: a timestamp on its own, with seconds, in a table
# column (the year is the game date's), or the time of day in a sentence under a date.
Style = Literal["minutes", "seconds", "short", "short_minutes", "clock", "clock_minutes"]
_FORMATS: dict[Style, str] = {
    "minutes": "%Y-%m-%d %H:%M %Z",
    "seconds": "%Y-%m-%d %H:%M:%S %Z",
    "short": "%m-%d %H:%M:%S %Z",
    "short_minutes": "%m-%d %H:%M %Z",
    "clock": "%H:%M:%S %Z",
    "clock_minutes": "%H:%M %Z",
}


def utc(moment: dt.datetime) -> dt.datetime:
    """The same instant in UTC; a naive time is taken as UTC (what the warehouse returns)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def iso_utc(moment: dt.datetime) -> str:
    """A time as machines read it (JSON, receivers, stored details): ISO 8601 UTC with `Z`."""
    return utc(moment).isoformat().replace("+00:00", "Z")


def for_people(moment: dt.datetime, zone: dt.tzinfo, style: Style = "minutes") -> str:
    """A time as people read it: in `zone` (the config's) with its abbreviation,
    `2026-02-03 18:05 EST`; `style` says how much of it (see `Style`)."""
    return utc(moment).astimezone(zone).strftime(_FORMATS[style])


def span_for_people(start: dt.datetime, end: dt.datetime, zone: dt.tzinfo) -> str:
    """`2026-02-03 23:12:42-23:14:00 EST`: a range within one local day and abbreviation is
    written once; otherwise both ends in full."""
    first, last = utc(start).astimezone(zone), utc(end).astimezone(zone)
    if end - start < dt.timedelta(seconds=1):
        return for_people(start, zone, "seconds")
    if first.date() == last.date() and first.tzname() == last.tzname():
        return f"{first:%Y-%m-%d %H:%M:%S}-{last:%H:%M:%S %Z}"
    return f"{for_people(start, zone, 'seconds')} - {for_people(end, zone, 'seconds')}"


def later_for_people(
    moment: dt.datetime, anchor: dt.datetime, zone: dt.tzinfo, *, seconds: bool = True
) -> str:
    """A time in a sentence that already gave `anchor` in full: the time of day (`18:05 EST`)
    when both are on the same local day, else with its month and day (`02-02 18:05 EST`)."""
    same_day = utc(moment).astimezone(zone).date() == utc(anchor).astimezone(zone).date()
    if same_day:
        return for_people(moment, zone, "clock" if seconds else "clock_minutes")
    return for_people(moment, zone, "short" if seconds else "short_minutes")


def localized(moment: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """A time someone typed: without an offset it is wall-clock time in `zone` (the config's),
    with one (`+01:00`, `Z`) it means what it says."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def parse_time(text: str, zone: dt.tzinfo) -> dt.datetime:
    """`2026-02-03 18:00` (in `zone`), `2026-02-03T23:00Z`, `2026-02-03T18:00-05:00` or a
    date (its midnight in `zone`). Raises ValueError naming the accepted forms."""
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{text!r} is not a time; use YYYY-MM-DD HH:MM (in the config's timezone) "
            "or add an offset: 2026-02-03T23:00Z, 2026-02-03T18:00-05:00"
        ) from None
    return localized(moment, zone)
