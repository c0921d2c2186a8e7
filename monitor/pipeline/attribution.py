"""Running attribution: which recorded store version the flagged predictions used.

One query (checks/query/attribution.py) with the config's tables, tolerances and batch gap;
`attribute` adds its answer to the alerting stale / mismatch results of a cycle as
`details.attribution` (the batches) and `details.attribution_summary` (one sentence).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from checks.base import Check, CheckResult
from checks.durations import parse_duration
from checks.feature_mismatch import FeatureMismatchSettings
from checks.quality_mismatch import QualityMismatchSettings
from checks.query.attribution import (
    ATTRIBUTED,
    Fingerprints,
    Mode,
    Tolerances,
    attribution_query,
)
from checks.query.sql import Params, Query
from monitor.config import Config
from monitor.persistence.history import (
    History,
    Version,
    around,
    current_sql,
    merge_versions,
    unseen_before,
)
from monitor.pipeline.plan import tables_of
from monitor.pipeline.window import DateWindow
from monitor.reports.attribution import Batch, describe
from monitor.warehouse.base import Warehouse, WarehouseError

__all__ = [
    "ATTRIBUTED",
    "UNRECORDED",
    "Attributed",
    "DayHistory",
    "attribute",
    "attribution_batches",
    "day_history",
    "explain_prediction",
]


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
    recorded: bool = True,
) -> Query:
    """The attribution query with the config's tables, tolerances and batch gap; against
    the store's current rows instead of featmon's records when not `recorded`."""
    assert config.history is not None
    fingerprints: Fingerprints = f"{config.state.dataset}.store_fingerprints"
    if not recorded:
        history = config.history

        def fingerprints(params: Params) -> str:
            return current_sql(tables_of(config), history, params, window.start, window.end)

    return attribution_query(
        tables_of(config),
        fingerprints,
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
    recorded: bool = True,
) -> list[Batch]:
    window = DateWindow(date_from, date_to)
    query = attribution_query_for(config, checks, window, mode, recorded=recorded)
    return [Batch.from_row(r) for r in wh.rows(query)]


def explain_prediction(
    config: Config, wh: Warehouse, game_date: dt.date, prediction_id: str, recorded: bool = True
) -> list[dict[str, Any]]:
    """Every recorded version of the prediction's entity: matches, and the one attributed."""
    window = DateWindow(game_date, game_date)
    query = attribution_query_for(config, [], window, "prediction", prediction_id, recorded)
    return list(wh.rows(query))


UNRECORDED = (
    "featmon was not recording store versions for this date: the values of earlier "
    "versions are unknown"
)


@dataclass
class DayHistory:
    """What is known of a game date's store versions. `recorded`: featmon recorded them;
    otherwise (a warehouse featmon never ran on, a date before it started) the store's
    current rows are the one version with known values, and the run log and audit logs
    give the times of earlier writes; attribution then compares with the current rows."""

    recorded: bool
    versions: list[Version]
    problems: list[str] = field(default_factory=list)


def day_history(config: Config, wh: Warehouse, day: dt.date) -> DayHistory:
    """The date's versions, from featmon's records when it kept them, else from what exists
    (reads only: nothing is created)."""
    assert config.history is not None
    history = History(wh, config.state.dataset, tables_of(config), config.history)
    window = around(day, config.zone())
    if history.recorded_for(day):
        return DayHistory(True, merge_versions(history.versions_of(day, window)))
    rows, problems = history.current_versions(day, window)
    return DayHistory(False, merge_versions(rows), problems)


@dataclass
class Attributed:
    results: list[CheckResult]
    queries: int = 0
    problems: list[str] = field(default_factory=list)  # attribution is optional: never raised


def attribute(
    config: Config, wh: Warehouse, results: Sequence[CheckResult], checks: Sequence[Check]
) -> Attributed:
    """The results with `details.attribution` (and `attribution_summary`) added to the
    alerting stale / mismatch ones: one extra query, only when such a result alerts."""
    targets = [r for r in results if r.status == "alert" and r.check in ATTRIBUTED and r.game_date]
    if not targets:
        return Attributed(list(results))
    attributed = [c for c in checks if c.name in ATTRIBUTED]
    dates = [r.game_date for r in targets if r.game_date]
    try:
        batches = attribution_batches(config, wh, attributed, min(dates), max(dates), "flagged")
    except WarehouseError as e:
        return Attributed(list(results), 1, [f"attribution failed: {e}"])
    zone = config.zone()
    assert config.history is not None
    history = History(wh, config.state.dataset, tables_of(config), config.history)
    versions: dict[dt.date, list[Version]] = {}

    def unseen_for(day: dt.date, top: Batch) -> Version | None:
        """The latest write featmon did not record before an unmatched batch: a hint."""
        if day not in versions:
            try:
                versions[day] = merge_versions(history.versions_of(day, around(day, zone)))
            except WarehouseError:
                versions[day] = []  # the hint is optional; the attribution stands
        return unseen_before(versions[day], top.made_at_min)

    out: list[CheckResult] = []
    for result in results:
        day = result.game_date
        if result not in targets or day is None:
            out.append(result)
            continue
        mine = [b for b in batches if b.game_date == day]
        details: dict[str, Any] = {**result.details, "attribution": [b.as_dict() for b in mine]}
        if mine:
            top = max(mine, key=lambda b: b.count)
            unseen = unseen_for(day, top) if top.version_written_at is None else None
            details["attribution_summary"] = describe(top, zone, unseen)
        out.append(replace(result, details=details))
    return Attributed(out, 1)
