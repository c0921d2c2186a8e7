"""The guard a prediction worker asks before predicting from cached features: is the
version it cached still the store's latest for that game date?

Answers are `current`, `stale` (with the latest write time and quality, so the worker can
log what it is reloading to), or `unknown` with the reason (the source failed, timed out,
or the date has no store rows). What to do on `unknown` is the caller's choice: fail-open
(predict from the cache; availability first) or fail-closed (reload or refuse; correctness
first); docs/actions.md.

Each game date's latest version is cached for `ttl_s` (30 s by default), so a worker
calling the guard per request costs one lookup per date per TTL; failures are cached for
`error_ttl_s`, so a down source is not hammered either. The clock is injectable for tests.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from featmon_guard.sources import BigQuery, DuckDB, Endpoint, Source, StoreTable
from featmon_guard.version import StoreVersion, iso_z

Status = Literal["current", "stale", "unknown"]


@dataclass(frozen=True)
class Answer:
    status: Status
    game_date: dt.date
    latest: StoreVersion | None = None  # the store's latest version, when known
    reason: str = ""
    cached: bool = False  # answered from the guard's cache, without a lookup

    @property
    def current(self) -> bool:
        return self.status == "current"

    @property
    def stale(self) -> bool:
        return self.status == "stale"

    @property
    def unknown(self) -> bool:
        return self.status == "unknown"

    def use_cache(self, *, fail_open: bool = True) -> bool:
        """Whether to predict from the cached features: yes when current, no when stale,
        and `fail_open` when the guard could not tell."""
        return self.current or (self.unknown and fail_open)

    def __str__(self) -> str:
        if self.latest is None:
            return f"{self.game_date}: {self.status} ({self.reason})"
        latest = f"latest write {iso_z(self.latest.written_at)}, quality {self.latest.quality_avg}"
        return f"{self.game_date}: {self.status}, {latest}" + (
            f" ({self.reason})" if self.reason else ""
        )


@dataclass
class _Entry:
    expires: float
    version: StoreVersion | None
    error: str | None


class Guard:
    def __init__(
        self,
        source: Source,
        *,
        ttl_s: float = 30.0,
        error_ttl_s: float = 5.0,
        quality_tolerance: float = 0.01,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.ttl_s = ttl_s
        self.error_ttl_s = error_ttl_s
        self.quality_tolerance = quality_tolerance
        self.clock = clock
        self.lookups = 0  # calls to the source (the rest were answered from the cache)
        self._cache: dict[dt.date, _Entry] = {}
        self._lock = threading.Lock()

    @classmethod
    def endpoint(
        cls,
        url: str,
        *,
        timeout_s: float = 2.0,
        headers: Mapping[str, str] | None = None,
        **options: Any,
    ) -> Guard:
        """Ask featmon's store-version endpoint (`featmon serve`)."""
        return cls(Endpoint(url, timeout_s=timeout_s, headers=headers), **options)

    @classmethod
    def bigquery(
        cls,
        client: Any,
        store: StoreTable | None = None,
        *,
        timeout_s: float = 10.0,
        **options: Any,
    ) -> Guard:
        """Ask BigQuery directly with the worker's client (one partition per lookup)."""
        return cls(BigQuery(client, store, timeout_s=timeout_s), **options)

    @classmethod
    def duckdb(cls, path: str | Path, store: StoreTable | None = None, **options: Any) -> Guard:
        """Ask an embedded DuckDB file (the demo, tests)."""
        return cls(DuckDB(path, store), **options)

    def check(
        self,
        game_date: dt.date | str,
        written_at: dt.datetime | None = None,
        quality: float | None = None,
    ) -> Answer:
        """Whether features cached for `game_date` are the store's latest: give the write
        time they were read at (the max of their rows' write times), or their average
        quality, or both (stale if either says so)."""
        if written_at is None and quality is None:
            raise ValueError("give the cached features' written_at, quality, or both")
        day = dt.date.fromisoformat(game_date) if isinstance(game_date, str) else game_date
        entry, cached = self._entry(day)
        if entry.error is not None:
            return Answer("unknown", day, reason=entry.error, cached=cached)
        latest = entry.version
        if latest is None:
            return Answer("unknown", day, reason=f"the store has no rows for {day}", cached=cached)
        reasons = []
        if written_at is not None:
            mine = written_at if written_at.tzinfo else written_at.replace(tzinfo=dt.UTC)
            if latest.written_at > mine:
                reasons.append(f"rewritten at {iso_z(latest.written_at)} after {iso_z(mine)}")
        if quality is not None:
            if latest.quality_avg is None:
                if written_at is None:
                    return Answer(
                        "unknown", day, latest, "the store's version has no quality", cached
                    )
            elif abs(latest.quality_avg - quality) > self.quality_tolerance:
                reasons.append(f"store quality {latest.quality_avg:g}, cached {quality:g}")
        status: Status = "stale" if reasons else "current"
        return Answer(status, day, latest, "; ".join(reasons), cached)

    def forget(self, game_date: dt.date | None = None) -> None:
        """Drop the cached answer of a date (or all): e.g. on an invalidation event."""
        with self._lock:
            if game_date is None:
                self._cache.clear()
            else:
                self._cache.pop(game_date, None)

    def _entry(self, day: dt.date) -> tuple[_Entry, bool]:
        now = self.clock()
        with self._lock:
            entry = self._cache.get(day)
            if entry is not None and now < entry.expires:
                return entry, True
            self.lookups += 1
        try:
            entry = _Entry(now + self.ttl_s, self.source.latest(day), None)
        except Exception as e:  # any failure is an answer: unknown, with why
            entry = _Entry(now + self.error_ttl_s, None, f"{type(e).__name__}: {e}")
        with self._lock:
            self._cache[day] = entry
        return entry, False
