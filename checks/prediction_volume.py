"""Predictions must arrive for every game date the store has rows for.

Every other check judges the predictions that exist, so a date whose predictions never
arrived (a worker down, a table emptied, a `where` filter gone wrong) would read as green.
This one counts them: once `expected_by` (local time on game day, in the config's time
zone) has passed, a date with feature-store rows must have at least `min_predictions`, and
not fewer than `min_ratio` of the median of the earlier dates in the window (raise
`window.days_back` to compare with more of them). Dates without store rows have no games
and are not judged.

It reads the shared join's per-date prediction count and the store summary's row count:
no query of its own.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Mapping
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import Field

from checks.base import Check, CheckResult, CheckSettings, Fragment, Severity
from checks.durations import ClockTime, deadline
from checks.query.sql import Params
from checks.times import for_people, iso_utc

# Keys of the row `results` reads (assembled per date by the run cycle).
PREDICTIONS = "predictions"  # the date's predictions (the join's total; 0 when none)
STORE_ROWS = "store_rows"  # the date's feature-store rows (the store summary's)
# (date, predictions, store rows) of each earlier date of the window, oldest first.
EARLIER = "earlier_dates"


class PredictionVolumeSettings(CheckSettings):
    severity: Severity = "critical"
    expected_by: ClockTime = "19:00"
    min_predictions: Annotated[int, Field(ge=1)] = 1
    min_ratio: Annotated[float, Field(gt=0, le=1)] = 0.5


class PredictionVolume(Check):
    name = "prediction_volume"
    settings_model = PredictionVolumeSettings
    scope = "volume"
    problem = False
    meaning = (
        "Predictions for this date did not arrive (or far fewer than usual), although the "
        "feature store has rows for its games."
    )

    def fragment(self, params: Params) -> Fragment:
        raise NotImplementedError("prediction_volume reads the join's totals and store summary")

    def results(self, row: Mapping[str, Any], game_date: dt.date) -> list[CheckResult]:
        assert isinstance(self.settings, PredictionVolumeSettings)
        s = self.settings
        zone = ZoneInfo(row["timezone"])
        now: dt.datetime = row["checked_at"]
        count = int(row.get(PREDICTIONS) or 0)
        rows = int(row.get(STORE_ROWS) or 0)
        # Recent days: the earlier dates with games whose count is final (due).
        recent = [
            n
            for day, n, store_rows in row.get(EARLIER) or []
            if store_rows and now >= deadline(day, s.expected_by, zone)
        ]
        baseline = statistics.median(recent) if recent else None
        due = deadline(game_date, s.expected_by, zone)
        local_due = f"{for_people(due, zone, 'clock_minutes')} on {game_date}"
        details: dict[str, Any] = {
            "predictions": count,
            "store_rows": rows,
            "expected_by": iso_utc(due),
            "min_predictions": s.min_predictions,
            "min_ratio": s.min_ratio,
            "recent_median": baseline,
            "recent_dates": len(recent),
        }
        alert = False
        if rows == 0:
            message = "no feature-store rows for this date (no games): not judged"
        elif now < due:
            message = f"{count} predictions so far; not due yet (expected by {local_due})"
        elif count < s.min_predictions:
            alert = True
            message = (
                f"{count} predictions for {game_date} by {local_due}, though the feature "
                f"store has {rows} rows for it (expected at least {s.min_predictions})"
            )
        elif baseline is not None and count < s.min_ratio * baseline:
            alert = True
            message = (
                f"{count} predictions for {game_date}, far fewer than the recent median of "
                f"{baseline:g} (alerts below {s.min_ratio:.0%})"
            )
        else:
            message = f"{count} predictions for {rows} feature-store rows"
        return [
            CheckResult(
                check=self.name,
                game_date=game_date,
                status="alert" if alert else "ok",
                severity=s.severity,
                total=rows,
                affected=rows if alert else 0,
                message=message,
                details=details,
            )
        ]
