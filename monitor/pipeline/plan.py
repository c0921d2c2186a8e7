"""What a run asks the warehouse: the checks to run and the one query that answers them.

Shared by the run cycle, the cost guard and `featmon sql`, so all three see the same SQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from checks.base import Check
from checks.query.impact import COLUMNS as IMPACT_CHECKS
from checks.query.join import Tables, build_query
from checks.query.sql import Query
from checks.query.store_summary import store_summary_query
from checks.registry import CHECKS
from monitor.config import Config
from monitor.pipeline.window import DateWindow


def tables_of(config: Config) -> Tables:
    """The monitored tables with their names as the warehouse resolves them."""
    store, preds = config.feature_store, config.predictions
    wt = store.write_times
    if wt.table:
        wt = wt.model_copy(update={"table": config.table_path(wt.table)})
    grading = config.grading
    if grading is not None:
        grading = grading.model_copy(update={"table": config.table_path(grading.table)})
    return Tables(
        store=store.model_copy(update={"table": config.table_path(store.table), "write_times": wt}),
        predictions=preds.model_copy(update={"table": config.table_path(preds.table)}),
        grading=grading,
    )


def build_checks(config: Config, only: Sequence[str] | None = None) -> list[Check]:
    """The enabled checks (or exactly `only`, enabled or not), in registry order."""
    cols = tables_of(config).join_columns()
    if only:
        unknown = sorted(set(only) - set(CHECKS))
        if unknown:
            raise ValueError(f"unknown check(s): {', '.join(unknown)}; known: {', '.join(CHECKS)}")
        names = [n for n in CHECKS if n in only]
        return [CHECKS[n](config.settings_for(n), cols) for n in names]
    return [CHECKS[n](s, cols) for n, s in config.enabled_checks().items()]


def check_query(config: Config, checks: Sequence[Check], window: DateWindow) -> Query:
    return build_query(
        tables_of(config), checks, window.start, window.end, examples=config.max_examples
    )


def impact_checks(config: Config) -> list[Check]:
    """Every problem kind the config can evaluate, enabled or not (thresholds from config)."""
    cols = tables_of(config).join_columns()
    usable = []
    for name in IMPACT_CHECKS.values():
        check = CHECKS[name]
        if check.uses_quality and not config.predictions.quality:
            continue
        if check.uses_features and not (
            config.predictions.features and config.feature_store.feature_names_column
        ):
            continue
        usable.append(check(config.settings_for(name), cols))
    return usable


def impact_query(config: Config, window: DateWindow) -> tuple[Query, set[str]]:
    checks = impact_checks(config)
    query = build_query(
        tables_of(config), checks, window.start, window.end, examples=0, details=False
    )
    return query, {c.name for c in checks}


def summary_query(config: Config, window: DateWindow, now: dt.datetime) -> Query:
    """The per-date store summary that store checks (store_freshness) read."""
    return store_summary_query(tables_of(config), window.start, window.end, now, config.timezone)


def cycle_queries(
    config: Config, checks: Sequence[Check], window: DateWindow, now: dt.datetime
) -> list[Query]:
    """What a cycle sends for these checks: the shared join, and the store summary if a
    store check (or prediction_volume) is among them (the cost guard dry-runs both)."""
    out = []
    # prediction_volume reads the join's per-date totals and the store summary's rows.
    if any(c.scope in ("join", "volume") for c in checks):
        out.append(check_query(config, [c for c in checks if c.scope == "join"], window))
    if any(c.scope in ("store", "volume") for c in checks):
        out.append(summary_query(config, window, now))
    return out
