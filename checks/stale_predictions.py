"""Predictions made before the latest write of their own features.

The seed incident's Feb 2 shape: the store was rewritten after the predictions for that
date had gone out, so what was served no longer matches what the store says.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from checks.base import (
    Check,
    CheckResult,
    CheckSettings,
    Fragment,
    Reported,
    Severity,
    pct,
    rounded,
)
from checks.query.sql import Params


class StaleSettings(CheckSettings):
    severity: Severity = "critical"


class StalePredictions(Check):
    name = "stale_predictions"
    settings_model = StaleSettings
    meaning = (
        "These predictions were made before the feature store last rewrote their rows, "
        "so they were built from values the store no longer holds."
    )

    def fragment(self, params: Params) -> Fragment:
        c = self.cols
        stale = f"({c.store_present} AND {c.made_at} < {c.written_at})"
        lag = (
            f"IF({stale}, (UNIX_MICROS({c.written_at}) - UNIX_MICROS({c.made_at})) / 1000000, NULL)"
        )
        flag, lag_col = self.flag_column, self.col("lag_s")
        return Fragment(
            columns=[(flag, f"COALESCE({stale}, FALSE)"), (lag_col, lag)],
            aggregates=[
                (self.col("max_lag_s"), f"MAX({lag_col})"),
                (self.col("median_lag_s"), f"APPROX_QUANTILES({lag_col}, 2)[SAFE_OFFSET(1)]"),
                (self.col("last_written_at"), f"MAX(IF({flag}, {c.written_at}, NULL))"),
                (self.col("first_made_at"), f"MIN(IF({flag}, {c.made_at}, NULL))"),
                (self.col("last_made_at"), f"MAX(IF({flag}, {c.made_at}, NULL))"),
                (self.col("unknown_made_at"), f"COUNTIF({c.made_at} IS NULL)"),
            ],
            reported=[Reported(flag, f"{lag_col} DESC", [("lag_s", lag_col)])],
        )

    def results(self, row: Mapping[str, Any], game_date: dt.date) -> list[CheckResult]:
        affected, total = self.affected(row), self.total(row)
        max_lag = row[self.col("max_lag_s")]
        details = {
            "max_lag_s": rounded(max_lag, 3),
            "median_lag_s": rounded(row[self.col("median_lag_s")], 3),
            "last_written_at": row[self.col("last_written_at")],
            "first_made_at": row[self.col("first_made_at")],
            "last_made_at": row[self.col("last_made_at")],
            "unknown_made_at": self.count(row, "unknown_made_at"),
        }
        if affected:
            message = (
                f"{affected} of {total} predictions ({pct(affected, total)}) were made before "
                f"their features were last written (max lag {format_lag(max_lag)})"
            )
        else:
            message = f"all {total} predictions were made after their features' latest write"
        return [self.result(row, game_date, alert=affected > 0, message=message, details=details)]


def format_lag(seconds: Any) -> str:
    if seconds is None:
        return "n/a"
    total = int(float(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"
