"""The impact table (`featmon impact`, the demo, graded outcomes of resolutions): one
query answering every problem kind per game date, behind the cost guard.

With `predictions.dimensions` each date's total row comes first, then one row per
dimension value (`ImpactRow.dimensions`), all from the same query."""

from __future__ import annotations

from checks.query.impact import ImpactRow
from monitor.config import Config
from monitor.pipeline.cost import BudgetRefused, over_budget
from monitor.pipeline.plan import impact_query, tables_of
from monitor.pipeline.window import DateWindow
from monitor.warehouse import Warehouse


def run_impact(config: Config, wh: Warehouse, window: DateWindow) -> list[ImpactRow]:
    query, computed = impact_query(config, window)
    refusal = over_budget(config, wh, query)
    if refusal:
        raise BudgetRefused(refusal)
    cols = tables_of(config).join_columns()
    return [ImpactRow.from_row(row, computed, cols) for row in wh.rows(query)]
