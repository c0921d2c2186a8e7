"""The production table shapes, as DuckDB DDL, for the demo, tests and benchmarks.

Mirrors nba_predictions.ml_feature_store_v2 and player_prop_predictions (see
docs/configuration.md "Production table shapes"): arrays for the feature vector, NUMERIC
quality, JSON logging columns, created/updated/predicted timestamps and supersede flags.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from monitor.warehouse.duckdb import DuckDBWarehouse

STORE_COLUMNS: dict[str, str] = {
    "player_lookup": "VARCHAR",
    "game_date": "DATE",
    "game_id": "VARCHAR",
    "features": "DOUBLE[]",
    "feature_names": "VARCHAR[]",
    "feature_count": "BIGINT",
    "feature_version": "VARCHAR",
    "feature_quality_score": "DECIMAL(5,2)",
    "is_quality_ready": "BOOLEAN",
    "created_at": "TIMESTAMPTZ",
    "updated_at": "TIMESTAMPTZ",
}

PREDICTION_COLUMNS: dict[str, str] = {
    "prediction_id": "VARCHAR",
    "system_id": "VARCHAR",
    "player_lookup": "VARCHAR",
    "game_date": "DATE",
    "game_id": "VARCHAR",
    "predicted_points": "DECIMAL(5,1)",
    "current_points_line": "DECIMAL(4,1)",
    "recommendation": "VARCHAR",
    "confidence_score": "DECIMAL(5,2)",
    "is_active": "BOOLEAN",
    "superseded": "BOOLEAN",
    "superseded_by": "VARCHAR",
    "created_at": "TIMESTAMPTZ",
    "updated_at": "TIMESTAMPTZ",
    "predicted_at": "TIMESTAMPTZ",
    "feature_quality_score": "DOUBLE",
    "critical_features": "JSON",
    "features_snapshot": "JSON",
}

RUN_HISTORY_COLUMNS: dict[str, str] = {
    "processor_name": "VARCHAR",
    "data_date": "DATE",
    "status": "VARCHAR",
    "started_at": "TIMESTAMPTZ",
    "processed_at": "TIMESTAMPTZ",
    "records_processed": "BIGINT",
}

GRADING_COLUMNS: dict[str, str] = {
    "player_lookup": "VARCHAR",
    "game_id": "VARCHAR",
    "game_date": "DATE",
    "system_id": "VARCHAR",
    "prediction_correct": "BOOLEAN",
    "actual_points": "BIGINT",
    "line_value": "DECIMAL(4,1)",
    "predicted_points": "DECIMAL(5,1)",
    "is_voided": "BOOLEAN",
}

STORE_TABLE = "nba_predictions.ml_feature_store_v2"
GRADING_TABLE = "nba_predictions.prediction_accuracy"
RUN_HISTORY_TABLE = "nba_reference.processor_run_history"
TABLES = {
    "nba_predictions.ml_feature_store_v2": STORE_COLUMNS,
    "nba_predictions.player_prop_predictions": PREDICTION_COLUMNS,
    RUN_HISTORY_TABLE: RUN_HISTORY_COLUMNS,
    GRADING_TABLE: GRADING_COLUMNS,
}
PREDICTIONS_TABLE = "nba_predictions.player_prop_predictions"
JSON_COLUMNS = ("critical_features", "features_snapshot")


def create_tables(wh: DuckDBWarehouse, *, replace: bool = True) -> None:
    verb = "CREATE OR REPLACE TABLE" if replace else "CREATE TABLE IF NOT EXISTS"
    for table, columns in TABLES.items():
        wh.execute(f"CREATE SCHEMA IF NOT EXISTS {table.split('.')[0]}")
        cols = ", ".join(f"{name} {type_}" for name, type_ in columns.items())
        wh.execute(f"{verb} {table} ({cols})")


def insert_rows(wh: DuckDBWarehouse, table: str, rows: Iterable[Mapping[str, Any]]) -> int:
    """Insert dict rows; missing columns are NULL, dict/list JSON values are encoded.

    A str in a JSON column is stored as-is, so tests can store exactly the text they mean.
    """
    names = list(TABLES[table])
    values = []
    for row in rows:
        unknown = set(row) - set(names)
        if unknown:
            raise KeyError(f"{table} has no column(s) {sorted(unknown)}")
        values.append([_encode(name, row.get(name)) for name in names])
    if values:
        placeholders = ", ".join("?" for _ in names)
        wh.con.executemany(f"INSERT INTO {table} VALUES ({placeholders})", values)
    return len(values)


def _encode(name: str, value: Any) -> Any:
    if name in JSON_COLUMNS and isinstance(value, dict | list):
        return json.dumps(value)
    return value
