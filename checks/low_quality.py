"""Predictions built from features whose logged quality is below a threshold.

The team's tiers: gold > 95, silver 85-95, bronze 70-85, poor 50-70, critical < 50.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from pydantic import Field

from checks.base import Check, CheckResult, Fragment, Reported, over_ratio, pct, rounded
from checks.missing_quality import RatioSettings
from checks.query.sql import Params


class LowQualitySettings(RatioSettings):
    threshold: float = Field(default=70.0, ge=0)


class LowQuality(Check):
    name = "low_quality"
    settings_model = LowQualitySettings
    uses_quality = True
    meaning = "These predictions were built from features below the quality threshold."

    def fragment(self, params: Params) -> Fragment:
        assert isinstance(self.settings, LowQualitySettings)
        threshold = params.float("quality_threshold", self.settings.threshold)
        flag, logged = self.flag_column, self.cols.logged_quality
        return Fragment(
            columns=[(flag, f"COALESCE({logged} < {threshold}, FALSE)")],
            aggregates=[(self.col("min_quality"), f"MIN({logged})")],
            reported=[Reported(flag, logged)],
        )

    def results(self, row: Mapping[str, Any], game_date: dt.date) -> list[CheckResult]:
        assert isinstance(self.settings, LowQualitySettings)
        affected, total = self.affected(row), self.total(row)
        threshold = self.settings.threshold
        details = {
            "threshold": threshold,
            "max_ratio": self.settings.max_ratio,
            "min_quality": rounded(row[self.col("min_quality")]),
        }
        if affected:
            message = (
                f"{affected} of {total} predictions ({pct(affected, total)}) logged feature "
                f"quality below {threshold:g} (lowest {details['min_quality']})"
            )
        else:
            message = f"no prediction logged feature quality below {threshold:g}"
        alert = over_ratio(affected, total, self.settings.max_ratio)
        return [self.result(row, game_date, alert=alert, message=message, details=details)]
