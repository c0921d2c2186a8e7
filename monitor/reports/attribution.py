"""Attribution as featmon reports it: batches of predictions and the store version each
used, as `details.attribution`, one line for Slack, and `featmon explain`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from checks.base import Check
from checks.durations import parse_duration
from checks.feature_mismatch import FeatureMismatchSettings
from checks.quality_mismatch import QualityMismatchSettings
from checks.query.attribution import ATTRIBUTED, Mode, Tolerances, attribution_query
from checks.query.sql import Query
from monitor.config import Config
from monitor.persistence.history import Version
from monitor.pipeline.plan import tables_of
from monitor.pipeline.window import DateWindow
from monitor.warehouse.base import Warehouse

__all__ = [
    "ATTRIBUTED",
    "Batch",
    "attribution_batches",
    "attribution_query_for",
    "describe",
    "explain_prediction",
]


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if value else None


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


def tolerances(config: Config) -> Tolerances:
    q = config.settings_for("quality_mismatch")
    f = config.settings_for("feature_mismatch")
    assert isinstance(q, QualityMismatchSettings) and isinstance(f, FeatureMismatchSettings)
    return Tolerances(q.tolerance, f.abs_tolerance, f.rel_tolerance)


def attribution_query_for(
    config: Config,
    checks: Sequence[Check],
    window: DateWindow,
    mode: Mode,
    prediction_id: str | None = None,
) -> Query:
    """The attribution query with the config's tables, tolerances and batch gap."""
    assert config.history is not None
    return attribution_query(
        tables_of(config),
        f"{config.state.dataset}.store_fingerprints",
        checks,
        window.start,
        window.end,
        mode=mode,
        tolerances=tolerances(config),
        batch_gap=parse_duration(config.history.batch_gap),
        prediction_id=prediction_id,
    )


def attribution_batches(
    config: Config,
    wh: Warehouse,
    checks: Sequence[Check],
    date_from: dt.date,
    date_to: dt.date,
    mode: Mode,
) -> list[Batch]:
    query = attribution_query_for(config, checks, DateWindow(date_from, date_to), mode)
    return [Batch.from_row(r) for r in wh.rows(query)]


def explain_prediction(
    config: Config, wh: Warehouse, game_date: dt.date, prediction_id: str
) -> list[dict[str, Any]]:
    """Every recorded version of the prediction's entity: matches, and the one attributed."""
    window = DateWindow(game_date, game_date)
    return list(wh.rows(attribution_query_for(config, [], window, "prediction", prediction_id)))


def clock(value: dt.datetime, zone: ZoneInfo, seconds: bool = True) -> str:
    return value.astimezone(zone).strftime("%H:%M:%S" if seconds else "%H:%M")


def _minutes(delta: dt.timedelta) -> str:
    minutes = round(delta.total_seconds() / 60)
    return f"{minutes} min" if abs(minutes) < 120 else f"{minutes / 60:.1f} h"


def describe(b: Batch, zone: ZoneInfo, unseen: Version | None = None) -> str:
    """One sentence: "102 predictions made 23:12:42 used the version written 18:05 (quality
    65.46), which the rewrite at 22:30:07 (quality 87.59) had replaced 42 min earlier".
    `unseen`: the latest write before them that featmon did not record (values unknown)."""
    made = clock(b.made_at_min, zone)
    if b.made_at_max - b.made_at_min >= dt.timedelta(seconds=1):
        made += f"-{clock(b.made_at_max, zone)}"
    head = f"{b.count} prediction{'s' if b.count != 1 else ''} made {made}"
    if b.version_written_at is None:
        line = f"{head}: no recorded store version matches what they logged"
        if unseen is not None:
            line += (
                f"; the store was written at {clock(unseen.written_at, zone)} before them "
                f"({'; '.join(unseen.sources)}), values unknown: featmon was not recording yet"
            )
        return line
    line = (
        f"{head} used the version written {clock(b.version_written_at, zone, False)} "
        f"(quality {b.version_quality})"
    )
    if b.superseded_at is None:
        return line + ", still the store's current version"
    rewrite = f"the rewrite at {clock(b.superseded_at, zone)} (quality {b.superseded_by_quality})"
    if b.superseded_at <= b.made_at_min:
        ago = _minutes(b.made_at_min - b.superseded_at)
        return f"{line}, which {rewrite} had replaced {ago} earlier"
    return f"{line}, current when they were made; {rewrite} replaced it later"
