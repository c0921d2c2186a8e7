"""Logged feature values that differ from the store's, one result per feature.

A value counts as different when |logged - store| > abs_tolerance + rel_tolerance * |store|
(numpy.isclose's rule): a difference exactly at the tolerance passes.

A value read from a live location (`live: true`: the worker logged the live prop line
under the store feature's name) is not the store's, so it is never compared: a line that
moved after the store was written is not a stale feature. Those predictions are counted
as `live_overrides`, apart from `missing_logged`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from pydantic import Field

from checks.base import Check, CheckResult, CheckSettings, Fragment, Reported, pct, rounded
from checks.quality_mismatch import EPSILON, unusable_note
from checks.query.sql import Params


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
        reported = []
        present = self.cols.store_present
        for f in self.cols.feature_columns:
            logged, store = f.logged, f.store
            diff = f"ABS({logged} - {store})"
            flag = self.col(_own(f.index, "flag"))
            limit = f"{abs_tol} + {rel_tol} * ABS({store}) + {EPSILON}"
            columns.append((flag, f"COALESCE({diff} > {limit}, FALSE)"))
            aggregates += [
                (
                    self.col(_own(f.index, "compared")),
                    f"COUNTIF({logged} IS NOT NULL AND {store} IS NOT NULL)",
                ),
                (
                    self.col(_own(f.index, "missing_logged")),
                    f"COUNTIF({present} AND {logged} IS NULL AND NOT {f.live})",
                ),
                (self.col(_own(f.index, "live_overrides")), f"COUNTIF({f.live})"),
                (
                    self.col(_own(f.index, "missing_in_store")),
                    f"COUNTIF({present} AND {store} IS NULL AND NOT {f.store_non_finite})",
                ),
                (
                    self.col(_own(f.index, "non_finite_in_store")),
                    f"COUNTIF({f.store_non_finite})",
                ),
                (self.col(_own(f.index, "unparseable")), f"COUNTIF({f.unparseable})"),
                (self.col(_own(f.index, "max_abs_diff")), f"MAX({diff})"),
            ]
            extra = [("logged_value", logged), ("store_value", store)]
            reported.append(Reported(flag, f"{diff} DESC", extra))
        any_feature = " OR ".join(r.flag for r in reported) or "FALSE"
        columns.append((self.flag_column, any_feature))
        return Fragment(columns=columns, aggregates=aggregates, reported=reported)

    def results(self, row: Mapping[str, Any], game_date: dt.date) -> list[CheckResult]:
        assert isinstance(self.settings, FeatureMismatchSettings)
        total = self.total(row)
        out = []
        for f in self.cols.feature_columns:
            flag = _own(f.index, "flag")
            affected = self.affected(row, flag)
            details = {
                "abs_tolerance": self.settings.abs_tolerance,
                "rel_tolerance": self.settings.rel_tolerance,
                "compared": self.count(row, _own(f.index, "compared")),
                "missing_logged": self.count(row, _own(f.index, "missing_logged")),
                "live_overrides": self.count(row, _own(f.index, "live_overrides")),
                "missing_in_store": self.count(row, _own(f.index, "missing_in_store")),
                "unparseable": self.count(row, _own(f.index, "unparseable")),
                "non_finite_in_store": self.count(row, _own(f.index, "non_finite_in_store")),
                "max_abs_diff": rounded(row[self.col(_own(f.index, "max_abs_diff"))], 4),
            }
            if affected:
                message = (
                    f"{affected} of {total} predictions ({pct(affected, total)}) logged a value "
                    f"that differs from the store (max diff {details['max_abs_diff']})"
                )
            else:
                message = f"logged values match the store ({details['compared']} compared)"
            message += unusable_note(details)
            out.append(
                self.result(
                    row,
                    game_date,
                    alert=affected > 0,
                    message=message,
                    details=details,
                    flag=flag,
                    feature=f.name,
                )
            )
        return out


def _own(index: int, name: str) -> str:
    """A per-feature column or aggregate this check adds (unprefixed; see `Check.col`)."""
    return f"f{index}_{name}"
