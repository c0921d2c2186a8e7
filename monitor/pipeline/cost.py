"""The cost guard: dry runs before spending, and what a schedule of runs costs a month."""

from __future__ import annotations

from dataclasses import dataclass

from checks.query.sql import Query
from monitor.clock import now_utc
from monitor.config import Config
from monitor.pipeline.plan import build_checks, cycle_queries
from monitor.pipeline.window import DateWindow
from monitor.progress import Step
from monitor.warehouse import Warehouse, WarehouseError
from monitor.warehouse.base import EstimateUnsupported


class BudgetRefused(WarehouseError):
    """A dry run says the query would process more than budget.max_bytes_per_run."""


def over_budget(config: Config, wh: Warehouse, *queries: Query) -> str | None:
    """Why the run must not spend, or None. Dry-runs the run's queries first when a budget
    is set; the budget covers their sum."""
    limit = config.budget.max_bytes_per_run
    if limit is None:
        return None
    try:
        planned = sum(wh.bytes_processed(q) for q in queries)
    except EstimateUnsupported:
        return None  # the embedded warehouse costs nothing
    except WarehouseError as e:
        return str(e)
    if planned > limit:
        return (
            f"refused before spending: this run would process {format_bytes(planned)} "
            f"({planned:,} bytes), over budget.max_bytes_per_run={limit:,}. Narrow the window "
            "or raise the budget."
        )
    return None


@dataclass(frozen=True)
class Estimate:
    label: str
    bytes: int


def estimate(
    config: Config, wh: Warehouse, window: DateWindow, step: Step | None = None
) -> list[Estimate]:
    """Bytes per check (each alone) and for what a run sends: the one combined query, plus
    the store summary when a store check (store_freshness) is enabled. `step` hears each
    dry run (one round trip each)."""
    step = step or (lambda _: None)
    checks = build_checks(config)
    now = now_utc()
    out = []
    for c in checks:
        step(f"dry run of {c.name}")
        queries = cycle_queries(config, [c], window, now)
        out.append(Estimate(c.name, sum(wh.bytes_processed(q) for q in queries)))
    step("dry run of a whole run's queries")
    total = sum(wh.bytes_processed(q) for q in cycle_queries(config, checks, window, now))
    out.append(Estimate("total (a run's queries)", total))
    return out


def monthly_cost(config: Config, bytes_per_run: int) -> float:
    runs = config.budget.runs_per_day * 30
    return bytes_per_run * runs / 1024**4 * config.budget.usd_per_tib


def format_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} TiB"
