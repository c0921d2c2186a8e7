"""Predictions where no configured location yields a feature quality number.

Predictions that logged no quality cannot be checked for mismatches at all, which is
how the seed's Feb 2 went unnoticed (100% NULL quality).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from pydantic import Field

from checks.base import Check, CheckResult, CheckSettings, Fragment, Reported, over_ratio, pct
from checks.query.sql import Params


class RatioSettings(CheckSettings):
    max_ratio: float = Field(default=0.0, ge=0, le=1)


class MissingQuality(Check):
    name = "missing_quality"
    settings_model = RatioSettings
    uses_quality = True
    meaning = (
        "These predictions logged no usable feature quality, so nobody can tell which "
        "version of the features they used."
    )

    def fragment(self, params: Params) -> Fragment:
        flag, c = self.flag_column, self.cols
        found = [
            (self.col(f"found_loc{i}"), f"COUNTIF({c.quality_location(i)} IS NOT NULL)")
            for i, _ in enumerate(c.quality_locations)
        ]
        return Fragment(
            columns=[(flag, f"{c.logged_quality} IS NULL")],
            aggregates=[(self.col("unparseable"), f"COUNTIF({c.quality_unparseable})"), *found],
            reported=[Reported(flag, f"{c.made_at} DESC")],
        )

    def results(self, row: Mapping[str, Any], game_date: dt.date) -> list[CheckResult]:
        assert isinstance(self.settings, RatioSettings)
        affected, total = self.affected(row), self.total(row)
        details = {
            "max_ratio": self.settings.max_ratio,
            "unparseable": self.count(row, "unparseable"),
            "found_by_location": {
                loc: self.count(row, f"found_loc{i}")
                for i, loc in enumerate(self.cols.quality_locations)
            },
        }
        if affected:
            message = (
                f"{affected} of {total} predictions ({pct(affected, total)}) logged no feature "
                f"quality in any configured location ({details['unparseable']} unparseable)"
            )
        else:
            message = f"all {total} predictions logged a feature quality"
        alert = over_ratio(affected, total, self.settings.max_ratio)
        return [self.result(row, game_date, alert=alert, message=message, details=details)]
