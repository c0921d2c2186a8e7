"""Predictions built from features whose logged quality is below a threshold.

The team's tiers: gold > 95, silver 85-95, bronze 70-85, poor 50-70, critical < 50.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from pydantic import Field

from checks.base import Check, CheckResult, Fragment, pct
from checks.missing_quality import RatioSettings
from checks.sql import Params


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
        flag = self.col("flag")
        return Fragment(
            columns=[(flag, f"COALESCE(logged_quality < {threshold}, FALSE)")],
            aggregates=[(self.col("min_quality"), "MIN(logged_quality)")],
            examples=[(flag, "logged_quality", [])],
        )

    def results(self, row: Mapping[str, Any], game_date: dt.date) -> list[CheckResult]:
        assert isinstance(self.settings, LowQualitySettings)
        affected = int(row[self.col("flagged")] or 0)
        total = int(row["total"] or 0)
        low = row[self.col("min_quality")]
        details = {
            "threshold": self.settings.threshold,
            "max_ratio": self.settings.max_ratio,
            "min_quality": None if low is None else round(float(low), 2),
        }
        alert = total > 0 and affected / total > self.settings.max_ratio
        message = (
            f"{affected} of {total} predictions ({pct(affected, total)}) logged feature quality "
            f"below {self.settings.threshold:g} (lowest {details['min_quality']})"
        )
        if not affected:
            message = f"no prediction logged feature quality below {self.settings.threshold:g}"
        return [
            self.result(
                row,
                game_date,
                affected=affected,
                alert=alert,
                message=message,
                details=details,
                examples_column=self.col("flag") + "_examples",
            )
        ]
