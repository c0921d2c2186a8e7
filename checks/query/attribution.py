"""Which recorded feature-store version each prediction was built from.

The store keeps no history, so featmon records one (monitor/persistence/history.py: a fingerprint
per entity and write). A prediction matches a recorded version of its own entity when
the quality it logged is within the quality tolerance and every named feature it logged
is within the feature tolerance, and the version was written before the prediction was
made. Of the matching versions the latest wins (a later rewrite that reverts to the same
values must not claim predictions made before it).

Predictions are grouped into batches (made-at clusters: a gap longer than `batch_gap`
starts a new batch) and, within a batch, by the version they matched, so a date's
answer is a few rows: "102 predictions made 23:12:42 used the version written 18:05".
Everything runs in the warehouse; only those rows come back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from checks.base import Check
from checks.quality_mismatch import EPSILON
from checks.query.join import Tables, prediction_rows
from checks.query.sql import Params, Query, ident, json_path_literal, renamed, table_ref

# The checks whose flagged predictions are attributed.
ATTRIBUTED = ("stale_predictions", "quality_mismatch", "feature_mismatch")

Mode = Literal["flagged", "all", "prediction"]


@dataclass(frozen=True)
class Tolerances:
    quality: float = 0.5
    feature_abs: float = 0.05
    feature_rel: float = 0.0


def entity_sql(tables: Tables, prefix: str = "") -> str:
    """The entity's keys other than the game date, as one comparable string, over rows
    whose keys are named like the join's (`JoinColumns.key`). Both sides (store rows
    recorded earlier, predictions now) are computed by the same engine."""
    store, cols = tables.store, tables.join_columns()
    parts = [
        f"CAST({prefix}{cols.key(i)} AS STRING)"
        for i, name in enumerate(store.keys)
        if name != store.date_column
    ]
    return f"TO_JSON_STRING([{', '.join(parts)}])"


# Where the recorded versions are read from: featmon's fingerprints table, or SQL (rendered
# into the query's parameters) yielding the same columns, such as the store's current rows
# when featmon recorded nothing for the date.
Fingerprints = str | Callable[[Params], str]


def attribution_query(
    tables: Tables,
    fingerprints: Fingerprints,
    checks: Sequence[Check],
    date_from: dt.date,
    date_to: dt.date,
    *,
    mode: Mode,
    tolerances: Tolerances,
    batch_gap: dt.timedelta,
    prediction_id: str | None = None,
) -> Query:
    """`flagged`: batches of the predictions the given checks flag; `all`: batches of every
    prediction (the timeline); `prediction`: every recorded version of one prediction's
    entity, each with whether it matches and whether it is the one attributed."""
    params = Params()
    rows = prediction_rows(
        tables,
        checks if mode == "flagged" else [],
        date_from,
        date_to,
        params=params,
        with_features=True,
    )
    p_from, p_to = params.date("date_from", date_from), params.date("date_to", date_to)
    cols, features = rows.cols, rows.features
    if mode == "flagged":
        target = " OR ".join(c.flag_column for c in checks) or "FALSE"
    elif mode == "prediction":
        assert prediction_id is not None
        target = f"{cols.prediction_id} = {params.string('prediction_id', prediction_id)}"
    else:
        target = "TRUE"
    # `targets` is where this query reads the join: its columns under the names this query
    # returns (what monitor/reports/attribution.py reads); the logged feature values, used
    # only inside, keep the join's names.
    from_join = [
        (cols.prediction_id, "prediction_id"),
        (cols.game_date, "game_date"),
        (cols.made_at, "made_at"),
        (cols.logged_quality, "logged_quality"),
        (cols.store_quality, "store_quality"),
    ]
    target_cols = ", ".join(
        [renamed(column, name) for column, name in from_join] + [f.logged for f in features]
    )
    q_tol = params.float("attribution_quality_tolerance", tolerances.quality)
    f_abs = params.float("attribution_feature_abs_tolerance", tolerances.feature_abs)
    f_rel = params.float("attribution_feature_rel_tolerance", tolerances.feature_rel)
    recorded = [
        (
            f"v{i}",
            f"SAFE_CAST(JSON_VALUE(named_values, {json_path_literal('$.' + f.name)}) AS FLOAT64)",
        )
        for i, f in enumerate(features)
    ]
    anything_logged = " OR ".join(
        ["t.logged_quality IS NOT NULL"] + [f"t.{f.logged} IS NOT NULL" for f in features]
    )
    conditions = [
        "fp.written_at <= t.made_at",
        f"({anything_logged})",
        f"(t.logged_quality IS NULL OR fp.quality IS NULL OR "
        f"ABS(fp.quality - t.logged_quality) <= {q_tol} + {EPSILON})",
    ] + [
        f"(t.{f.logged} IS NULL OR fp.v{i} IS NULL OR "
        f"ABS(t.{f.logged} - fp.v{i}) <= {f_abs} + {f_rel} * ABS(fp.v{i}) + {EPSILON})"
        for i, f in enumerate(features)
    ]
    by_entity = "PARTITION BY game_date, entity ORDER BY written_at"
    if callable(fingerprints):
        source = f"({fingerprints(params)}) AS recorded"
    else:
        source = table_ref(fingerprints)
    fp_cols = ", ".join(f"{sql} AS {alias}" for alias, sql in recorded)
    ctes = [
        *rows.ctes,
        f"targets AS (\n  SELECT {target_cols}, {entity_sql(tables)} AS entity\n"
        f"  FROM {rows.source}\n  WHERE {target}\n)",
        f"fp AS (\n  SELECT game_date, entity, written_at, quality, named_values"
        f"{', ' + fp_cols if fp_cols else ''},\n"
        f"    LEAD(written_at) OVER ({by_entity}) AS superseded_at,\n"
        f"    LEAD(quality) OVER ({by_entity}) AS superseded_by_quality\n"
        f"  FROM {source}\n  WHERE game_date BETWEEN {p_from} AND {p_to}\n)",
        "candidates AS (\n  SELECT t.prediction_id, fp.written_at, fp.quality, fp.named_values,"
        " fp.superseded_at, fp.superseded_by_quality,\n"
        f"    ({' AND '.join(conditions)}) AS matched\n"
        "  FROM targets AS t\n"
        "  JOIN fp ON fp.game_date = t.game_date AND fp.entity = t.entity\n)",
        "best AS (\n  SELECT * FROM candidates WHERE matched\n"
        "  QUALIFY ROW_NUMBER() OVER (PARTITION BY prediction_id ORDER BY written_at DESC) = 1\n)",
    ]
    if mode == "prediction":
        named = ", ".join(f"t.{f.logged} AS {ident(f.name)}" for f in features)
        logged_values = f"TO_JSON_STRING(STRUCT({named}))" if named else "CAST(NULL AS STRING)"
        sql = (
            "WITH\n" + ",\n".join(ctes) + "\n"
            "SELECT c.written_at, c.quality, c.named_values, c.superseded_at, c.matched,\n"
            "  c.written_at = b.written_at AS attributed, t.made_at, t.logged_quality,"
            f" t.store_quality, t.game_date, {logged_values} AS logged_values\n"
            "FROM targets AS t\n"
            "LEFT JOIN candidates AS c ON c.prediction_id = t.prediction_id\n"
            "LEFT JOIN best AS b ON b.prediction_id = t.prediction_id\n"
            "ORDER BY c.written_at"
        )
        return Query(
            sql=sql, params=params.freeze(), description="featmon: explain", label="explain"
        )
    gap = params.int("batch_gap_us", int(batch_gap / dt.timedelta(microseconds=1)))
    order = "PARTITION BY game_date ORDER BY made_at, prediction_id"
    ctes += [
        "per AS (\n  SELECT t.prediction_id, t.game_date, t.made_at, t.logged_quality, "
        "t.store_quality,\n    b.written_at AS version_written_at, b.quality AS version_quality,"
        " b.superseded_at, b.superseded_by_quality\n"
        "  FROM targets AS t LEFT JOIN best AS b ON b.prediction_id = t.prediction_id\n)",
        f"gaps AS (\n  SELECT *,\n    IF(LAG(made_at) OVER ({order}) IS NULL OR "
        f"UNIX_MICROS(made_at) - UNIX_MICROS(LAG(made_at) OVER ({order})) > {gap}, 1, 0)"
        " AS new_batch\n  FROM per\n)",
        f"batched AS (\n  SELECT *,\n    SUM(new_batch) OVER ({order} ROWS BETWEEN UNBOUNDED "
        "PRECEDING AND CURRENT ROW) AS batch\n  FROM gaps\n)",
    ]
    sql = (
        "WITH\n" + ",\n".join(ctes) + "\n"
        "SELECT game_date, batch, version_written_at,\n"
        "  COUNT(*) AS count, MIN(made_at) AS made_at_min, MAX(made_at) AS made_at_max,\n"
        "  AVG(version_quality) AS version_quality, MIN(superseded_at) AS superseded_at,\n"
        "  AVG(superseded_by_quality) AS superseded_by_quality,\n"
        "  AVG(store_quality) AS current_quality, AVG(logged_quality) AS logged_quality\n"
        "FROM batched\nGROUP BY game_date, batch, version_written_at\n"
        "ORDER BY game_date, made_at_min, count DESC"
    )
    return Query(
        sql=sql,
        params=params.freeze(),
        description=f"featmon: attribution ({mode})",
        label="attribution",
    )
