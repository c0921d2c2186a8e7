"""Attribution as featmon reports it: a batch of predictions and the store version it used,
as a `details.attribution` item and as one sentence (Slack, `featmon explain`, the
timeline). Running the query is monitor/pipeline/attribution.py's job."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from checks.times import iso_utc, later_for_people, span_for_people
from monitor.persistence.history import Version


def _iso(value: dt.datetime | None) -> str | None:
    return iso_utc(value) if value else None


def _num(value: Any) -> float | None:
    return None if value is None else round(float(value), 2)


@dataclass(frozen=True)
class Batch:
    game_date: dt.date
    batch: int
    count: int
    made_at_min: dt.datetime
    made_at_max: dt.datetime
    version_written_at: dt.datetime | None
    version_quality: float | None
    superseded_at: dt.datetime | None
    superseded_by_quality: float | None
    current_quality: float | None
    logged_quality: float | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Batch:
        return cls(
            game_date=row["game_date"],
            batch=int(row["batch"]),
            count=int(row["count"]),
            made_at_min=row["made_at_min"],
            made_at_max=row["made_at_max"],
            version_written_at=row["version_written_at"],
            version_quality=_num(row["version_quality"]),
            superseded_at=row["superseded_at"],
            superseded_by_quality=_num(row["superseded_by_quality"]),
            current_quality=_num(row["current_quality"]),
            logged_quality=_num(row["logged_quality"]),
        )

    def as_dict(self) -> dict[str, Any]:
        """The `details.attribution` item (times ISO 8601 UTC)."""
        return {
            "count": self.count,
            "made_at_min": _iso(self.made_at_min),
            "made_at_max": _iso(self.made_at_max),
            "version_written_at": _iso(self.version_written_at),
            "version_quality": self.version_quality,
            "superseded_at": _iso(self.superseded_at),
            "current_quality": self.current_quality,
        }


def _minutes(delta: dt.timedelta) -> str:
    minutes = round(delta.total_seconds() / 60)
    return f"{minutes} min" if abs(minutes) < 120 else f"{minutes / 60:.1f} h"


def describe(b: Batch, zone: ZoneInfo, unseen: Version | None = None) -> str:
    """One sentence: "102 predictions made 2026-02-02 23:12:42 EST used the version written
    18:05 EST (quality 65.46), which the rewrite at 22:30:07 EST (quality 87.59) had replaced
    42 min earlier", every time in `zone` (the config's). `unseen`: the latest write before
    them that featmon did not record (values unknown)."""

    def clock(value: dt.datetime, seconds: bool = True) -> str:
        return later_for_people(value, b.made_at_min, zone, seconds=seconds)

    made = span_for_people(b.made_at_min, b.made_at_max, zone)
    head = f"{b.count} prediction{'s' if b.count != 1 else ''} made {made}"
    if b.version_written_at is None:
        line = f"{head}: no recorded store version matches what they logged"
        if unseen is not None:
            line += (
                f"; the store was written at {clock(unseen.written_at)} before them "
                f"({'; '.join(unseen.sources)}), values unknown: featmon was not recording yet"
            )
        return line
    line = (
        f"{head} used the version written {clock(b.version_written_at, False)} "
        f"(quality {b.version_quality})"
    )
    if b.superseded_at is None:
        return line + ", still the store's current version"
    rewrite = f"the rewrite at {clock(b.superseded_at)} (quality {b.superseded_by_quality})"
    if b.superseded_at <= b.made_at_min:
        ago = _minutes(b.made_at_min - b.superseded_at)
        return f"{line}, which {rewrite} had replaced {ago} earlier"
    return f"{line}, current when they were made; {rewrite} replaced it later"
