"""Guard benchmark: what one `Guard.check` costs a prediction worker, cached and uncached.

It builds a season's feature store on the embedded warehouse (210 game dates x 350 players,
the production shapes, one date rewritten), then, in one run and interleaved so machine
noise hits every variant alike, times per call (median of `--calls` calls, best of
`--repeat` rounds):
  - DuckDB source, uncached (`ttl_s=0`: one partition-pruned query per call) vs cached;
  - the store-version endpoint over local HTTP (featmon_guard.endpoint's reference server
    over the same file), uncached vs cached;
and prints each cost and the uncached/cached ratios. The last line is machine-readable JSON.

Usage: python bench/guard.py [--calls 50] [--repeat 3] [--dates 210] [--players 350]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from featmon_guard import Guard  # noqa: E402
from featmon_guard.endpoint import StoreVersionServer  # noqa: E402
from featmon_guard.sources import DuckDB  # noqa: E402
from monitor.demo.schema import STORE_TABLE, create_tables  # noqa: E402
from monitor.warehouse.duckdb import DuckDBWarehouse  # noqa: E402

FIRST = dt.date(2025, 10, 21)


def build(path: Path, dates: int, players: int) -> dt.date:
    """The season's store; returns the date the benchmark asks about (rewritten once)."""
    wh = DuckDBWarehouse(path, read_only=False)
    try:
        create_tables(wh)
        wh.execute(
            f"INSERT INTO {STORE_TABLE} (player_lookup, game_date, game_id, features, "
            "feature_names, feature_count, feature_version, feature_quality_score, "
            "is_quality_ready, created_at, updated_at) "
            "SELECT 'player_' || p, $first + d::INTEGER, 'g' || d, [1.0, 2.0], ['a', 'b'], 2, "
            "'v2_37features', 65.46 + (p % 30), true, "
            "TIMESTAMPTZ '2025-10-20 17:00:00+00' + to_days(d::INTEGER), NULL "
            "FROM range($dates) AS t(d), range($players) AS u(p)",
            {"first": FIRST, "dates": dates, "players": players},
        )
        asked = FIRST + dt.timedelta(days=dates // 2)
        wh.execute(
            f"UPDATE {STORE_TABLE} SET updated_at = created_at + INTERVAL 5 HOUR "
            "WHERE game_date = $day",
            {"day": asked},
        )
    finally:
        wh.close()
    return asked


def per_call(call: Callable[[], object], calls: int) -> float:
    """Median seconds of one call."""
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dates", type=int, default=210)
    parser.add_argument("--players", type=int, default=350)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "store.duckdb"
        started = time.perf_counter()
        day = build(path, args.dates, args.players)
        rows = args.dates * args.players
        print(
            f"store: {rows:,} rows, {args.dates} game dates ({time.perf_counter() - started:.1f}s)"
        )
        server = StoreVersionServer(DuckDB(path))
        try:
            guards = {
                "duckdb_uncached": Guard.duckdb(path, ttl_s=0),
                "duckdb_cached": Guard.duckdb(path),
                "endpoint_uncached": Guard.endpoint(server.url, ttl_s=0),
                "endpoint_cached": Guard.endpoint(server.url),
            }
            written = None
            for guard in guards.values():
                answer = guard.check(day, quality=70.0)  # warms the cached ones
                assert answer.latest is not None and not answer.unknown, answer
                written = answer.latest.written_at
            best = {name: float("inf") for name in guards}
            for _ in range(args.repeat):
                for name, guard in guards.items():
                    cost = per_call(lambda g=guard: g.check(day, written_at=written), args.calls)
                    best[name] = min(best[name], cost)
        finally:
            server.stop()
    ratios = {
        "duckdb": best["duckdb_uncached"] / best["duckdb_cached"],
        "endpoint": best["endpoint_uncached"] / best["endpoint_cached"],
    }
    print(f"per call, median of {args.calls}, best of {args.repeat} (microseconds):")
    for name, value in best.items():
        print(f"  {name:<18} {value * 1e6:10.1f}")
    print(f"DuckDB query / cached:          {ratios['duckdb']:.0f}x")
    print(f"endpoint over HTTP / cached:    {ratios['endpoint']:.0f}x")
    print(json.dumps({"per_call_us": {k: v * 1e6 for k, v in best.items()}, "ratios": ratios}))


if __name__ == "__main__":
    main()
