"""The shared prediction-to-store join, built once per cycle for every enabled check.

Each base table appears exactly once in the statement (BigQuery re-evaluates a CTE at
every reference, so a second reference would be a second billed scan), and both are
filtered on their partition column for the checked dates. Checks add columns and
aggregates on top; only one row per game date leaves the warehouse, carrying the
aggregates and a bounded number of example rows.

Columns the join exposes to check fragments:
  prediction_id, game_date, key_0.., made_at,
  store_present, written_at, store_quality,
  logged_quality, quality_unparseable,
  f<i>_logged, f<i>_unparseable, f<i>_store      (only when a check uses features)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from checks.base import Check, Fragment, JoinColumns
from checks.query.sql import Params, Query, ident, json_path_literal, table_ref
from checks.tables import FeatureStoreTable, GradingTable, Location, PredictionsTable

IMPACT_AFFECTED = "impact__affected"
HIT_PREFIX = "hit__"


@dataclass(frozen=True)
class Tables:
    store: FeatureStoreTable
    predictions: PredictionsTable
    grading: GradingTable | None = None

    def join_columns(self) -> JoinColumns:
        keys = self.predictions.keys
        return JoinColumns(
            key_names=tuple(keys),
            features=tuple(self.predictions.features),
            quality_locations=tuple(loc.describe() for loc in self.predictions.quality),
        )


def location_sql(loc: Location) -> tuple[str, str]:
    """SQL for (numeric value, "present but not a number") at one logged location.

    Every nested step is parsed with SAFE.PARSE_JSON, so a truncated JSON string yields
    NULL (and counts as unparseable) instead of failing the whole query.
    """
    if loc.column is not None:
        col = ident(loc.column)
        value = f"SAFE_CAST({col} AS FLOAT64)"
        return value, f"({col} IS NOT NULL AND {value} IS NULL)"
    assert loc.json_column is not None and loc.path
    doc = ident(loc.json_column)
    broken: list[str] = []
    for step in loc.path[:-1]:
        text = f"JSON_VALUE({doc}, {json_path_literal(step)})"
        doc = f"SAFE.PARSE_JSON({text})"
        broken.append(f"({text} IS NOT NULL AND {doc} IS NULL)")
    last = json_path_literal(loc.path[-1])
    value = f"SAFE_CAST(JSON_VALUE({doc}, {last}) AS FLOAT64)"
    broken.append(f"(JSON_QUERY({doc}, {last}) IS NOT NULL AND {value} IS NULL)")
    return value, "(" + " OR ".join(broken) + ")"


def _first_number(
    prefix: str, value_alias: str, locations: Sequence[Location]
) -> tuple[list[tuple[str, str]], str, str]:
    """Per-location columns (value and "malformed" flag), the first non-null value, and
    the "no number, and some location was malformed" flag (over `value_alias`).

    The first value is a COALESCE over the locations' own expressions rather than over
    the per-location columns: engines evaluate COALESCE lazily, so a row whose first
    location has the number never parses the others. The per-location columns are only
    computed when a check reads them (unused CTE columns are pruned).
    """
    columns: list[tuple[str, str]] = []
    values: list[str] = []
    bads: list[str] = []
    for i, loc in enumerate(locations):
        value, bad = location_sql(loc)
        columns += [(f"{prefix}_loc{i}", value), (f"{prefix}_loc{i}_bad", bad)]
        values.append(value)
        bads.append(f"{prefix}_loc{i}_bad")
    if not values:
        return columns, "CAST(NULL AS FLOAT64)", "FALSE"
    first = values[0] if len(values) == 1 else f"COALESCE({', '.join(values)})"
    return columns, first, f"({value_alias} IS NULL AND ({' OR '.join(bads)}))"


def store_feature_sql(store: FeatureStoreTable, params: Params, name: str) -> str:
    """The store value of one feature: `values[position of name in names]`.

    BigQuery has no ARRAY_POSITION. This form (walk 1..n, read both arrays by ORDINAL)
    is the one that is right on BigQuery, on DuckDB via sqlglot and on the BigQuery
    emulator: UNNEST ... WITH OFFSET is transpiled off by one for DuckDB, and indexing
    with a computed SAFE_ORDINAL(subquery) is misread by the emulator. SAFE_ORDINAL on
    the values: a row whose vector is shorter than its names gives NULL, not an error.
    """
    assert store.feature_names_column and store.feature_values_column
    names = ident(store.feature_names_column)
    values = ident(store.feature_values_column)
    p = params.string(f"feature_{name}", name)
    return (
        f"(SELECT CAST({values}[SAFE_ORDINAL(i)] AS FLOAT64) "
        f"FROM UNNEST(GENERATE_ARRAY(1, ARRAY_LENGTH({names}))) AS i "
        f"WHERE {names}[ORDINAL(i)] = {p} LIMIT 1)"
    )


def write_times_sql(
    store: FeatureStoreTable, params: Params, p_from: str, p_to: str
) -> tuple[list[str], str, str]:
    """(extra CTEs, JOIN clause for the store scan, written_at SQL) for the configured source.

    For `log_table` and `partitions` one write time per date counts for every entity of
    that date; the extra source is small and read once, filtered to the window too.
    """
    wt = store.write_times
    if wt.source == "row":
        return [], "", f"({store.written_at})"
    join = f"\n  LEFT JOIN writes ON {ident(store.date_column)} = writes.featmon_write_date"
    if wt.source == "log_table":
        assert wt.table
        where = f"{ident(wt.date_column)} BETWEEN {p_from} AND {p_to}"
        if wt.where:
            where += f" AND ({wt.where})"
        cte = (
            f"writes AS (\n  SELECT\n    {ident(wt.date_column)} AS featmon_write_date,\n"
            f"    MAX({ident(wt.time_column)}) AS featmon_written_at\n"
            f"  FROM {table_ref(wt.table)}\n  WHERE {where}\n  GROUP BY featmon_write_date\n)"
        )
        return [cte], join, "writes.featmon_written_at"
    # partitions: the store's own partition metadata (BigQuery only).
    *dataset, table = store.table.split(".")
    name = params.string("store_table_name", table)
    partition_date = "SAFE.PARSE_DATE('%Y%m%d', partition_id)"
    cte = (
        f"writes AS (\n  SELECT\n    {partition_date} AS featmon_write_date,\n"
        "    last_modified_time AS featmon_written_at\n"
        f"  FROM {table_ref('.'.join([*dataset, 'INFORMATION_SCHEMA', 'PARTITIONS']))}\n"
        f"  WHERE table_name = {name}\n"
        f"    AND {partition_date} BETWEEN {p_from} AND {p_to}\n)"
    )
    return [cte], join, "writes.featmon_written_at"


def _select(items: Sequence[tuple[str, str]], indent: str = "    ") -> str:
    return (",\n" + indent).join(f"{sql} AS {alias}" for alias, sql in items)


@dataclass
class PredictionRows:
    """The shared join as a chain of CTEs ending in `source`: one row per prediction with
    the join's columns and every given check's per-prediction columns."""

    params: Params
    ctes: list[str]
    source: str
    features: list[str]
    problem_flag: str  # "affected by any problem check" over `source`
    graded: bool
    fragments: list[tuple[Check, Fragment]]


def prediction_rows(
    tables: Tables,
    checks: Sequence[Check],
    date_from: dt.date,
    date_to: dt.date,
    *,
    params: Params | None = None,
    with_features: bool | None = None,
    with_grading: bool = False,
) -> PredictionRows:
    """The CTEs shared by the check query, attribution and the timeline."""
    store, preds = tables.store, tables.predictions
    params = params or Params()
    p_from = params.date("date_from", date_from)
    p_to = params.date("date_to", date_to)
    if with_features is None:
        with_features = any(c.uses_features for c in checks)
    features = list(preds.features) if with_features and preds.features else []
    graded = with_grading and tables.grading is not None

    # Store side: one row per key (the latest write wins if a writer left duplicates).
    write_ctes, write_join, written_at = write_times_sql(store, params, p_from, p_to)
    store_cols = [(f"key_{i}", ident(k)) for i, k in enumerate(store.keys)]
    store_cols.append(("written_at", written_at))
    store_cols.append(
        (
            "store_quality",
            f"CAST({ident(store.quality)} AS FLOAT64)"
            if store.quality
            else "CAST(NULL AS FLOAT64)",
        )
    )
    store_cols += [
        (f"f{i}_store", store_feature_sql(store, params, name)) for i, name in enumerate(features)
    ]
    store_cols.append(("present", "TRUE"))
    partition_keys = ", ".join(ident(k) for k in store.keys)

    # Prediction side: keys, made_at and every candidate location.
    pred_cols = [
        ("prediction_id", f"CAST({ident(preds.id_column)} AS STRING)"),
        ("game_date", ident(preds.date_column)),
    ]
    pred_cols += [(f"key_{i}", ident(k)) for i, k in enumerate(preds.keys)]
    pred_cols.append(("made_at", f"({preds.made_at})"))
    loc_cols, q_value, q_bad = _first_number("quality", "logged_quality", preds.quality)
    pred_cols += [*loc_cols, ("logged_quality", q_value)]
    logged = [("quality_unparseable", q_bad)]
    for i, name in enumerate(features):
        loc_cols, f_value, f_bad = _first_number(f"f{i}", f"f{i}_logged", preds.features[name])
        pred_cols += [*loc_cols, (f"f{i}_logged", f_value)]
        logged.append((f"f{i}_unparseable", f_bad))
    where = f"{ident(preds.date_column)} BETWEEN {p_from} AND {p_to}"
    if preds.where:
        where += f" AND ({preds.where})"

    key_join = " AND ".join(f"l.key_{i} = s.key_{i}" for i in range(len(preds.keys)))
    joined = [
        ("store_present", "COALESCE(s.present, FALSE)"),
        ("written_at", "s.written_at"),
        ("store_quality", "s.store_quality"),
    ] + [(f"f{i}_store", f"s.f{i}_store") for i in range(len(features))]

    grading_ctes: list[str] = []
    grading_join = ""
    if graded:
        assert tables.grading is not None
        g = tables.grading
        pred_cols += [(f"g_key_{i}", ident(k)) for i, k in enumerate(g.keys)]
        g_where = f"{ident(g.date_column)} BETWEEN {p_from} AND {p_to}"
        if g.where:
            g_where += f" AND ({g.where})"
        edge = (
            f"ABS(CAST({ident(g.predicted_column)} AS FLOAT64) - "
            f"CAST({ident(g.line_column)} AS FLOAT64)) >= {params.float('high_edge', g.high_edge)}"
        )
        g_cols = [(f"key_{i}", ident(k)) for i, k in enumerate(g.keys)]
        g_cols += [("correct", f"CAST({ident(g.correct_column)} AS BOOL)"), ("high_edge", edge)]
        grading_ctes.append(
            f"graded AS (\n  SELECT\n    {_select(g_cols)}\n"
            f"  FROM {table_ref(g.table)}\n  WHERE {g_where}\n"
            f"  QUALIFY ROW_NUMBER() OVER (PARTITION BY "
            f"{', '.join(ident(k) for k in g.keys)}) = 1\n)"
        )
        g_on = " AND ".join(f"l.g_key_{i} = g.key_{i}" for i in range(len(g.keys)))
        grading_join = f"\n  LEFT JOIN graded AS g ON {g_on}"
        joined += [("graded_correct", "g.correct"), ("graded_high_edge", "g.high_edge")]

    fragments = [c.fragment(params) for c in checks]
    flag_cols = [(alias, sql) for f in fragments for alias, sql in f.columns]
    ctes = [
        *write_ctes,
        *grading_ctes,
        f"store AS (\n  SELECT\n    {_select(store_cols)}\n"
        f"  FROM {table_ref(store.table)}{write_join}\n"
        f"  WHERE {ident(store.date_column)} BETWEEN {p_from} AND {p_to}\n"
        f"  QUALIFY ROW_NUMBER() OVER (PARTITION BY {partition_keys} "
        f"ORDER BY ({store.written_at}) DESC) = 1\n)",
        f"predictions AS (\n  SELECT\n    {_select(pred_cols)}\n"
        f"  FROM {table_ref(preds.table)}\n  WHERE {where}\n)",
        f"logged AS (\n  SELECT\n    *,\n    {_select(logged)}\n  FROM predictions\n)",
        f"joined AS (\n  SELECT\n    l.*,\n    {_select(joined)}\n"
        f"  FROM logged AS l\n  LEFT JOIN store AS s ON {key_join}{grading_join}\n)",
    ]
    source = "joined"
    if flag_cols:
        ctes.append(f"flagged AS (\n  SELECT\n    *,\n    {_select(flag_cols)}\n  FROM joined\n)")
        source = "flagged"
    problems = [c.col("flag") for c in checks if c.problem]
    return PredictionRows(
        params=params,
        ctes=ctes,
        source=source,
        features=features,
        problem_flag="(" + " OR ".join(problems) + ")" if problems else "FALSE",
        graded=graded,
        fragments=list(zip(checks, fragments, strict=True)),
    )


def _hit_aggregates(problem_flag: str) -> list[tuple[str, str]]:
    """Graded and correct counts, for affected and unaffected predictions, overall and
    high-edge: the hit-rate columns of the impact table and the hit_rate_drop check."""
    out = []
    for group, cond in (("affected", problem_flag), ("unaffected", f"NOT {problem_flag}")):
        for edge, edge_cond in (("", "TRUE"), ("_high_edge", "graded_high_edge")):
            graded = f"graded_correct IS NOT NULL AND {edge_cond} AND {cond}"
            out.append((f"{HIT_PREFIX}graded_{group}{edge}", f"COUNTIF({graded})"))
            out.append(
                (f"{HIT_PREFIX}correct_{group}{edge}", f"COUNTIF({graded} AND graded_correct)")
            )
    return out


def build_query(
    tables: Tables,
    checks: Sequence[Check],
    date_from: dt.date,
    date_to: dt.date,
    *,
    examples: int = 5,
    details: bool = True,
) -> Query:
    """One statement answering every given check (and the impact columns) per game date.

    `details=False` keeps only the per-check counts (what `featmon impact` needs), so a
    season-long query computes nothing it does not return. Hit-rate counts are added when
    `grading` is configured and the impact table or the hit_rate_drop check asks for them.
    """
    checks = [c for c in checks if c.scope == "join"]
    preds = tables.predictions
    with_grading = tables.grading is not None and (
        not details or any(c.uses_grading for c in checks)
    )
    rows = prediction_rows(tables, checks, date_from, date_to, with_grading=with_grading)
    params, fragments = rows.params, rows.fragments
    aggregates: list[tuple[str, str]] = [("total", "COUNT(*)")]
    for c, f in fragments:
        counted = [c.col("flag")]
        if details:
            counted += [r.flag for r in f.reported if r.flag not in counted]
            aggregates += f.aggregates
        aggregates += [(f"{flag}_count", f"COUNTIF({flag})") for flag in counted]
    if checks:
        aggregates.append((IMPACT_AFFECTED, f"COUNTIF({rows.problem_flag})"))
    if rows.graded:
        aggregates += _hit_aggregates(rows.problem_flag)

    rank_cols: list[tuple[str, str]] = []
    if examples > 0 and details:
        p_examples = params.int("max_examples", examples)
        key_fields = [
            (name, f"key_{i}") for i, name in enumerate(preds.keys) if name != preds.date_column
        ]
        base_fields = [
            ("prediction_id", "prediction_id"),
            *key_fields,
            ("made_at", "made_at"),
            ("written_at", "written_at"),
            ("logged_quality", "logged_quality"),
            ("store_quality", "store_quality"),
        ]
        for r in (r for _, f in fragments for r in f.reported):
            flag = r.flag
            rank_cols.append(
                (
                    f"{flag}_rank",
                    f"ROW_NUMBER() OVER (PARTITION BY game_date, "
                    f"{flag} ORDER BY {r.order}, prediction_id)",
                )
            )
            struct = ", ".join(f"{sql} AS {name}" for name, sql in base_fields + r.extra)
            aggregates.append(
                (
                    f"{flag}_examples",
                    f"ARRAY_AGG(IF({flag} AND {flag}_rank <= {p_examples}, "
                    f"STRUCT({struct}), NULL) IGNORE NULLS ORDER BY {flag}_rank)",
                )
            )

    ctes = list(rows.ctes)
    source = rows.source
    if rank_cols:
        ctes.append(f"ranked AS (\n  SELECT\n    *,\n    {_select(rank_cols)}\n  FROM {source}\n)")
        source = "ranked"
    sql = (
        "WITH\n" + ",\n".join(ctes) + "\n"
        f"SELECT\n  game_date,\n  {_select(aggregates, '  ')}\n"
        f"FROM {source}\nGROUP BY game_date\nORDER BY game_date"
    )
    names = ", ".join(c.name for c in checks) or "impact"
    if not details:
        label = "impact"
    elif len(checks) == 1:
        label = checks[0].name
    else:
        label = "all_checks"
    return Query(sql=sql, params=params.freeze(), description=f"featmon: {names}", label=label)
