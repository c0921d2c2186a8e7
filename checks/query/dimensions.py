"""Reading the per-dimension rows (`predictions.dimensions`, e.g. the model `system_id`).

With dimensions the shared query answers, per date, one row per combination of dimension
values and the date's total (checks/query/join.py `_grouping`). Checks keep reading one
row per date: `by_date` folds each date's dimension rows into its total row, and
`breakdown` turns them into what an alert's details and message show.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from checks.query.columns import (
    BY_DIMENSION,
    DATE_TOTAL,
    GAME_DATE,
    TOTAL,
    JoinColumns,
    hit_count,
)

# An alert carries at most this many dimension values (worst first), so a dimension with
# many values (a player column by mistake) cannot blow up a message or a stored alert.
MAX_VALUES = 20


def by_date(rows: Iterable[dict[str, Any]]) -> dict[dt.date, dict[str, Any]]:
    """One row per date: the total row, with its date's dimension rows under BY_DIMENSION
    (rows from a query without dimensions pass through unchanged)."""
    totals: dict[dt.date, dict[str, Any]] = {}
    parts: dict[dt.date, list[dict[str, Any]]] = {}
    for row in rows:
        day = row[GAME_DATE]
        if DATE_TOTAL not in row or row[DATE_TOTAL]:
            totals[day] = row
        else:
            parts.setdefault(day, []).append(row)
    for day, dims in parts.items():
        if day in totals:
            totals[day][BY_DIMENSION] = dims
    return totals


def values_of(row: Mapping[str, Any], cols: JoinColumns) -> dict[str, str | None]:
    """A dimension row's values by configured name (as text: they become labels)."""
    return {
        name: None if row.get(column) is None else str(row[column])
        for name, column in cols.dimensions
    }


def breakdown(
    row: Mapping[str, Any], cols: JoinColumns, count_column: str
) -> list[dict[str, Any]] | None:
    """Per dimension value: the predictions `count_column` counts among the value's total,
    and its graded hit rate where grading was joined; worst first, at most MAX_VALUES.
    None when the query had no dimensions."""
    if BY_DIMENSION not in row:
        return None
    dims = row[BY_DIMENSION]
    out = []
    for d in dims:
        entry: dict[str, Any] = {
            **values_of(d, cols),
            "affected": int(d.get(count_column) or 0),
            "total": int(d.get(TOTAL) or 0),
        }
        graded_cols = [hit_count("graded", g) for g in ("affected", "unaffected")]
        if graded_cols[0] in d:
            graded = sum(int(d.get(c) or 0) for c in graded_cols)
            correct = sum(
                int(d.get(hit_count("correct", g)) or 0) for g in ("affected", "unaffected")
            )
            entry["graded"] = graded
            entry["hit_rate"] = round(100.0 * correct / graded, 1) if graded else None
        out.append(entry)
    out.sort(key=lambda e: (-e["affected"], -e["total"], label(e, cols)))
    return out[:MAX_VALUES]


def label(entry: Mapping[str, Any], cols: JoinColumns) -> str:
    """A dimension value as people read it: "catboost_v9" (or "catboost_v9/east")."""
    return "/".join("∅" if entry.get(n) is None else str(entry[n]) for n in cols.dimension_names)
