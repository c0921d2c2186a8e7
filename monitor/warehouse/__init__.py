"""Warehouse adapters; `open_warehouse` picks one from `warehouse.backend`."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from monitor.warehouse.base import QueryError, Warehouse, WarehouseError, WarehouseUnavailable
from monitor.warehouse.capabilities import Capabilities, capabilities_of

if TYPE_CHECKING:
    from monitor.config import Config

__all__ = [
    "Capabilities",
    "QueryError",
    "Warehouse",
    "WarehouseError",
    "WarehouseUnavailable",
    "capabilities",
    "is_lock_conflict",
    "missing_warehouse",
    "open_for_reading",
    "open_for_writing",
    "open_waiting_for_lock",
    "open_warehouse",
    "wait_for_warehouse",
]

log = logging.getLogger("featmon.warehouse")
LOCKED = "warehouse is locked by another process; delaying the cycle"


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


def is_lock_conflict(message: str) -> bool:
    """The embedded file is held by another process (transient), not broken."""
    return "lock" in message.lower()


def open_waiting_for_lock(
    open_: Callable[[], Warehouse], wait_s: float, poll_s: float, on_wait: str = ""
) -> Warehouse:
    """Open the warehouse, retrying while another process holds the embedded DuckDB file's
    write lock (another featmon, or the pipeline loading data) for up to `wait_s`."""
    deadline = time.monotonic() + wait_s
    logged = False
    while True:
        try:
            return open_()
        except WarehouseError as e:
            if not is_lock_conflict(str(e)) or time.monotonic() > deadline:
                raise
            if on_wait and not logged:
                log.info(on_wait)
                logged = True
            time.sleep(poll_s)


def open_for_reading(config: Config) -> Warehouse:
    """The warehouse for a cycle's queries. While another process writes the embedded
    DuckDB file (another featmon recording history or alert state, or the pipeline),
    readers are locked out too: wait for it, up to `state.wait_s`, rather than report a
    check error."""
    return open_waiting_for_lock(lambda: open_warehouse(config), config.state.wait_s, 0.2, LOCKED)


def open_for_writing(config: Config) -> Warehouse:
    """The warehouse opened for writing (alert state, version history). Another featmon
    (or the pipeline) holding the embedded DuckDB file's write lock is waited for, up to
    `state.wait_s`, not failed on. A missing DuckDB file is not created: the run reports it."""
    if missing_warehouse(config):
        return open_warehouse(config)  # read-only: raises WarehouseUnavailable, explained
    return open_waiting_for_lock(
        lambda: open_warehouse(config, read_only=False),
        config.state.wait_s,
        0.2,
        LOCKED,
    )


def capabilities(config: Config) -> Capabilities:
    return capabilities_of(config.warehouse.backend)


def missing_warehouse(config: Config) -> str | None:
    """Why there is nothing to open (an embedded file not built yet), or None."""
    if capabilities(config).embedded_file and not config.warehouse_path().exists():
        return f"no warehouse at {config.warehouse_path()} (run featmon demo?)"
    return None


def wait_for_warehouse(config: Config, max_wait_s: float = 60.0) -> None:
    """Delay a daemon cycle while another process holds the embedded file's write lock (the
    pipeline loading data): the cycle then runs, rather than failing. A remote warehouse has
    no such lock: nothing to wait for."""
    if not capabilities(config).embedded_file or missing_warehouse(config):
        return
    with contextlib.suppress(WarehouseError):  # the cycle itself reports the problem
        open_waiting_for_lock(lambda: open_warehouse(config), max_wait_s, 0.5, LOCKED).close()
