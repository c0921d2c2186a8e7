"""The store-version endpoint's answers: a game date's latest store version, as the worker
guard's contract has it (featmon_guard/version.py: `{game_date, written_at, rows,
quality_avg, fingerprint}`, the fingerprint computed there and only there).

Read from featmon's recorded history (`state.dataset.store_versions`) when it holds the
date, else with one partition-pruned query of the store. The history is as fresh as the
last cycle (or `featmon snapshot`); the store query is current. Each lookup opens the
warehouse read-only for that request, under a timeout, and an answer is shared by every
caller for `cache_s` seconds, so many worker instances asking before each batch cost one
lookup per date per few seconds.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from checks.query.store_summary import store_version_query
from featmon_guard.version import StoreVersion
from monitor.config import Config
from monitor.persistence.history import History
from monitor.pipeline.plan import tables_of
from monitor.warehouse import Warehouse, open_waiting_for_lock, open_warehouse

HISTORY, STORE = "history", "store"
T = TypeVar("T")


class LookupTimeout(Exception):
    """The warehouse did not answer within the request's timeout."""


@dataclass(frozen=True)
class Lookup:
    version: StoreVersion | None  # None: the date has no store rows
    source: str  # HISTORY or STORE: where the answer was read


def _version(day: dt.date, row: dict[str, object]) -> StoreVersion:
    written_at = row["written_at"]
    assert isinstance(written_at, dt.datetime)
    rows, quality = row["row_count"], row["quality_avg"]
    return StoreVersion(
        game_date=day,
        written_at=written_at if written_at.tzinfo else written_at.replace(tzinfo=dt.UTC),
        rows=None if rows is None else int(str(rows)),
        quality_avg=None if quality is None else round(float(str(quality)), 6),
    )


def read_version(config: Config, wh: Warehouse, day: dt.date) -> Lookup:
    """The date's latest version: featmon's history when it recorded the date, else the
    store's one-partition query."""
    tables = tables_of(config)
    if config.history is not None:
        row = History(wh, config.state.dataset, tables, config.history).latest_observed(day)
        if row is not None:
            return Lookup(_version(day, row), HISTORY)
    rows = list(wh.rows(store_version_query(tables, day)))
    return Lookup(_version(day, rows[0]) if rows else None, STORE)


def run_bounded(
    pool: concurrent.futures.ThreadPoolExecutor, work: Callable[[], T], timeout_s: float
) -> T:
    """`work()` on the pool, answered within `timeout_s` or LookupTimeout (the work itself
    runs on to its own end: DuckDB and BigQuery calls cannot be abandoned midway)."""
    future = pool.submit(work)
    try:
        return future.result(timeout=timeout_s)
    except concurrent.futures.TimeoutError:
        raise LookupTimeout(f"the warehouse took longer than {timeout_s:g} s") from None


class StoreVersions:
    """Lookups with a timeout and a short shared cache. `open_` opens the warehouse for
    reading (read-only DuckDB, retried while a writer holds the file, until the timeout)."""

    def __init__(
        self,
        config: Config,
        *,
        timeout_s: float = 5.0,
        cache_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.timeout_s = timeout_s
        self.cache_s = cache_s
        self.clock = clock
        self.lookups = 0  # warehouse reads (the rest came from the cache)
        self._cache: dict[dt.date, tuple[float, Lookup]] = {}
        self._lock = threading.Lock()
        self._pool = concurrent.futures.ThreadPoolExecutor(4, thread_name_prefix="featmon-ver")

    def _read(self, day: dt.date) -> Lookup:
        # Waiting for a writer's lock ends before the request's timeout, so a locked file
        # is answered as such rather than as a slow warehouse.
        wait_s = self.timeout_s * 0.8
        wh = open_waiting_for_lock(lambda: open_warehouse(self.config), wait_s, 0.05)
        with wh:
            return read_version(self.config, wh, day)

    def latest(self, day: dt.date) -> Lookup:
        """The answer for `day`; raises LookupTimeout, or the warehouse's error."""
        now = self.clock()
        with self._lock:
            hit = self._cache.get(day)
            if hit is not None and now < hit[0]:
                return hit[1]
            self.lookups += 1
        lookup = run_bounded(self._pool, lambda: self._read(day), self.timeout_s)
        with self._lock:
            self._cache[day] = (now + self.cache_s, lookup)
        return lookup

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
