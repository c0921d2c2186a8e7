"""The join contract: the names join.py writes are the names checks, impact and
attribution read (checks/query/columns.py), checked on the real statements of the
default config, statically (no warehouse)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlglot
from sqlglot import exp

from checks.base import Check
from checks.query.columns import JoinColumns
from checks.query.dimensions import by_date
from checks.query.impact import ImpactRow
from checks.query.join import build_query, prediction_rows
from checks.query.sql import Params
from monitor.config import Config, parse_config
from monitor.pipeline.plan import build_checks, impact_checks, tables_of
from tests.lab import default_config_data

DAY = dt.date(2026, 2, 3)


def cfg() -> Config:
    return parse_config(default_config_data())


def join_checks(config: Config) -> list[Check]:
    return [c for c in build_checks(config) if c.scope == "join"]


def cte_columns(tree: exp.Expression, name: str) -> set[str]:
    """The columns CTE `name` outputs, with `*` and `alias.*` expanded over the CTEs."""
    ctes = {cte.alias: cte.this for cte in tree.find_all(exp.CTE)}
    select = ctes[name]
    assert isinstance(select, exp.Select)
    out: set[str] = set()
    for projection in select.expressions:
        star = projection.is_star
        if not star:
            out.add(projection.alias_or_name)
            continue
        qualifier = projection.table if isinstance(projection, exp.Column) else ""
        [source] = [
            t.name
            for t in select.find_all(exp.Table)
            if (t.alias_or_name == qualifier if qualifier else t.parent is select.args["from_"])
        ]
        out |= cte_columns(tree, source)
    return out


def exposed(config: Config) -> set[str]:
    """What the shared join hands to check fragments: the `joined` CTE's columns."""
    rows = prediction_rows(tables_of(config), [], DAY, DAY, with_features=True, with_grading=True)
    sql = "WITH\n" + ",\n".join(rows.ctes) + "\nSELECT * FROM joined"
    return cte_columns(sqlglot.parse_one(sql, read="bigquery"), "joined")


def every_accessor(cols: JoinColumns) -> set[str]:
    names = {
        getattr(JoinColumns, name)
        for name, value in vars(JoinColumns).items()
        if not name.startswith("_") and isinstance(value, str)
    }
    names |= {cols.key(i) for i, _ in enumerate(cols.key_names)}
    names |= {cols.entity_key}
    names |= {cols.quality_location(i) for i, _ in enumerate(cols.quality_locations)}
    for f in cols.feature_columns:
        names |= {f.logged, f.store, f.unparseable, f.live, f.live_value}
        names |= {f.location(i) for i, _ in enumerate(f.locations)}
    return names


def test_every_accessor_names_a_column_the_join_writes() -> None:
    config = cfg()
    cols = tables_of(config).join_columns()
    assert every_accessor(cols) - exposed(config) == set()
    assert len(cols.feature_columns) == len(config.predictions.features) == 3


def referenced(sql: str) -> set[str]:
    tree = sqlglot.parse_one(f"SELECT 1 ORDER BY {sql}", read="bigquery")
    return {c.name for c in tree.find_all(exp.Column) if not c.table}


@pytest.mark.parametrize("name", [c.name for c in join_checks(cfg())])
def test_fragments_read_only_what_the_join_writes_or_they_add(name: str) -> None:
    """A fragment that spelt a join column the join does not write (or no longer writes)
    names it here, before any warehouse sees it."""
    config = cfg()
    [check] = [c for c in join_checks(config) if c.name == name]
    fragment = check.fragment(Params())
    own = {alias for alias, _ in fragment.columns}
    sqls = [sql for _, sql in fragment.columns + fragment.aggregates]
    sqls += [r.order for r in fragment.reported]
    sqls += [sql for r in fragment.reported for _, sql in r.extra]
    used = set().union(*(referenced(sql) for sql in sqls))
    assert used, name
    assert used - own - exposed(config) == set(), name
    assert check.flag_column in own


class StrictRow(dict[str, Any]):
    """An aggregate row that fails on a name the statement does not produce, where a
    plain dict's `.get` would read it as absent (a count of 0, no examples)."""

    def get(self, key: str, default: Any = None) -> Any:
        return self[key]


def output_row(sql: str) -> StrictRow:
    """A row with exactly the columns the statement returns (all NULL)."""
    names = sqlglot.parse_one(sql, read="bigquery").named_selects
    assert len(names) == len(set(names))
    return StrictRow.fromkeys(names)


def test_checks_read_only_aggregates_the_statement_returns() -> None:
    config = cfg()
    checks = join_checks(config)
    assert "hit_rate_drop" in {c.name for c in checks}  # the hit counts are read too
    row = output_row(build_query(tables_of(config), checks, DAY, DAY, examples=5).sql)
    for check in checks:
        results = check.results(row, DAY)
        assert results, check.name


def test_dimension_rows_are_read_through_the_statement_s_names() -> None:
    """With `dimensions`, each check's details carry the per-model counts read from the
    dimension rows the statement returns (folded into the date's total row)."""
    config = cfg()
    assert config.predictions.dimensions == ["system_id"]
    checks = join_checks(config)
    sql = build_query(tables_of(config), checks, DAY, DAY, examples=5).sql
    total, model = output_row(sql), output_row(sql)
    total.update(game_date=DAY, date_total=1)
    model.update(game_date=DAY, date_total=0, dim_0="catboost_v9")
    [row] = by_date([total, model]).values()
    for check in checks:
        for result in check.results(row, DAY):
            assert result.details["dimensions"] == ["system_id"], check.name
            [entry] = result.details["by_dimension"]
            assert entry["system_id"] == "catboost_v9" and entry["total"] == 0, check.name


def test_impact_reads_only_aggregates_the_statement_returns() -> None:
    config = cfg()
    checks = impact_checks(config)
    query = build_query(tables_of(config), checks, DAY, DAY, examples=0, details=False)
    row = output_row(query.sql)
    row["game_date"] = DAY
    impact = ImpactRow.from_row(row, {c.name for c in checks})
    assert impact.graded_affected == 0  # grading is configured: the hit counts were read
    assert {impact.stale, impact.feature_mismatch, impact.missing_quality} == {0}


def test_a_feature_or_location_the_config_lacks_is_an_error_not_a_name() -> None:
    cols = tables_of(cfg()).join_columns()
    assert cols.feature("points_avg_last_10") == cols.feature(1)
    assert cols.feature(1).store != cols.feature(0).store
    with pytest.raises(KeyError, match="not configured"):
        cols.feature("points_avg_last_50")
    with pytest.raises(IndexError):
        cols.feature(3)
    with pytest.raises(IndexError):
        cols.quality_location(len(cols.quality_locations))
    with pytest.raises(IndexError):
        cols.key(len(cols.key_names))


def test_entity_key_skips_the_date_whatever_the_key_order() -> None:
    data = default_config_data()
    data["predictions"]["keys"] = ["game_date", "player_lookup"]
    data["feature_store"]["keys"] = ["game_date", "player_lookup"]
    cols = tables_of(parse_config(data)).join_columns()
    assert (cols.entity_key, cols.entity_key_name) == (cols.key(1), "player_lookup")
    assert cols.entity_keys == [("player_lookup", cols.key(1))]
