"""The generated SQL itself: partition filters, one scan per table, values as parameters."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlglot
from sqlglot import exp

from checks.query.sql import Query
from checks.registry import CHECKS
from monitor.config import Config, parse_config
from monitor.pipeline.plan import build_checks, check_query, impact_query
from monitor.pipeline.window import DateWindow
from monitor.warehouse.duckdb import to_duckdb
from tests.lab import default_config_data

WINDOW = DateWindow(dt.date(2026, 2, 2), dt.date(2026, 2, 3))


def config(**overrides: object) -> Config:
    data = default_config_data()
    data.update(overrides)
    return parse_config(data)


def all_queries(cfg: Config) -> list[Query]:
    queries = [check_query(cfg, build_checks(cfg), WINDOW), impact_query(cfg, WINDOW)[0]]
    queries += [check_query(cfg, build_checks(cfg, [name]), WINDOW) for name in CHECKS]
    return queries


def base_tables(tree: exp.Expression, cfg: Config) -> list[exp.Table]:
    names = {cfg.feature_store.table, cfg.predictions.table}
    found = []
    for table in tree.find_all(exp.Table):
        path = ".".join(p.name for p in table.parts)
        if path in names:
            found.append(table)
    return found


def assert_partition_filtered(table: exp.Table, date_column: str) -> None:
    select = table.find_ancestor(exp.Select)
    assert select is not None
    where = select.args.get("where")
    assert where is not None, f"no WHERE on {table.sql('bigquery')}"
    betweens = [
        b
        for b in where.find_all(exp.Between)
        if isinstance(b.this, exp.Column) and b.this.name == date_column
    ]
    assert betweens, f"no partition filter on {date_column} for {table.sql('bigquery')}"
    b = betweens[0]
    bounds = {b.args["low"].name, b.args["high"].name}
    assert bounds == {"date_from", "date_to"}
    assert all(isinstance(b.args[k], exp.Parameter) for k in ("low", "high"))


@pytest.mark.parametrize("where", ["is_active", None])
def test_every_query_filters_both_tables_on_their_partition_and_scans_each_once(
    where: str | None,
) -> None:
    data = default_config_data()
    data["predictions"]["where"] = where
    cfg = parse_config(data)
    for query in all_queries(cfg):
        tree = sqlglot.parse_one(query.sql, read="bigquery")
        tables = base_tables(tree, cfg)
        paths = sorted(".".join(p.name for p in t.parts) for t in tables)
        assert paths == sorted([cfg.feature_store.table, cfg.predictions.table]), query.description
        for table in tables:
            is_store = ".".join(p.name for p in table.parts) == cfg.feature_store.table
            column = cfg.feature_store.date_column if is_store else cfg.predictions.date_column
            assert_partition_filtered(table, column)


def test_custom_partition_columns_are_used() -> None:
    data = default_config_data()
    data["feature_store"]["date_column"] = "feature_date"
    data["predictions"]["date_column"] = "prediction_date"
    cfg = parse_config(data)
    tree = sqlglot.parse_one(check_query(cfg, build_checks(cfg), WINDOW).sql, read="bigquery")
    for table in base_tables(tree, cfg):
        is_store = ".".join(p.name for p in table.parts) == cfg.feature_store.table
        assert_partition_filtered(table, "feature_date" if is_store else "prediction_date")


def test_values_travel_as_parameters_not_literals() -> None:
    cfg = config()
    query = check_query(cfg, build_checks(cfg), WINDOW)
    tree = sqlglot.parse_one(query.sql, read="bigquery")
    # No string literal at all: JSON paths (validated at load) parse as paths, not strings.
    strings = [lit.this for lit in tree.find_all(exp.Literal) if lit.is_string]
    assert strings == []
    assert any(True for _ in tree.find_all(exp.JSONPath))
    params = {p.name: p for p in query.params}
    assert params["date_from"].value == WINDOW.start and params["date_from"].type == "DATE"
    assert params["quality_tolerance"].value == 0.5
    assert params["quality_threshold"].value == 70.0
    assert params["feature_points_avg_last_5"].value == "points_avg_last_5"
    referenced = {p.name for p in tree.find_all(exp.Parameter)}
    assert referenced == set(params)


def test_one_query_carries_every_enabled_check() -> None:
    cfg = config()
    sql = check_query(cfg, build_checks(cfg), WINDOW).sql
    for name, check in CHECKS.items():
        if check.scope == "join":
            assert f"{name}__flag_count" in sql


def test_disabled_checks_are_not_in_the_query() -> None:
    data = default_config_data()
    data["checks"]["feature_mismatch"]["enabled"] = False
    del data["checks"]["low_quality"]
    cfg = parse_config(data)
    sql = check_query(cfg, build_checks(cfg), WINDOW).sql
    assert "feature_mismatch__" not in sql and "low_quality__" not in sql
    # without feature_mismatch the per-feature array lookups are not computed at all
    assert "GENERATE_ARRAY" not in sql


def test_duckdb_rewrite_makes_nested_json_parsing_safe() -> None:
    native = to_duckdb("SELECT SAFE.PARSE_JSON(JSON_VALUE(c, '$.s')) FROM t")
    assert "TRY_CAST" in native.upper() and "SAFE." not in native.upper()


def test_examples_can_be_turned_off() -> None:
    data = default_config_data()
    data["max_examples"] = 0
    cfg = parse_config(data)
    sql = check_query(cfg, build_checks(cfg), WINDOW).sql
    assert "ROW_NUMBER() OVER (PARTITION BY game_date" not in sql
    assert "ARRAY_AGG" not in sql


LOOKUP_TABLE = (
    "CREATE TABLE t AS SELECT * FROM (VALUES "
    "(1, ['points_avg_last_5', 'points_avg_last_10'], [24.2, 22.0]), "
    "(2, ['points_avg_last_10', 'points_avg_last_5'], [21.0, 24.2]), "
    "(3, ['points_avg_last_5'], [24.2]), "
    "(4, ['points_avg_last_5', 'points_avg_last_10'], [24.2])"
    ") AS v(k, feature_names, features)"
)


@pytest.mark.parametrize("rewritten", [False, True], ids=["bigquery_form", "list_position"])
def test_store_feature_lookup_is_right_with_and_without_the_duckdb_rewrite(
    rewritten: bool,
) -> None:
    """The BigQuery form itself must be correct (it is what BigQuery runs): transpiled
    with plain sqlglot, bypassing the list_position rewrite, and run on DuckDB. The
    rewritten form must give the same values."""
    import duckdb

    from checks.query.join import store_feature_sql
    from checks.query.sql import Params

    params = Params()
    expr = store_feature_sql(config().feature_store, params, "points_avg_last_10")
    statement = f"SELECT {expr} AS v FROM t ORDER BY k"
    if rewritten:
        sql = to_duckdb(statement)
    else:
        sql = sqlglot.transpile(statement, read="bigquery", write="duckdb")[0]
    assert ("list_position" in sql.lower()) == rewritten
    con = duckdb.connect()
    con.execute(LOOKUP_TABLE)
    values = [
        r[0]
        for r in con.execute(sql, {"feature_points_avg_last_10": "points_avg_last_10"}).fetchall()
    ]
    assert values == [22.0, 21.0, None, None]  # by name; absent name and short vector -> NULL


def test_duckdb_reads_every_store_feature_with_list_position() -> None:
    """Without the rewrite DuckDB decorrelates one subquery per feature (a season's
    impact query slows down several times) and every answer stays the same, so only
    the SQL shows it: one list_position per configured feature, no walk left."""
    from monitor.pipeline.attribution import attribution_query_for

    cfg = config()
    features = list(cfg.predictions.features)
    assert len(features) == 3
    queries = [
        check_query(cfg, build_checks(cfg), WINDOW),
        check_query(cfg, build_checks(cfg, ["feature_mismatch"]), WINDOW),
        attribution_query_for(cfg, [], WINDOW, "all"),
    ]
    for query in queries:
        assert query.sql.count("GENERATE_ARRAY(") == len(features)  # the form to rewrite
        native = to_duckdb(query.sql).lower()
        assert native.count("list_position(") == len(features), query.description
        for name in features:
            assert f'list_position("feature_names", $feature_{name})' in native
        assert "generate_series" not in native and "generate_array" not in native
        assert "unnest" not in native


@pytest.mark.parametrize(
    "lookup",
    [
        "(SELECT CAST(`features`[SAFE_ORDINAL(pos)] AS FLOAT64)\n"
        "   FROM UNNEST(GENERATE_ARRAY(1, ARRAY_LENGTH(`feature_names`))) AS pos\n"
        "   WHERE @feature_x = `feature_names`[ORDINAL(pos)]\n   LIMIT 1)",
        "(select cast(s.features[safe_ordinal(n)] as float64) from "
        "unnest(generate_array(1, array_length(s.feature_names))) n "
        "where s.feature_names[ordinal(n)] = @feature_x limit 1)",
    ],
    ids=["renamed_and_spaced", "lower_case_qualified"],
)
def test_duckdb_rewrite_does_not_depend_on_aliases_or_spacing(lookup: str) -> None:
    native = to_duckdb(f"SELECT {lookup} AS v FROM t AS s").lower()
    assert native.count("list_position(") == 1 and "generate_series" not in native


@pytest.mark.parametrize(
    "lookup",
    [
        # LIMIT 2: not a scalar lookup
        "(SELECT CAST(features[SAFE_ORDINAL(i)] AS FLOAT64) FROM UNNEST(GENERATE_ARRAY(1, "
        "ARRAY_LENGTH(feature_names))) AS i WHERE feature_names[ORDINAL(i)] = @p LIMIT 2)",
        # the name is looked up in another array than the one walked
        "(SELECT CAST(features[SAFE_ORDINAL(i)] AS FLOAT64) FROM UNNEST(GENERATE_ARRAY(1, "
        "ARRAY_LENGTH(feature_names))) AS i WHERE other_names[ORDINAL(i)] = @p LIMIT 1)",
        # 0-based reads
        "(SELECT CAST(features[SAFE_OFFSET(i)] AS FLOAT64) FROM UNNEST(GENERATE_ARRAY(1, "
        "ARRAY_LENGTH(feature_names))) AS i WHERE feature_names[OFFSET(i)] = @p LIMIT 1)",
        # the walk does not start at 1
        "(SELECT CAST(features[SAFE_ORDINAL(i)] AS FLOAT64) FROM UNNEST(GENERATE_ARRAY(2, "
        "ARRAY_LENGTH(feature_names))) AS i WHERE feature_names[ORDINAL(i)] = @p LIMIT 1)",
    ],
    ids=["limit_2", "other_array", "offset", "from_2"],
)
def test_duckdb_rewrite_leaves_other_subqueries_alone(lookup: str) -> None:
    native = to_duckdb(f"SELECT {lookup} AS v FROM t").lower()
    assert "list_position" not in native and "generate_series" in native


def test_grading_attribution_and_summary_queries_read_each_table_once_partition_filtered() -> None:
    import datetime as dt_

    from checks.query.attribution import ATTRIBUTED
    from monitor.pipeline.attribution import attribution_query_for
    from monitor.pipeline.plan import summary_query

    cfg = config()
    assert cfg.grading is not None
    dates = {
        cfg.feature_store.table: cfg.feature_store.date_column,
        cfg.predictions.table: cfg.predictions.date_column,
        cfg.grading.table: cfg.grading.date_column,
    }
    flagged = [c for c in build_checks(cfg) if c.name in ATTRIBUTED]
    queries = {
        "impact": (impact_query(cfg, WINDOW)[0], 3),
        "checks": (check_query(cfg, build_checks(cfg), WINDOW), 3),  # hit_rate_drop is on
        "flagged": (attribution_query_for(cfg, flagged, WINDOW, "flagged"), 2),
        "all": (attribution_query_for(cfg, [], WINDOW, "all"), 2),
        "one": (attribution_query_for(cfg, [], WINDOW, "prediction", "p1"), 2),
        "summary": (summary_query(cfg, WINDOW, dt_.datetime(2026, 2, 3, tzinfo=dt_.UTC)), 1),
    }
    for name, (query, expected) in queries.items():
        tree = sqlglot.parse_one(query.sql, read="bigquery")
        found = [t for t in tree.find_all(exp.Table) if ".".join(p.name for p in t.parts) in dates]
        paths = [".".join(p.name for p in t.parts) for t in found]
        assert len(paths) == len(set(paths)) == expected, (name, paths)
        for table in found:
            assert_partition_filtered(table, dates[".".join(p.name for p in table.parts)])
        if name in ("flagged", "all", "one"):  # the recorded history is read for the window too
            [fp] = [t for t in tree.find_all(exp.Table) if t.name == "store_fingerprints"]
            assert_partition_filtered(fp, "game_date")


def test_dimensions_are_grouping_sets_of_the_one_statement() -> None:
    """Per-model counts come from the same scan: the date's total and each model's row are
    GROUPING SETS of one GROUP BY, never a second statement or a second table reference."""
    cfg = config()
    assert cfg.predictions.dimensions == ["system_id"]
    for query in [check_query(cfg, build_checks(cfg), WINDOW), impact_query(cfg, WINDOW)[0]]:
        tree = sqlglot.parse_one(query.sql, read="bigquery")
        assert len(base_tables(tree, cfg)) == 2  # each base table once
        assert "GROUPING SETS ((game_date), (game_date, dim_0))" in query.sql
        assert "`system_id` AS dim_0" in query.sql
    data = default_config_data()
    data["predictions"]["dimensions"] = []
    plain = check_query(parse_config(data), build_checks(parse_config(data)), WINDOW)
    assert "GROUPING" not in plain.sql and "dim_0" not in plain.sql
