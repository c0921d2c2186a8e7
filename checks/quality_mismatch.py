"""Predictions whose logged feature quality differs from the store's.

The seed incident's Feb 3 shape: a worker's cache served an old version (quality
65.5) after the store had been rewritten (87.59). Timestamps look fine there, since the
predictions came after the rewrite; only the logged values give it away.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from pydantic import Field

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

# Differences equal to the tolerance pass; this absorbs NUMERIC -> FLOAT64 rounding.
EPSILON = "1e-9"


class QualityMismatchSettings(CheckSettings):
    severity: Severity = "critical"
    tolerance: float = Field(default=0.5, ge=0)


class QualityMismatch(Check):
    name = "quality_mismatch"
    settings_model = QualityMismatchSettings
    uses_quality = True
    uses_store_quality = True
    meaning = (
        "The feature quality these predictions logged is not the quality the store holds "
        "for the same rows: they were built from a different version of the features."
    )

    def fragment(self, params: Params) -> Fragment:
        assert isinstance(self.settings, QualityMismatchSettings)
        tol = params.float("quality_tolerance", self.settings.tolerance)
        logged, store = self.cols.logged_quality, self.cols.store_quality
        diff = f"ABS({logged} - {store})"
        flag = self.flag_column
        return Fragment(
            columns=[(flag, f"COALESCE({diff} > {tol} + {EPSILON}, FALSE)")],
            aggregates=[
                (self.col("compared"), f"COUNTIF({logged} IS NOT NULL AND {store} IS NOT NULL)"),
                (self.col("max_abs_diff"), f"MAX({diff})"),
                (self.col("logged_avg"), f"AVG(IF({flag}, {logged}, NULL))"),
                (self.col("store_avg"), f"AVG(IF({flag}, {store}, NULL))"),
                (self.col("unparseable"), f"COUNTIF({self.cols.quality_unparseable})"),
                (
                    self.col("non_finite_in_store"),
                    f"COUNTIF({self.cols.store_quality_non_finite})",
                ),
            ],
            reported=[Reported(flag, f"{diff} DESC")],
        )

    def results(self, row: Mapping[str, Any], game_date: dt.date) -> list[CheckResult]:
        assert isinstance(self.settings, QualityMismatchSettings)
        affected, total = self.affected(row), self.total(row)
        logged_avg = rounded(row[self.col("logged_avg")])
        store_avg = rounded(row[self.col("store_avg")])
        details = {
            "tolerance": self.settings.tolerance,
            "compared": self.count(row, "compared"),
            "max_abs_diff": rounded(row[self.col("max_abs_diff")]),
            "logged_quality_avg": logged_avg,
            "store_quality_avg": store_avg,
            "unparseable": self.count(row, "unparseable"),
            "non_finite_in_store": self.count(row, "non_finite_in_store"),
        }
        if affected:
            message = (
                f"{affected} of {total} predictions ({pct(affected, total)}) logged feature "
                f"quality {logged_avg} on average where the store has {store_avg}"
            )
        else:
            message = f"logged quality matches the store for {details['compared']} predictions"
        message += unusable_note(details)
        return [self.result(row, game_date, alert=affected > 0, message=message, details=details)]


def unusable_note(details: Mapping[str, Any]) -> str:
    """What could not be compared, when anything: a date of unusable values is not green
    without saying so."""
    parts = []
    if details.get("unparseable"):
        unusable = details["unparseable"]
        parts.append(f"{unusable} logged values unusable (malformed, or not a finite number)")
    if details.get("non_finite_in_store"):
        parts.append(f"{details['non_finite_in_store']} store values not finite (inf/NaN)")
    return "".join(f"; {p}" for p in parts)
