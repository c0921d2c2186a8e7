"""One run cycle: every enabled check answered by one warehouse query, then findings.

If the combined query is rejected (say one feature's column was renamed), each check is
retried alone so that one broken check reports `error` and the others still run. If the
warehouse itself is unreachable, every check reports `error`: never a silent green.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import checks.prediction_volume as volume
from alerts.lifecycle import RunScope
from checks.base import Check, CheckResult
from checks.durations import parse_duration
from checks.query.columns import DUPLICATES, TOTAL
from checks.query.dimensions import by_date
from checks.query.sql import Query
from checks.registry import CHECKS
from monitor.clock import now_utc
from monitor.config import Config
from monitor.persistence.history import History
from monitor.pipeline.attribution import attribute
from monitor.pipeline.cost import over_budget
from monitor.pipeline.plan import (
    build_checks,
    check_query,
    cycle_queries,
    summary_query,
    tables_of,
)
from monitor.pipeline.window import DateWindow
from monitor.warehouse import (
    QueryError,
    Warehouse,
    WarehouseError,
    open_for_reading,
    open_for_writing,
)


@dataclass
class RunReport:
    window: DateWindow
    results: list[CheckResult] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)  # the checks this run ran
    duration_s: float = 0.0
    queries: int = 0
    # Side work that failed without failing the checks (history, attribution): printed.
    problems: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        statuses = {r.status for r in self.results}
        return "error" if "error" in statuses else "alert" if "alert" in statuses else "ok"

    def scope(self, *, configured_window: bool, scheduled: bool) -> RunScope:
        """What this run looked at, for the lifecycle: its checks and window, and whether
        the window is the configured one and the run stands for the schedule (the caller
        knows: the command line's flags, a daemon cycle)."""
        return RunScope(
            checks=frozenset(self.checks),
            window=(self.window.start, self.window.end),
            configured_window=configured_window,
            scheduled=scheduled,
        )


def _rows_by_date(wh: Warehouse, query: Query) -> dict[dt.date, dict[str, Any]]:
    """One row per date, with its per-dimension rows folded in (when configured)."""
    return by_date(wh.rows(query))


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
            results = check.results(row, day)
            duplicates = int(row.get(DUPLICATES) or 0)
            if duplicates:  # counted once in every figure; said, so the writer gets fixed
                for r in results:
                    r.details["duplicate_prediction_rows"] = duplicates
            out += results
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
    opener: Callable[[Config], Warehouse] = open_for_reading,
    now: dt.datetime | None = None,
    record: bool = True,
) -> RunReport:
    """Record the store's new versions (if `history` is on and `record`: not for
    `--dry-run`), then open the warehouse for this cycle only, run the checks, release it."""
    now = now or now_utc()
    checks = build_checks(config, only)
    recording = record and config.history is not None
    problems = record_history(config, window, now) if recording else []
    try:
        wh = opener(config)
    except WarehouseError as e:
        return RunReport(
            window=window,
            results=with_config_keys(config, [error_result(c, str(e)) for c in checks]),
            checks=[c.name for c in checks],
            problems=problems,
        )
    with wh:
        report = run_checks(config, wh, window, checks, now)
    report.problems[:0] = problems
    report.results = with_config_keys(config, report.results)
    return report


def with_config_keys(config: Config, results: list[CheckResult]) -> list[CheckResult]:
    """Each "cannot run" result with `details.config_keys`: the keys its error is about
    (monitor/config/keys.py), which its alert names with `featmon validate`."""
    from monitor.config.keys import config_keys

    return [
        replace(r, details={**r.details, "config_keys": config_keys(config, r.check, r.message)})
        if r.status == "error"
        else r
        for r in results
    ]


def record_history(config: Config, window: DateWindow, now: dt.datetime) -> list[str]:
    """New store versions for the window (monitor/persistence/history.py), then, with
    `actions.invalidation`, their announcement (monitor/invalidation/announce.py); problems,
    never raised: a failed recording must not stop the checks (which report an unreachable
    warehouse)."""
    assert config.history is not None
    audit = config.history.audit_log
    problems: list[str] = []
    try:
        with open_for_writing(config) as wh:
            history = History(wh, config.state.dataset, tables_of(config), config.history)
            history.ensure()
            history.record(window.start, window.end, now)
            if audit is not None:
                try:
                    from monitor.persistence.audit_log import fetch_writes

                    since = now - parse_duration(audit.lookback)
                    store = tables_of(config).store.table
                    writes = fetch_writes(audit.project, store, since, audit.endpoint)
                except Exception as e:  # Cloud Logging down or forbidden: the rest stands
                    problems.append(f"audit-log writes not read: {type(e).__name__}: {e}")
                else:
                    history.record_external(writes, now)
            if config.actions.invalidation is not None:
                problems += _announce(config, wh, now)
    except Exception as e:  # reported on stderr and in the run log
        return [*problems, f"store history not recorded: {type(e).__name__}: {e}"]
    return problems


def _announce(config: Config, wh: Warehouse, now: dt.datetime) -> list[str]:
    """The invalidation signal for what was just recorded; its problems, never raised."""
    from monitor.invalidation.announce import announce

    try:
        announced = announce(config, wh, now)
    except Exception as e:
        return [f"store versions not announced: {type(e).__name__}: {e}"]
    return [f"store version not announced (kept pending): {p}" for p in announced.problems]


def run_checks(
    config: Config,
    wh: Warehouse,
    window: DateWindow,
    checks: Sequence[Check],
    now: dt.datetime | None = None,
) -> RunReport:
    started = time.perf_counter()
    report = RunReport(window=window, checks=[c.name for c in checks])
    now = now or now_utc()
    refusal = over_budget(config, wh, *cycle_queries(config, checks, window, now))
    if refusal:
        report.results = [error_result(c, refusal) for c in checks]
        return report
    store_checks = [c for c in checks if c.scope == "store"]
    volume_checks = [c for c in checks if c.scope == "volume"]
    join_checks = [c for c in checks if c.scope == "join"]
    summary: dict[dt.date, dict[str, Any]] | WarehouseError = {}
    if store_checks or volume_checks:  # first: the job order BigQuery's tests see
        summary = _store_summary(config, wh, window, now, report)
        report.results += _store_results(window, store_checks, summary)
    if join_checks or volume_checks:
        totals = _join_results(
            config, wh, window, join_checks, report, need_totals=bool(volume_checks)
        )
        if volume_checks:
            report.results += _volume_results(window, volume_checks, summary, totals)
    order = {name: i for i, name in enumerate(CHECKS)}
    report.results.sort(key=lambda r: (r.game_date or dt.date.min, order[r.check]))
    report.duration_s = time.perf_counter() - started
    return report


def _join_results(
    config: Config,
    wh: Warehouse,
    window: DateWindow,
    checks: Sequence[Check],
    report: RunReport,
    *,
    need_totals: bool = False,
) -> dict[dt.date, int] | WarehouseError:
    """The checks answered by the shared join: one query, then attribution if they alert.
    Returns the predictions per date (what prediction_volume reads), or why there are none;
    only when `need_totals` does a rejected combined query cost a totals-only one."""
    query = check_query(config, checks, window)
    totals: dict[dt.date, int] | WarehouseError
    try:
        report.queries += 1
        rows = _rows_by_date(wh, query)
        totals = {day: int(row[TOTAL] or 0) for day, row in rows.items()}
        for check in checks:
            report.results += _results_for(check, rows, window)
    except QueryError as combined:
        if len(checks) == 1:
            report.results.append(error_result(checks[0], str(combined)))
        elif checks:
            report.results += _isolate(config, wh, checks, window, report)
        alone = need_totals and bool(checks)
        totals = _totals_alone(config, wh, window, report) if alone else combined
    except WarehouseError as e:
        report.results += [error_result(c, str(e)) for c in checks]
        totals = e
    if config.history is not None and checks:
        attributed = attribute(config, wh, report.results, checks)
        report.results = attributed.results
        report.queries += attributed.queries
        report.problems += attributed.problems
    return totals


def _totals_alone(
    config: Config, wh: Warehouse, window: DateWindow, report: RunReport
) -> dict[dt.date, int] | WarehouseError:
    """The predictions per date by the join without any check's columns: when the combined
    query was rejected, so prediction_volume still runs."""
    try:
        report.queries += 1
        rows = _rows_by_date(wh, check_query(config, [], window))
    except WarehouseError as e:
        return e
    return {day: int(row[TOTAL] or 0) for day, row in rows.items()}


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


def _store_summary(
    config: Config, wh: Warehouse, window: DateWindow, now: dt.datetime, report: RunReport
) -> dict[dt.date, dict[str, Any]] | WarehouseError:
    """The per-date store summary (every window date, with or without predictions), each
    date's row complete: a date without store rows reads as 0 rows."""
    try:
        report.queries += 1
        rows = _rows_by_date(wh, summary_query(config, window, now))
    except WarehouseError as e:
        return e
    empty = {"store_rows": 0, "last_written_at": None, "checked_at": now}
    return {day: rows.get(day) or {**empty, "timezone": config.timezone} for day in window.dates()}


def _store_results(
    window: DateWindow,
    checks: Sequence[Check],
    summary: dict[dt.date, dict[str, Any]] | WarehouseError,
) -> list[CheckResult]:
    """Store-scoped checks, from the store summary."""
    if isinstance(summary, WarehouseError):
        return [error_result(c, str(summary)) for c in checks]
    out: list[CheckResult] = []
    for check in checks:
        try:
            for day in window.dates():
                out += check.results(summary[day], day)
        except Exception as e:
            out.append(error_result(check, f"internal error reading its results: {e!r}"))
    return out


def _volume_results(
    window: DateWindow,
    checks: Sequence[Check],
    summary: dict[dt.date, dict[str, Any]] | WarehouseError,
    totals: dict[dt.date, int] | WarehouseError,
) -> list[CheckResult]:
    """prediction_volume: each date's prediction count beside its store rows, and the
    earlier window dates' (the check picks its recent days among them)."""
    problem = summary if isinstance(summary, WarehouseError) else totals
    if isinstance(problem, WarehouseError):
        return [error_result(c, str(problem)) for c in checks]
    assert not isinstance(summary, WarehouseError) and not isinstance(totals, WarehouseError)
    out: list[CheckResult] = []
    for check in checks:
        try:
            earlier: list[tuple[dt.date, int, int]] = []
            for day in window.dates():
                row = {**summary[day], volume.PREDICTIONS: totals.get(day, 0)}
                out += check.results({**row, volume.EARLIER: list(earlier)}, day)
                earlier.append((day, row[volume.PREDICTIONS], int(row["store_rows"] or 0)))
        except Exception as e:
            out.append(error_result(check, f"internal error reading its results: {e!r}"))
    return out
