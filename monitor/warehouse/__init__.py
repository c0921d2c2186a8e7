"""Warehouse adapters; `open_warehouse` picks one from `warehouse.backend`."""

from __future__ import annotations

from monitor.config import Config
from monitor.warehouse.base import QueryError, Warehouse, WarehouseError, WarehouseUnavailable

__all__ = ["QueryError", "Warehouse", "WarehouseError", "WarehouseUnavailable", "open_warehouse"]


def open_warehouse(config: Config, *, read_only: bool = True) -> Warehouse:
    from monitor.config import BigQueryWarehouse as BigQuerySettings

    w = config.warehouse
    if isinstance(w, BigQuerySettings):
        from monitor.warehouse.bigquery import BigQueryWarehouse

        return BigQueryWarehouse(w)
    from monitor.warehouse.duckdb import DuckDBWarehouse

    return DuckDBWarehouse(
        config.warehouse_path(), read_only=read_only, memory_limit=w.memory_limit, threads=w.threads
    )
