"""Featmon's own tables in the warehouse (alert state, notification log, history): their DDL,
multi-row inserts, and bringing them up to date at the start of a run.

`ensure_tables` reads the catalog once (the adapter's `columns_of`: a catalog query on DuckDB,
API calls rather than query jobs on BigQuery) and sends DDL only for what is missing: a
dataset, a table, or a column a newer featmon added. Where the catalog cannot be read, it
falls back to idempotent DDL for everything, as every run did before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from checks.query.sql import Params, ParamType, Query, table_ref
from monitor.warehouse.base import Warehouse


def ddl(table: str, columns: Mapping[str, str]) -> str:
    cols = ", ".join(f"`{name}` {type_}" for name, type_ in columns.items())
    return f"CREATE TABLE IF NOT EXISTS {table_ref(table)} ({cols})"


def insert_sql(
    table: str, columns: Mapping[str, ParamType], rows: Sequence[Mapping[str, Any]]
) -> tuple[str, Params]:
    """One multi-row INSERT with every value a parameter (a handful of rows per run)."""
    params = Params()
    tuples = [
        "("
        + ", ".join(params.add(f"{name}_{i}", row[name], t) for name, t in columns.items())
        + ")"
        for i, row in enumerate(rows)
    ]
    sql = f"INSERT INTO {table_ref(table)} ({', '.join(columns)}) VALUES {', '.join(tuples)}"
    return sql, params


def ensure_tables(wh: Warehouse, dataset: str, tables: Mapping[str, Mapping[str, str]]) -> int:
    """Create `dataset`, its missing tables and their missing columns; returns how many DDL
    statements that took (0 when everything is in place). Where the catalog cannot be read,
    every table gets its idempotent CREATE (a missing column then shows as a query error)."""
    existing = wh.columns_of(dataset)
    statements: list[str] = []
    if existing is None or any(name not in existing for name in tables):
        statements.append(f"CREATE SCHEMA IF NOT EXISTS `{dataset}`")
    for name, columns in tables.items():
        path = f"{dataset}.{name}"
        have = None if existing is None else existing.get(name)
        if have is None:
            statements.append(ddl(path, columns))
            continue
        statements += [
            f"ALTER TABLE {table_ref(path)} ADD COLUMN IF NOT EXISTS `{column}` {type_}"
            for column, type_ in columns.items()
            if column.lower() not in have
        ]
    for sql in statements:
        list(wh.rows(Query(sql=sql, params=(), label="state")))
    return len(statements)
