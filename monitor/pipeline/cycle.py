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

from alerts.lifecycle import RunScope
from checks.base import Check, CheckResult
from checks.durations import parse_duration
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
    checks = [c for c in checks if c.scope == "join"]
    if store_checks:
        report.results += _store_results(config, wh, window, store_checks, now, report)
    if checks:
        _join_results(config, wh, window, checks, report)
    order = {name: i for i, name in enumerate(CHECKS)}
    report.results.sort(key=lambda r: (r.game_date or dt.date.min, order[r.check]))
    report.duration_s = time.perf_counter() - started
    return report


def _join_results(
    config: Config, wh: Warehouse, window: DateWindow, checks: Sequence[Check], report: RunReport
) -> None:
    """The checks answered by the shared join: one query, then attribution if they alert."""
    query = check_query(config, checks, window)
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
    if config.history is not None:
        attributed = attribute(config, wh, report.results, checks)
        report.results = attributed.results
        report.queries += attributed.queries
        report.problems += attributed.problems


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


def _store_results(
    config: Config,
    wh: Warehouse,
    window: DateWindow,
    checks: Sequence[Check],
    now: dt.datetime,
    report: RunReport,
) -> list[CheckResult]:
    """Store-scoped checks, from one per-date store summary (every window date, with or
    without predictions)."""
    query = summary_query(config, window, now)
    try:
        report.queries += 1
        rows = _rows_by_date(wh, query)
    except WarehouseError as e:
        return [error_result(c, str(e)) for c in checks]
    empty = {"store_rows": 0, "last_written_at": None, "checked_at": now}
    out: list[CheckResult] = []
    for check in checks:
        try:
            for day in window.dates():
                row = rows.get(day) or {**empty, "timezone": config.timezone}
                out += check.results(row, day)
        except Exception as e:
            out.append(error_result(check, f"internal error reading its results: {e!r}"))
    return out
