"""A graded date whose hit rate fell below what the model is expected to hit.

The cost side of the seed: Feb 2 hit 41.9 % against ~54 % expected, and all 7 high-edge
picks lost. The graded outcomes come from `grading`, joined inside the shared query; the
split into predictions affected by a feature problem and unaffected ones says whether the
drop is the features' fault.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from pydantic import Field

from checks.base import Check, CheckResult, CheckSettings, Fragment, Reported
from checks.query.columns import HIT_GROUPS, HitCount, HitGroup, hit_count
from checks.query.sql import Params


class HitRateDropSettings(CheckSettings):
    expected_hit_rate: float = Field(default=54.0, gt=0, le=100)  # percent
    margin: float = Field(default=5.0, ge=0, le=100)  # percentage points below expected
    min_graded: int = Field(default=20, ge=1)  # fewer graded predictions: no verdict


def rate(correct: int, graded: int) -> float | None:
    return round(100.0 * correct / graded, 1) if graded else None


def hit_rates(row: Mapping[str, Any]) -> dict[str, Any]:
    """Hit rates (percent, None when nothing is graded) from the join's hit counts. The
    keys are what `details` and the impact table report (`graded_affected_high_edge`)."""

    def n(kind: HitCount, group: HitGroup, high_edge: bool) -> int:
        return int(row.get(hit_count(kind, group, high_edge=high_edge)) or 0)

    out: dict[str, Any] = {}
    for high_edge in (False, True):
        edge = "_high_edge" if high_edge else ""
        graded = sum(n("graded", group, high_edge) for group in HIT_GROUPS)
        correct = sum(n("correct", group, high_edge) for group in HIT_GROUPS)
        out[f"graded{edge}"] = graded
        out[f"correct{edge}"] = correct
        out[f"hit_rate{edge}"] = rate(correct, graded)
        for group in HIT_GROUPS:
            g, c = n("graded", group, high_edge), n("correct", group, high_edge)
            out[f"graded_{group}{edge}"] = g
            out[f"hit_rate_{group}{edge}"] = rate(c, g)
    return out


def fmt_rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}%"


class HitRateDrop(Check):
    name = "hit_rate_drop"
    settings_model = HitRateDropSettings
    uses_grading = True
    problem = False  # a loss is an outcome, not a sign the prediction's features were wrong
    meaning = "Graded predictions of this date hit well below the expected rate."

    def fragment(self, params: Params) -> Fragment:
        flag, c = self.flag_column, self.cols
        # Its examples are its own: graded misses, high-edge ones first (the seed's "0 of 7"),
        # with the line and the prediction that missed it.
        extra = [
            ("predicted", c.graded_predicted),
            ("line", c.graded_line),
            ("high_edge", c.graded_high_edge),
        ]
        order = f"COALESCE({c.graded_high_edge}, FALSE) DESC, {c.made_at}"
        return Fragment(
            columns=[(flag, f"COALESCE(NOT {c.graded_correct}, FALSE)")],
            aggregates=[],
            reported=[Reported(flag, order, extra)],
        )

    def results(self, row: Mapping[str, Any], game_date: dt.date) -> list[CheckResult]:
        assert isinstance(self.settings, HitRateDropSettings)
        s = self.settings
        rates = hit_rates(row)
        graded, correct = rates["graded"], rates["correct"]
        floor = s.expected_hit_rate - s.margin
        details = {
            **rates,
            "expected_hit_rate": s.expected_hit_rate,
            "margin": s.margin,
            "min_graded": s.min_graded,
        }
        if graded < s.min_graded:
            message = f"{graded} graded predictions (fewer than {s.min_graded}): no verdict yet"
            alert = False
        else:
            hit = rates["hit_rate"]
            message = (
                f"hit rate {fmt_rate(hit)} ({correct}/{graded}) against "
                f"{s.expected_hit_rate:g}% expected; affected by feature problems "
                f"{fmt_rate(rates['hit_rate_affected'])} ({rates['graded_affected']} graded), "
                f"unaffected {fmt_rate(rates['hit_rate_unaffected'])}; high-edge "
                f"{rates['correct_high_edge']}/{rates['graded_high_edge']}"
            )
            alert = hit is not None and hit < floor
        result = self.result(row, game_date, alert=alert, message=message, details=details)
        result.total, result.affected = graded, graded - correct
        return [result]
