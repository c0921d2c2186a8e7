"""Logged feature values that differ from the store's, one result per feature.

A value counts as different when |logged - store| > abs_tolerance + rel_tolerance * |store|
(numpy.isclose's rule): a difference exactly at the tolerance passes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from pydantic import Field

from checks.base import Check, CheckResult, CheckSettings, Fragment, pct
from checks.quality_mismatch import EPSILON
from checks.sql import Params


class FeatureMismatchSettings(CheckSettings):
    abs_tolerance: float = Field(default=0.05, ge=0)
    rel_tolerance: float = Field(default=0.0, ge=0)


class FeatureMismatch(Check):
    name = "feature_mismatch"
    settings_model = FeatureMismatchSettings
    uses_features = True
    meaning = (
        "The feature values these predictions logged differ from the values the store "
        "holds for the same rows."
    )

    def fragment(self, params: Params) -> Fragment:
        assert isinstance(self.settings, FeatureMismatchSettings)
        abs_tol = params.float("feature_abs_tolerance", self.settings.abs_tolerance)
        rel_tol = params.float("feature_rel_tolerance", self.settings.rel_tolerance)
        columns: list[tuple[str, str]] = []
        aggregates: list[tuple[str, str]] = []
        examples = []
        flags = []
        for i, _ in enumerate(self.cols.features):
            logged, store = f"f{i}_logged", f"f{i}_store"
            diff = f"ABS({logged} - {store})"
            flag = self.col(f"f{i}_flag")
            flags.append(flag)
            columns.append(
                (
                    flag,
                    f"COALESCE({diff} > {abs_tol} + {rel_tol} * ABS({store}) + {EPSILON}, FALSE)",
                )
            )
            aggregates += [
                (self.col(f"f{i}_flagged"), f"COUNTIF({flag})"),
                (
                    self.col(f"f{i}_compared"),
                    f"COUNTIF({logged} IS NOT NULL AND {store} IS NOT NULL)",
                ),
                (self.col(f"f{i}_missing_logged"), f"COUNTIF(store_present AND {logged} IS NULL)"),
                (self.col(f"f{i}_missing_in_store"), f"COUNTIF(store_present AND {store} IS NULL)"),
                (self.col(f"f{i}_unparseable"), f"COUNTIF(f{i}_unparseable)"),
                (self.col(f"f{i}_max_abs_diff"), f"MAX({diff})"),
            ]
            examples.append(
                (flag, f"{diff} DESC", [("logged_value", logged), ("store_value", store)])
            )
        columns.append((self.col("flag"), " OR ".join(flags) if flags else "FALSE"))
        return Fragment(columns=columns, aggregates=aggregates, examples=examples)

    def results(self, row: Mapping[str, Any], game_date: dt.date) -> list[CheckResult]:
        assert isinstance(self.settings, FeatureMismatchSettings)
        total = int(row["total"] or 0)
        out = []
        for i, feature in enumerate(self.cols.features):
            affected = int(row[self.col(f"f{i}_flagged")] or 0)
            max_diff = row[self.col(f"f{i}_max_abs_diff")]
            details = {
                "abs_tolerance": self.settings.abs_tolerance,
                "rel_tolerance": self.settings.rel_tolerance,
                "compared": int(row[self.col(f"f{i}_compared")] or 0),
                "missing_logged": int(row[self.col(f"f{i}_missing_logged")] or 0),
                "missing_in_store": int(row[self.col(f"f{i}_missing_in_store")] or 0),
                "unparseable": int(row[self.col(f"f{i}_unparseable")] or 0),
                "max_abs_diff": None if max_diff is None else round(float(max_diff), 4),
            }
            if affected:
                message = (
                    f"{affected} of {total} predictions ({pct(affected, total)}) "
                    "logged a value that differs from the store "
                    f"(max diff {details['max_abs_diff']})"
                )
            else:
                message = f"logged values match the store ({details['compared']} compared)"
            if details["unparseable"]:
                message += f"; {details['unparseable']} logged values unparseable"
            out.append(
                self.result(
                    row,
                    game_date,
                    affected=affected,
                    alert=affected > 0,
                    message=message,
                    details=details,
                    examples_column=self.col(f"f{i}_flag") + "_examples",
                    feature=feature,
                )
            )
        return out
