"""Where write times come from: per row, from a write-log table, or partition metadata."""

from __future__ import annotations

from typing import Any

import pytest

from monitor.config import ConfigError, parse_config
from tests.lab import Lab, default_config_data, utc

LOG_TABLE = {
    "source": "log_table",
    "table": "nba_reference.processor_run_history",
    "date_column": "data_date",
    "time_column": "processed_at",
    "where": "processor_name = 'MLFeatureStoreProcessor' AND status = 'success'",
}


def with_write_times(lab: Lab, write_times: dict[str, Any]) -> Any:
    data = lab.config_data()
    data["feature_store"]["write_times"] = write_times
    return parse_config(data)


def test_log_table_write_time_counts_for_every_entity_of_the_date(lab: Lab) -> None:
    # The rows say 18:00 (a writer that keeps created_at and never sets updated_at);
    # the run log knows about the 22:30 rewrite.
    for player in ("a", "b"):
        lab.add_store(player, created_at=utc("18:00"), written_at=None)
    lab.add_run(utc("18:00"))
    lab.add_run(utc("22:30"))
    lab.add_run(utc("23:59"), status="failed")  # excluded by `where`
    lab.add_prediction("a", made_at=utc("20:00"))
    lab.add_prediction("b", made_at=utc("23:00"))
    by_row = lab.result("stale_predictions")
    assert by_row.affected == 0
    by_log = lab.result("stale_predictions", config=with_write_times(lab, LOG_TABLE))
    assert (by_log.affected, by_log.total) == (1, 2)
    assert by_log.details["max_lag_s"] == 2.5 * 3600
    assert by_log.examples[0]["written_at"] == utc("22:30")


def test_log_table_without_a_logged_write_leaves_the_date_unjudged(lab: Lab) -> None:
    lab.add_store("a", written_at=utc("22:30"))
    lab.add_prediction("a", made_at=utc("20:00"))
    r = lab.result("stale_predictions", config=with_write_times(lab, LOG_TABLE))
    assert (r.affected, r.status) == (0, "ok")


def test_log_table_source_needs_a_table() -> None:
    data = default_config_data()
    data["feature_store"]["write_times"] = {"source": "log_table"}
    with pytest.raises(ConfigError) as e:
        parse_config(data)
    assert e.value.problems[0].startswith("feature_store.write_times: `source: log_table` needs")


def test_partitions_source_is_refused_on_duckdb() -> None:
    data = default_config_data()
    data["feature_store"]["write_times"] = {"source": "partitions"}
    with pytest.raises(ConfigError) as e:
        parse_config(data)
    assert e.value.problems == [
        "feature_store.write_times.source: `partitions` reads BigQuery's "
        "INFORMATION_SCHEMA.PARTITIONS and needs warehouse.backend: bigquery "
        "(use `row` or `log_table` on DuckDB)"
    ]


def test_partitions_source_reads_the_store_partition_metadata_for_the_window() -> None:
    """Shape only: bqemulator cannot run a filtered INFORMATION_SCHEMA.PARTITIONS query
    (any WHERE on it fails there), so this SQL is verified by parsing, not on a peer."""
    import datetime as dt

    import sqlglot
    from sqlglot import exp

    from monitor.pipeline.plan import build_checks, check_query
    from monitor.pipeline.window import DateWindow

    data = default_config_data()
    data["warehouse"] = {
        "backend": "bigquery",
        "project": "billing-proj",
        "dataset_project": "nba-props-platform",
    }
    data["feature_store"]["write_times"] = {"source": "partitions"}
    config = parse_config(data)
    window = DateWindow(dt.date(2026, 2, 2), dt.date(2026, 2, 3))
    query = check_query(config, build_checks(config, ["stale_predictions"]), window)
    tree = sqlglot.parse_one(query.sql, read="bigquery")
    tables = {".".join(p.name for p in t.parts) for t in tree.find_all(exp.Table)}
    ctes = {"writes", "store", "predictions", "logged", "joined", "flagged", "ranked"}
    assert tables - ctes == {
        "nba-props-platform.nba_predictions.INFORMATION_SCHEMA.PARTITIONS",
        "nba-props-platform.nba_predictions.ml_feature_store_v2",
        "nba-props-platform.nba_predictions.player_prop_predictions",
    }
    params = query.param_values()
    assert params["store_table_name"] == "ml_feature_store_v2"
    writes = next(c for c in tree.find_all(exp.CTE) if c.alias == "writes")
    where = writes.this.args["where"].sql("bigquery")
    assert "table_name = @store_table_name" in where
    assert "BETWEEN @date_from AND @date_to" in where
    store = next(c for c in tree.find_all(exp.CTE) if c.alias == "store")
    assert "writes.featmon_written_at AS written_at" in store.sql("bigquery")
