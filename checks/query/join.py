"""The shared prediction-to-store join, built once per cycle for every enabled check.

Each base table appears exactly once in the statement (BigQuery re-evaluates a CTE at
every reference, so a second reference would be a second billed scan), and both are
filtered on their partition column for the checked dates. Checks add columns and
aggregates on top; only one row per game date leaves the warehouse, carrying the
aggregates and a bounded number of example rows.

The columns the join exposes to check fragments, and the names of the aggregate row,
are named in checks/query/columns.py (`JoinColumns`, `flag_count`, ...): every alias
below is built from those accessors, the same ones the readers use.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from checks.base import Check, Fragment
from checks.query.columns import (
    DATE_TOTAL,
    DUPLICATES,
    GAME_DATE,
    HIT_GROUPS,
    IMPACT_AFFECTED,
    TOTAL,
    FeatureColumns,
    JoinColumns,
    Logged,
    flag_count,
    flag_examples,
    hit_count,
)
from checks.query.sql import Params, Query, ident, json_path_literal, renamed, table_ref
from checks.tables import FeatureStoreTable, GradingTable, Location, PredictionsTable

# Names private to the statement (never read outside this module).
_PRESENT = "present"  # store side: TRUE on every store row, NULL after the LEFT JOIN
# The grading side's columns, before the join renames them.
_CORRECT, _HIGH_EDGE, _LINE, _PREDICTED = "correct", "high_edge", "line", "predicted"


def _grading_key(i: int) -> str:
    """The prediction's i-th grading key (the grading table's keys differ from the store's)."""
    return f"g_key_{i}"


def _first(flag: str) -> str:
    """Whether the prediction is the first `flag` marks for its `Reported.one_per` value."""
    return f"{flag}_first"


def _per_value(flag: str) -> str:
    """How many predictions `flag` marks share this one's `Reported.one_per` value."""
    return f"{flag}_per_value"


def _rank(flag: str) -> str:
    """The prediction's rank among those `flag` marks on its date (worst first)."""
    return f"{flag}_rank"


@dataclass(frozen=True)
class Tables:
    store: FeatureStoreTable
    predictions: PredictionsTable
    grading: GradingTable | None = None

    def join_columns(self) -> JoinColumns:
        preds = self.predictions
        return JoinColumns(
            key_names=tuple(preds.keys),
            date_column=preds.date_column,
            quality_locations=tuple(loc.describe() for loc in preds.quality),
            feature_locations=tuple(
                (name, tuple(loc.describe() for loc in locations))
                for name, locations in preds.features.items()
            ),
            dimension_names=tuple(preds.dimensions),
        )


def non_finite(value: str) -> str:
    """`value` (a FLOAT64) is infinite or NaN. Such a number is never compared: with an inf
    store value the tolerance `abs + rel * inf` is NaN and every comparison is false, so a
    broken row would read as "0 affected"."""
    return f"(IS_NAN({value}) OR IS_INF({value}))"


def finite(value: str) -> str:
    """`value`, or NULL when it is not a finite number."""
    return f"IF({non_finite(value)}, NULL, {value})"


def location_sql(
    loc: Location, params: Params, text_columns: Collection[str] = ()
) -> tuple[str, str]:
    """SQL for (numeric value, "present but not a number") at one logged location.

    Only finite numbers are values: a logged inf or NaN (or the strings "NaN" and
    "Infinity", which casts read as numbers) is present but unusable, like "n/a".

    Every nested step is parsed with SAFE.PARSE_JSON, so a truncated JSON string yields
    NULL (and counts as unparseable) instead of failing the whole query. A column in
    `text_columns` (JSON kept in a STRING column) is parsed the same way, so a row that
    is not JSON (`hello world`) is counted, not an error failing every check. A JSON
    `null` is "not logged", like a missing key (`_not_json_null`); a string such as "n/a"
    is present, and unparseable.
    """
    if loc.column is not None:
        col = ident(loc.column)
        value = finite(f"SAFE_CAST({col} AS FLOAT64)")
        return value, f"({col} IS NOT NULL AND {value} IS NULL)"
    assert loc.json_column is not None and loc.path
    doc = ident(loc.json_column)
    broken: list[str] = []
    parsed = loc.json_column in text_columns
    if parsed:
        column, doc = doc, f"SAFE.PARSE_JSON({doc})"
        broken.append(f"({column} IS NOT NULL AND {doc} IS NULL)")
    for step in loc.path[:-1]:
        text = f"JSON_VALUE({doc}, {json_path_literal(step)})"
        doc = f"SAFE.PARSE_JSON({text})"
        broken.append(f"({text} IS NOT NULL AND {doc} IS NULL)")
        parsed = True
    last = json_path_literal(loc.path[-1])
    value = finite(f"SAFE_CAST(JSON_VALUE({doc}, {last}) AS FLOAT64)")
    found = f"JSON_QUERY({doc}, {last})"
    not_null = _not_json_null(found, params, parsed=parsed)
    broken.append(f"({found} IS NOT NULL AND {not_null} AND {value} IS NULL)")
    return value, "(" + " OR ".join(broken) + ")"


def _not_json_null(found: str, params: Params, *, parsed: bool) -> str:
    """`found` (a JSON_QUERY result) is not a JSON `null`: the worker logs one for a
    player without a prop line, and it means "not logged", not "malformed".

    On a JSON document JSON_QUERY returns a JSON null, not SQL NULL (on BigQuery, DuckDB
    and the emulator), so it is told apart by its text, compared with a parameter like
    every value. Which text depends on what is known of the document's type:
    - a column (`parsed` False) may be JSON or STRING: TO_JSON_STRING writes `null` for a
      JSON null, and on a STRING column BigQuery's JSON_QUERY already gives SQL NULL for
      it (JSON_TYPE would reject a STRING column);
    - a nested step's document is SAFE.PARSE_JSON's, JSON by construction: JSON_TYPE,
      lower-cased (DuckDB answers `NULL`). The emulator casts JSON_QUERY over a parsed
      document to a string, which TO_JSON_STRING would quote, but JSON_TYPE parses back.
    """
    json_null = params.string("json_null", "null")
    text = f"LOWER(JSON_TYPE({found}))" if parsed else f"TO_JSON_STRING({found})"
    return f"{text} <> {json_null}"


@dataclass(frozen=True)
class FirstNumber:
    """A logged number's SQL, from its candidate locations (see `_first_number`)."""

    columns: list[tuple[str, str]]  # per location: its number, and its "malformed" flag
    store_side: str  # the first number among the store-side locations
    live: str | None  # the first number among the live locations (None: none is live)
    # Some location held something that is not a number (over `columns`; None: no location).
    malformed: str | None


def _coalesce(values: Sequence[str]) -> str:
    """The first non-null of `values`, lazily: engines evaluate COALESCE argument by
    argument, so a row answered by its first location never parses the others."""
    if not values:
        return "CAST(NULL AS FLOAT64)"
    return values[0] if len(values) == 1 else f"COALESCE({', '.join(values)})"


def _first_number(
    logged: Logged,
    locations: Sequence[Location],
    params: Params,
    text_columns: Collection[str] = (),
) -> FirstNumber:
    """Per-location columns (value and "malformed" flag), and the first number among the
    store-side and among the live locations.

    The first values are COALESCEs over the locations' own expressions rather than over
    the per-location columns, so they stay lazy. The per-location columns are only
    computed when a check reads them (unused CTE columns are pruned). Store-side
    locations come before live ones (checked at config load), so "the first location
    holding a number" is the store-side COALESCE, then the live one.
    """
    columns: list[tuple[str, str]] = []
    store_side: list[str] = []
    live: list[str] = []
    bads: list[str] = []
    for i, loc in enumerate(locations):
        value, bad = location_sql(loc, params, text_columns)
        columns += [(logged.location(i), value), (logged.location_bad(i), bad)]
        (live if loc.live else store_side).append(value)
        bads.append(logged.location_bad(i))
    return FirstNumber(
        columns=columns,
        store_side=_coalesce(store_side),
        live=_coalesce(live) if live else None,
        malformed=f"({' OR '.join(bads)})" if bads else None,
    )


def _unparseable(logged: str, malformed: str | None, live_value: str | None = None) -> str:
    """No location yielded a number, and some location held something that is not one."""
    if malformed is None:
        return "FALSE"
    if live_value is None:
        return f"({logged} IS NULL AND {malformed})"
    return f"({logged} IS NULL AND {live_value} IS NULL AND {malformed})"


def _feature_sql(
    f: FeatureColumns,
    locations: Sequence[Location],
    params: Params,
    text_columns: Collection[str] = (),
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """One feature's columns: (on `predictions`: the locations, the store-side number and
    the live one; on `logged`: unparseable, and "read from a live location").

    A feature without live locations still writes `live_value` and `live` (NULL and
    FALSE), so every fragment reads the same columns whatever the config.
    """
    first = _first_number(f, locations, params, text_columns)
    live_value = first.live or "CAST(NULL AS FLOAT64)"
    predicted = [*first.columns, (f.logged, first.store_side), (f.live_value, live_value)]
    if first.live is None:
        return predicted, [
            (f.unparseable, _unparseable(f.logged, first.malformed)),
            (f.live, "FALSE"),
        ]
    return predicted, [
        (f.unparseable, _unparseable(f.logged, first.malformed, f.live_value)),
        (f.live, f"({f.logged} IS NULL AND {f.live_value} IS NOT NULL)"),
    ]


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
    cols: JoinColumns
    features: list[FeatureColumns]  # the features this statement computes (maybe none)
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
    cols = tables.join_columns()
    params = params or Params()
    p_from = params.date("date_from", date_from)
    p_to = params.date("date_to", date_to)
    if with_features is None:
        with_features = any(c.uses_features for c in checks)
    features = cols.feature_columns if with_features else []
    graded = with_grading and tables.grading is not None

    # Store side: one row per key (the latest write wins if a writer left duplicates).
    write_ctes, write_join, written_at = write_times_sql(store, params, p_from, p_to)
    store_cols = [(cols.key(i), ident(k)) for i, k in enumerate(store.keys)]
    store_cols.append((cols.written_at, written_at))
    store_cols.append(
        (
            cols.store_quality,
            f"CAST({ident(store.quality)} AS FLOAT64)"
            if store.quality
            else "CAST(NULL AS FLOAT64)",
        )
    )
    store_cols += [(f.store, store_feature_sql(store, params, f.name)) for f in features]
    store_cols.append((_PRESENT, "TRUE"))
    partition_keys = ", ".join(ident(k) for k in store.keys)

    # Prediction side: keys, made_at and every candidate location.
    pred_id = ident(preds.id_column)
    pred_cols = [
        (cols.prediction_id, f"CAST({pred_id} AS STRING)"),
        (cols.prediction_copies, f"COUNT(*) OVER (PARTITION BY {pred_id})"),
        (cols.game_date, ident(preds.date_column)),
    ]
    pred_cols += [(cols.key(i), ident(k)) for i, k in enumerate(preds.keys)]
    pred_cols.append((cols.made_at, f"({preds.made_at})"))
    text = preds.json_text_columns
    pred_cols += [(column, ident(name)) for name, column in cols.dimensions]
    quality = _first_number(cols.quality, preds.quality, params, text)
    pred_cols += [*quality.columns, (cols.logged_quality, quality.store_side)]
    logged = [(cols.quality_unparseable, _unparseable(cols.logged_quality, quality.malformed))]
    for f in features:
        predicted, flags = _feature_sql(f, preds.features[f.name], params, text)
        pred_cols += predicted
        logged += flags
    where = f"{ident(preds.date_column)} BETWEEN {p_from} AND {p_to}"
    if preds.where:
        where += f" AND ({preds.where})"

    key_join = " AND ".join(f"l.{cols.key(i)} = s.{cols.key(i)}" for i in range(len(preds.keys)))
    # Store values that are not finite are kept apart here (a column reference is cheap to
    # test; the store CTE's lookups are not): NULL as values, counted by their own flag.
    joined = [
        (cols.store_present, f"COALESCE(s.{_PRESENT}, FALSE)"),
        (cols.written_at, f"s.{cols.written_at}"),
        (cols.store_quality, finite(f"s.{cols.store_quality}")),
        (
            cols.store_quality_non_finite,
            f"COALESCE({non_finite(f's.{cols.store_quality}')}, FALSE)",
        ),
    ]
    for f in features:
        joined += [
            (f.store, finite(f"s.{f.store}")),
            (f.store_non_finite, f"COALESCE({non_finite(f's.{f.store}')}, FALSE)"),
        ]

    grading_ctes: list[str] = []
    grading_join = ""
    if graded:
        assert tables.grading is not None
        g = tables.grading
        pred_cols += [(_grading_key(i), ident(k)) for i, k in enumerate(g.keys)]
        g_where = f"{ident(g.date_column)} BETWEEN {p_from} AND {p_to}"
        if g.where:
            g_where += f" AND ({g.where})"
        edge = (
            f"ABS(CAST({ident(g.predicted_column)} AS FLOAT64) - "
            f"CAST({ident(g.line_column)} AS FLOAT64)) >= {params.float('high_edge', g.high_edge)}"
        )
        g_cols = [(f"key_{i}", ident(k)) for i, k in enumerate(g.keys)]
        g_cols += [
            (_CORRECT, f"CAST({ident(g.correct_column)} AS BOOL)"),
            (_HIGH_EDGE, edge),
            (_LINE, f"CAST({ident(g.line_column)} AS FLOAT64)"),
            (_PREDICTED, f"CAST({ident(g.predicted_column)} AS FLOAT64)"),
        ]
        grading_ctes.append(
            f"graded AS (\n  SELECT\n    {_select(g_cols)}\n"
            f"  FROM {table_ref(g.table)}\n  WHERE {g_where}\n"
            f"  QUALIFY ROW_NUMBER() OVER (PARTITION BY "
            f"{', '.join(ident(k) for k in g.keys)}) = 1\n)"
        )
        g_on = " AND ".join(f"l.{_grading_key(i)} = g.key_{i}" for i in range(len(g.keys)))
        grading_join = f"\n  LEFT JOIN graded AS g ON {g_on}"
        joined += [
            (cols.graded_correct, f"g.{_CORRECT}"),
            (cols.graded_high_edge, f"g.{_HIGH_EDGE}"),
            (cols.graded_line, f"g.{_LINE}"),
            (cols.graded_predicted, f"g.{_PREDICTED}"),
        ]

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
        # A prediction id written twice is one prediction (the latest copy), counted once.
        f"predictions AS (\n  SELECT\n    {_select(pred_cols)}\n"
        f"  FROM {table_ref(preds.table)}\n  WHERE {where}\n"
        f"  QUALIFY ROW_NUMBER() OVER (PARTITION BY {pred_id} "
        f"ORDER BY ({preds.made_at}) DESC) = 1\n)",
        f"logged AS (\n  SELECT\n    *,\n    {_select(logged)}\n  FROM predictions\n)",
        f"joined AS (\n  SELECT\n    l.*,\n    {_select(joined)}\n"
        f"  FROM logged AS l\n  LEFT JOIN store AS s ON {key_join}{grading_join}\n)",
    ]
    source = "joined"
    if flag_cols:
        ctes.append(f"flagged AS (\n  SELECT\n    *,\n    {_select(flag_cols)}\n  FROM joined\n)")
        source = "flagged"
    problems = [c.flag_column for c in checks if c.problem]
    return PredictionRows(
        params=params,
        ctes=ctes,
        source=source,
        cols=cols,
        features=features,
        problem_flag="(" + " OR ".join(problems) + ")" if problems else "FALSE",
        graded=graded,
        fragments=list(zip(checks, fragments, strict=True)),
    )


def _hit_aggregates(cols: JoinColumns, problem_flag: str) -> list[tuple[str, str]]:
    """Graded and correct counts, for affected and unaffected predictions, overall and
    high-edge: the hit-rate columns of the impact table and the hit_rate_drop check."""
    out = []
    conds = {"affected": problem_flag, "unaffected": f"NOT {problem_flag}"}
    for group in HIT_GROUPS:
        for high_edge, edge_cond in ((False, "TRUE"), (True, cols.graded_high_edge)):
            graded = f"{cols.graded_correct} IS NOT NULL AND {edge_cond} AND {conds[group]}"
            out.append((hit_count("graded", group, high_edge=high_edge), f"COUNTIF({graded})"))
            out.append(
                (
                    hit_count("correct", group, high_edge=high_edge),
                    f"COUNTIF({graded} AND {cols.graded_correct})",
                )
            )
    return out


def _grouping(cols: JoinColumns) -> tuple[str, str, str]:
    """(key columns, GROUP BY, ORDER BY) of the aggregate row.

    Without dimensions: one row per date. With them: GROUPING SETS give, from the same
    scan, one row per (date, dimension values) and the date's total (DATE_TOTAL = 1), so
    every aggregate (including the non-additive ones) is right at both levels.
    """
    date = renamed(cols.game_date, GAME_DATE)
    if not cols.dimension_names:
        return date, cols.game_date, cols.game_date
    dims = [column for _, column in cols.dimensions]
    keys = ",\n  ".join([date, *dims, f"GROUPING({dims[0]}) AS {DATE_TOTAL}"])
    group_by = f"GROUPING SETS (({cols.game_date}), ({', '.join([cols.game_date, *dims])}))"
    return keys, group_by, ", ".join([cols.game_date, f"{DATE_TOTAL} DESC", *dims])


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
    with_grading = tables.grading is not None and (
        not details or any(c.uses_grading for c in checks)
    )
    rows = prediction_rows(tables, checks, date_from, date_to, with_grading=with_grading)
    params, fragments, cols = rows.params, rows.fragments, rows.cols
    aggregates: list[tuple[str, str]] = [
        (TOTAL, "COUNT(*)"),
        (DUPLICATES, f"SUM({cols.prediction_copies} - 1)"),
    ]
    for c, f in fragments:
        counted = [c.flag_column]
        if details:
            counted += [r.flag for r in f.reported if r.flag not in counted]
            aggregates += f.aggregates
        aggregates += [(flag_count(flag), f"COUNTIF({flag})") for flag in counted]
    if checks:
        aggregates.append((IMPACT_AFFECTED, f"COUNTIF({rows.problem_flag})"))
    if rows.graded:
        aggregates += _hit_aggregates(cols, rows.problem_flag)

    rank_cols: list[tuple[str, str]] = []
    first_cols: list[tuple[str, str]] = []
    reported = [r for _, f in fragments for r in f.reported]
    if examples > 0 and details and reported:
        p_examples = params.int("max_examples", examples)
        # (field of an example, join column): the fields are what alerts and reports show.
        base_fields = [
            ("prediction_id", cols.prediction_id),
            *cols.entity_keys,
            ("made_at", cols.made_at),
            ("written_at", cols.written_at),
            ("logged_quality", cols.logged_quality),
            ("store_quality", cols.store_quality),
        ]
        for r in reported:
            flag, rank = r.flag, _rank(r.flag)
            by = f"{r.order}, {cols.prediction_id}"
            fields, shown, among = base_fields + r.extra, flag, ""
            if r.one_per is not None:
                # One example per value of `one_per`: its first prediction, and how many it
                # stands for (window functions cannot nest, so one CTE before the ranking).
                first, count = _first(flag), _per_value(flag)
                per = f"PARTITION BY {cols.game_date}, {flag}, {r.one_per}"
                first_cols += [
                    (first, f"ROW_NUMBER() OVER ({per} ORDER BY {by}) = 1"),
                    (count, f"COUNT(*) OVER ({per})"),
                ]
                fields = [*fields, ("predictions", count)]
                shown, among = f"{flag} AND {first}", f", {first}"
            rank_cols.append(
                (
                    rank,
                    f"ROW_NUMBER() OVER (PARTITION BY {cols.game_date}, {flag}{among} "
                    f"ORDER BY {by})",
                )
            )
            struct = ", ".join(f"{sql} AS {name}" for name, sql in fields)
            aggregates.append(
                (
                    flag_examples(flag),
                    f"ARRAY_AGG(IF({shown} AND {rank} <= {p_examples}, "
                    f"STRUCT({struct}), NULL) IGNORE NULLS ORDER BY {rank})",
                )
            )

    ctes = list(rows.ctes)
    source = rows.source
    if first_cols:
        ctes.append(f"firsts AS (\n  SELECT\n    *,\n    {_select(first_cols)}\n  FROM {source}\n)")
        source = "firsts"
    if rank_cols:
        ctes.append(f"ranked AS (\n  SELECT\n    *,\n    {_select(rank_cols)}\n  FROM {source}\n)")
        source = "ranked"
    keys, group_by, order_by = _grouping(cols)
    sql = (
        "WITH\n" + ",\n".join(ctes) + "\n"
        f"SELECT\n  {keys},\n  {_select(aggregates, '  ')}\n"
        f"FROM {source}\nGROUP BY {group_by}\nORDER BY {order_by}"
    )
    names = ", ".join(c.name for c in checks) or "impact"
    if not details:
        label = "impact"
    elif len(checks) == 1:
        label = checks[0].name
    else:
        label = "all_checks"
    return Query(sql=sql, params=params.freeze(), description=f"featmon: {names}", label=label)
