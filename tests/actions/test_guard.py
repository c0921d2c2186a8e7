"""The worker guard: current, stale after a rewrite, cached within its TTL, and unknown
(with why) when it cannot tell; against a real DuckDB file, the store-version endpoint
over HTTP, and the BigQuery emulator."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from featmon_guard import Guard, StoreTable, StoreVersion, version_fingerprint
from featmon_guard.endpoint import StoreVersionServer
from featmon_guard.sources import DuckDB
from monitor.demo.schema import STORE_TABLE
from tests.lab import DAY, ROOT, Clock, Lab, utc
from tests.monitor.test_bigquery import emulator_python
from tests.monitor.test_daemon import HOLD_LOCK
from tests.peers import bigquery as bq_peer
from tests.peers import free_port


@pytest.fixture
def store(lab: Lab) -> Lab:
    """DAY written at 18:05 with quality 65.46 (two players)."""
    lab.add_store("a", written_at=utc("18:05"), quality=65.46)
    lab.add_store("b", written_at=utc("18:05"), quality=65.46)
    lab.flush()
    return lab


def test_the_guard_imports_without_featmons_stack() -> None:
    """A worker imports the guard alone: no CLI, config, SQL or cloud libraries come with it."""
    heavy = [
        "click", "pydantic", "sqlglot", "yaml", "duckdb", "google", "rich", "apscheduler",
        "matplotlib", "monitor", "alerts", "checks",
    ]  # fmt: skip
    code = (
        "import sys, featmon_guard; "
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({heavy!r})))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert proc.stdout.strip() == "[]"


def test_current_then_stale_after_a_rewrite_once_the_ttl_has_passed(store: Lab) -> None:
    clock = Clock()
    guard = Guard.duckdb(store.path, clock=clock)
    answer = guard.check(DAY, written_at=utc("18:05"))
    assert answer.current and not answer.cached
    assert answer.latest == StoreVersion(DAY, utc("18:05"), 2, 65.46)

    store.rewrite_store(utc("22:30:07"), 87.59)
    clock.now += 29  # within the 30 s TTL: the cached answer, no lookup
    cached = guard.check(DAY, written_at=utc("18:05"))
    assert cached.current and cached.cached and guard.lookups == 1

    clock.now += 2
    stale = guard.check(DAY, written_at=utc("18:05"))
    assert stale.stale and not stale.use_cache()
    assert stale.latest == StoreVersion(DAY, utc("22:30:07"), 2, 87.59)
    assert stale.latest.fingerprint == version_fingerprint(DAY, utc("22:30:07"))
    assert "rewritten at 2026-02-03T22:30:07Z" in stale.reason
    assert guard.lookups == 2
    assert guard.check(DAY, written_at=utc("22:30:07")).current


def test_the_cached_quality_alone_tells_stale_from_current(store: Lab) -> None:
    guard = Guard.duckdb(store.path)
    assert guard.check(DAY, quality=65.46).current
    assert guard.check(DAY, quality=65.5).stale  # beyond the 0.01 tolerance
    assert guard.check("2026-02-03", quality=65.46, written_at=utc("17:00")).stale


def test_unknown_with_the_reason_and_fail_open_or_closed_as_the_caller_chooses(
    store: Lab,
) -> None:
    clock = Clock()
    guard = Guard.duckdb(store.path, clock=clock)
    empty = guard.check(DAY + dt.timedelta(days=1), written_at=utc("18:05"))
    assert empty.unknown and empty.reason == "the store has no rows for 2026-02-04"

    # Another process (the pipeline loading data) holds the file's write lock.
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(store.path), "60"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        locked = guard.check(DAY, written_at=utc("18:05"))
    finally:
        holder.kill()
        holder.wait()
    assert locked.unknown and "lock" in locked.reason.lower()
    assert locked.use_cache(fail_open=True) and not locked.use_cache(fail_open=False)
    clock.now += 5  # errors are cached briefly; then the guard asks again, and can tell
    assert guard.check(DAY, written_at=utc("18:05")).current

    missing = Guard.duckdb(store.path.with_name("gone.duckdb")).check(DAY, quality=1.0)
    assert missing.unknown and "no DuckDB file" in missing.reason
    with pytest.raises(ValueError, match="written_at, quality, or both"):
        guard.check(DAY)


@pytest.fixture
def endpoint(store: Lab) -> Iterator[StoreVersionServer]:
    """The store-version endpoint's contract, served over HTTP from the lab warehouse."""
    server = StoreVersionServer(DuckDB(store.path))
    yield server
    server.stop()


def test_the_endpoint_client_current_stale_cached_and_404(
    store: Lab, endpoint: StoreVersionServer
) -> None:
    clock = Clock()
    guard = Guard.endpoint(endpoint.url, clock=clock)
    assert guard.check(DAY, written_at=utc("18:05")).current
    store.rewrite_store(utc("22:30:07"), 87.59)
    assert guard.check(DAY, written_at=utc("18:05")).current  # cached
    assert endpoint.requests == 1
    clock.now += 30
    stale = guard.check(DAY, written_at=utc("18:05"))
    assert stale.stale and stale.latest is not None and stale.latest.quality_avg == 87.59
    assert endpoint.requests == 2
    none = guard.check(DAY + dt.timedelta(days=1), written_at=utc("18:05"))
    assert none.unknown and "no rows" in none.reason


def test_the_endpoint_down_or_slow_is_unknown_within_the_timeout_and_not_hammered(
    store: Lab,
) -> None:
    clock = Clock()
    down = Guard.endpoint(f"http://127.0.0.1:{free_port()}/store-version", clock=clock)
    first = down.check(DAY, written_at=utc("18:05"))
    assert first.unknown and "URLError" in first.reason
    assert down.check(DAY, written_at=utc("18:05")).cached  # errors cached for 5 s
    clock.now += 5
    down.check(DAY, written_at=utc("18:05"))
    assert down.lookups == 2

    release = threading.Event()

    class Slow(DuckDB):
        def latest(self, game_date: dt.date) -> StoreVersion | None:
            release.wait(10)
            return super().latest(game_date)

    server = StoreVersionServer(Slow(store.path))
    try:
        slow = Guard.endpoint(server.url, timeout_s=0.2).check(DAY, written_at=utc("18:05"))
    finally:
        release.set()
        server.stop()
    assert slow.unknown and "timed out" in slow.reason


@pytest.fixture(scope="module")
def bigquery_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[bq_peer.Emulator]:
    python = emulator_python()
    if python is None:
        pytest.skip("bqemulator not installed: run `make test` (builds .venv-bqemulator)")
    emu = bq_peer.Emulator(python, tmp_path_factory.mktemp("bqemu") / "emulator.log")
    try:
        client = bq_peer.client_for(emu.endpoint)
        client.create_dataset("nba_predictions", exists_ok=True)
        bq_peer.create_table(client, STORE_TABLE, bq_peer.STORE_SCHEMA, "game_date")
        rows = [
            {
                "player_lookup": player,
                "game_date": day,
                "game_id": f"{day:%Y%m%d}_01",
                "features": [1.0],
                "feature_names": ["x"],
                "feature_count": 1,
                "feature_version": "v2",
                "feature_quality_score": 65.46,
                "is_quality_ready": True,
                "created_at": utc("18:05"),
                "updated_at": None,
            }
            for player in ("a", "b")
            for day in (DAY, DAY + dt.timedelta(days=1))
        ]
        bq_peer.load_rows(client, STORE_TABLE, bq_peer.STORE_SCHEMA, rows)
        yield emu
    finally:
        emu.stop()


def test_the_bigquery_guard_one_partition_pruned_query_per_lookup(
    bigquery_store: bq_peer.Emulator,
) -> None:
    proxy = bq_peer.Proxy(bigquery_store.endpoint)
    try:
        client = bq_peer.client_for(proxy.endpoint)
        clock = Clock()
        guard = Guard.bigquery(client, StoreTable(STORE_TABLE), clock=clock)
        answer = guard.check(DAY, written_at=utc("18:05"))
        assert answer.current, answer
        assert answer.latest == StoreVersion(DAY, utc("18:05"), 2, 65.46)

        client.query(
            f"UPDATE `{STORE_TABLE}` SET updated_at = TIMESTAMP '2026-02-03 22:30:07+00', "
            "feature_quality_score = 87.59 WHERE game_date = DATE '2026-02-03'"
        ).result()
        assert guard.check(DAY, written_at=utc("18:05")).cached
        clock.now += 30
        stale = guard.check(DAY, written_at=utc("18:05"))
        assert stale.stale, stale
        assert stale.latest == StoreVersion(DAY, utc("22:30:07"), 2, 87.59)

        guard_queries = [
            r.body["configuration"]["query"]
            for r in proxy.job_inserts()
            if "featmon-guard" in str(r.body.get("configuration", {}).get("labels", {}))
        ]
        assert len(guard_queries) == 2
        for query in guard_queries:
            assert "`game_date` = @game_date" in query["query"]
            [param] = query["queryParameters"]
            assert param["parameterType"]["type"] == "DATE"
    finally:
        proxy.stop()


def test_the_guard_bench_runs_on_a_tiny_store_and_prints_its_line() -> None:
    """(Its numbers are not asserted here: docs/benchmarks.md has a run.)"""
    argv = [sys.executable, str(ROOT / "bench" / "guard.py"), "--calls", "3", "--repeat", "1"]
    proc = subprocess.run(
        [*argv, "--dates", "3", "--players", "5"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    last = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(last["ratios"]) == {"duckdb", "endpoint"}
    assert set(last["per_call_us"]) == {
        "duckdb_uncached", "duckdb_cached", "endpoint_uncached", "endpoint_cached",
    }  # fmt: skip
