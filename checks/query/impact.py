"""The seed's impact table: per game date, how many predictions each problem touched.

Computed from the same one-pass join as the checks (every problem kind, examples off),
so `featmon impact` over a season is one scan of each table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from checks.hit_rate_drop import hit_rates
from checks.query.columns import (
    DATE_TOTAL,
    GAME_DATE,
    IMPACT_AFFECTED,
    TOTAL,
    JoinColumns,
    check_flag,
    flag_count,
    hit_count,
)
from checks.query.dimensions import values_of

# Impact column -> the check whose per-prediction flag it counts.
COLUMNS: dict[str, str] = {
    "missing_quality": "missing_quality",
    "low_quality": "low_quality",
    "stale": "stale_predictions",
    "quality_mismatch": "quality_mismatch",
    "feature_mismatch": "feature_mismatch",
    "missing_features": "missing_features",
}


def rate_of(rate: float, graded: int) -> str:
    """A hit rate with how many predictions it rests on: "41.9% of 86"."""
    return f"{rate:.1f}% of {graded}"


@dataclass(frozen=True)
class ImpactRow:
    game_date: dt.date
    total: int
    missing_quality: int | None
    low_quality: int | None
    stale: int | None
    quality_mismatch: int | None
    feature_mismatch: int | None
    missing_features: int | None
    affected: int
    affected_pct: float
    # With `grading`: hit rates (percent) of affected and unaffected predictions, overall
    # and high-edge, and how many were graded. None when not computed or nothing graded.
    hit_rate_affected: float | None = None
    hit_rate_unaffected: float | None = None
    graded_affected: int | None = None
    graded_unaffected: int | None = None
    high_edge_hit_rate_affected: float | None = None
    high_edge_hit_rate_unaffected: float | None = None
    high_edge_graded_affected: int | None = None
    high_edge_graded_unaffected: int | None = None
    # With `predictions.dimensions`: this row's values (name -> value); empty on the
    # date's total row, which every date has.
    dimensions: dict[str, str | None] = field(default_factory=dict)

    @property
    def is_total(self) -> bool:
        """The date's total (every model together), not one dimension value's row."""
        return not self.dimensions

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def outcome(self) -> str:
        """The graded cost in one line ("" before grading): for a resolved alert's message."""
        if not (self.graded_affected or self.graded_unaffected):
            return ""

        def part(group: str) -> str:
            rate = getattr(self, f"hit_rate_{group}")
            if rate is None:
                return f"{group} n/a"
            text = f"{group} {rate_of(rate, getattr(self, f'graded_{group}'))}"
            edge = getattr(self, f"high_edge_hit_rate_{group}")
            if edge is not None:
                text += f" (high-edge {rate_of(edge, getattr(self, f'high_edge_graded_{group}'))})"
            return text

        return f"graded hit rate {self.game_date}: {part('affected')}, {part('unaffected')}"

    @classmethod
    def from_row(
        cls, row: Mapping[str, Any], checks: set[str], cols: JoinColumns | None = None
    ) -> ImpactRow:
        """`checks` are the checks the query computed; others are reported as None.
        `cols` names the dimensions (a dimension row carries their values)."""
        total = int(row[TOTAL] or 0)
        counts = {
            column: int(row[flag_count(check_flag(check))] or 0) if check in checks else None
            for column, check in COLUMNS.items()
        }
        affected = int(row.get(IMPACT_AFFECTED) or 0)
        hits: dict[str, Any] = {}
        if hit_count("graded", "affected") in row:  # grading configured
            rates = hit_rates(row)
            for group in ("affected", "unaffected"):
                hits[f"hit_rate_{group}"] = rates[f"hit_rate_{group}"]
                hits[f"graded_{group}"] = rates[f"graded_{group}"]
                hits[f"high_edge_hit_rate_{group}"] = rates[f"hit_rate_{group}_high_edge"]
                hits[f"high_edge_graded_{group}"] = rates[f"graded_{group}_high_edge"]
        dims = {} if cols is None or row.get(DATE_TOTAL, 1) else values_of(row, cols)
        return cls(
            game_date=row[GAME_DATE],
            dimensions=dims,
            total=total,
            affected=affected,
            affected_pct=round(100.0 * affected / total, 1) if total else 0.0,
            **counts,
            **hits,
        )


HIT_FIELDS = [
    "hit_rate_affected",
    "hit_rate_unaffected",
    "graded_affected",
    "graded_unaffected",
    "high_edge_hit_rate_affected",
    "high_edge_hit_rate_unaffected",
    "high_edge_graded_affected",
    "high_edge_graded_unaffected",
]
FIELDS = ["game_date", "total", *COLUMNS, "affected", "affected_pct", *HIT_FIELDS]
