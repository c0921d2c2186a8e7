"""One run cycle: every enabled check answered by one warehouse query, then findings.

If the combined query is rejected (say one feature's column was renamed), each check is
retried alone so that one broken check reports `error` and the others still run. If the
warehouse itself is unreachable, every check reports `error`: never a silent green.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from checks.base import Check, CheckResult
from checks.impact import ImpactRow
from checks.registry import CHECKS
from checks.sql import Query
from monitor.config import Config
from monitor.cost import BudgetRefused, over_budget
from monitor.plan import build_checks, check_query, impact_query
from monitor.warehouse import QueryError, Warehouse, WarehouseError, open_warehouse
from monitor.window import DateWindow


@dataclass
class RunReport:
    window: DateWindow
    results: list[CheckResult] = field(default_factory=list)
    duration_s: float = 0.0
    queries: int = 0

    @property
    def status(self) -> str:
        statuses = {r.status for r in self.results}
        return "error" if "error" in statuses else "alert" if "alert" in statuses else "ok"


def _rows_by_date(wh: Warehouse, query: Query) -> dict[dt.date, dict[str, Any]]:
    return {row["game_date"]: row for row in wh.rows(query)}


def _results_for(
    check: Check, rows: dict[dt.date, dict[str, Any]], window: DateWindow
) -> list[CheckResult]:
    try:
        return _results_by_date(check, rows, window)
    except Exception as e:  # a bug in one check must not hide the others' findings
        return [error_result(check, f"internal error reading its results: {e!r}")]


def _results_by_date(
    check: Check, rows: dict[dt.date, dict[str, Any]], window: DateWindow
) -> list[CheckResult]:
    out: list[CheckResult] = []
    for day in window.dates():
        row = rows.get(day)
        if row is None:
            out += [
                CheckResult(
                    check=check.name,
                    game_date=day,
                    status="ok",
                    severity=check.settings.severity,
                    feature=feature,
                    message="no predictions for this date",
                )
                for feature in (list(check.cols.features) if check.uses_features else [None])
            ]
        else:
            out += check.results(row, day)
    return out


def error_result(check: Check, message: str) -> CheckResult:
    return CheckResult(
        check=check.name,
        game_date=None,
        status="error",
        severity=check.settings.severity,
        message=f"featmon cannot run check {check.name}: {message}",
    )


def run_cycle(
    config: Config,
    window: DateWindow,
    only: Sequence[str] | None = None,
    opener: Callable[[Config], Warehouse] = open_warehouse,
) -> RunReport:
    """Open the warehouse for this cycle only, run the checks, release it."""
    checks = build_checks(config, only)
    try:
        wh = opener(config)
    except WarehouseError as e:
        return RunReport(window=window, results=[error_result(c, str(e)) for c in checks])
    with wh:
        return run_checks(config, wh, window, checks)


def run_checks(
    config: Config, wh: Warehouse, window: DateWindow, checks: Sequence[Check]
) -> RunReport:
    started = time.perf_counter()
    report = RunReport(window=window)
    if not checks:
        return report
    query = check_query(config, checks, window)
    refusal = over_budget(config, wh, query)
    if refusal:
        report.results = [error_result(c, refusal) for c in checks]
        return report
    try:
        report.queries += 1
        rows = _rows_by_date(wh, query)
        for check in checks:
            report.results += _results_for(check, rows, window)
    except QueryError as combined:
        if len(checks) == 1:
            report.results.append(error_result(checks[0], str(combined)))
        else:
            report.results += _isolate(config, wh, checks, window, report)
    except WarehouseError as e:
        report.results += [error_result(c, str(e)) for c in checks]
    order = {name: i for i, name in enumerate(CHECKS)}
    report.results.sort(key=lambda r: (r.game_date or dt.date.min, order[r.check]))
    report.duration_s = time.perf_counter() - started
    return report


def _isolate(
    config: Config, wh: Warehouse, checks: Iterable[Check], window: DateWindow, report: RunReport
) -> list[CheckResult]:
    out: list[CheckResult] = []
    for check in checks:
        try:
            report.queries += 1
            out += _results_for(
                check, _rows_by_date(wh, check_query(config, [check], window)), window
            )
        except WarehouseError as e:
            out.append(error_result(check, str(e)))
    return out


def run_impact(config: Config, wh: Warehouse, window: DateWindow) -> list[ImpactRow]:
    query, computed = impact_query(config, window)
    refusal = over_budget(config, wh, query)
    if refusal:
        raise BudgetRefused(refusal)
    return [ImpactRow.from_row(row, computed) for row in wh.rows(query)]
