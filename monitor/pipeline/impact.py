"""The impact table (`featmon impact`, the demo, graded outcomes of resolutions): one
query answering every problem kind per game date, behind the cost guard."""

from __future__ import annotations

from checks.query.impact import ImpactRow
from monitor.config import Config
from monitor.pipeline.cost import BudgetRefused, over_budget
from monitor.pipeline.plan import impact_query
from monitor.pipeline.window import DateWindow
from monitor.warehouse import Warehouse


def run_impact(config: Config, wh: Warehouse, window: DateWindow) -> list[ImpactRow]:
    query, computed = impact_query(config, window)
    refusal = over_budget(config, wh, query)
    if refusal:
        raise BudgetRefused(refusal)
    return [ImpactRow.from_row(row, computed) for row in wh.rows(query)]
