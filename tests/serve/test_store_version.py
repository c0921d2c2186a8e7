"""`featmon serve`'s store-version endpoint: the worker guard's contract over real HTTP on
the demo warehouse (docs/serve.md): the answer, 404/400, caching headers and 304, a rewrite
seen once featmon records it (history) or at once (no history), and the guard's client
seeing the rewrite after its TTL."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import urllib.parse

import yaml

from featmon_guard import Guard, version_fingerprint
from featmon_guard.sources import DuckDB
from monitor.config import load_config
from monitor.serve.server import Server
from tests.lab import Clock, featmon, rewrite_store
from tests.monitor.test_daemon import HOLD_LOCK
from tests.serve.conftest import Demo, get

REWRITE_AT = dt.datetime(2026, 12, 1, 1, 2, 3, 456000, tzinfo=dt.UTC)


def version_url(base: str, day: str) -> str:
    return f"{base}/store-version?{urllib.parse.urlencode({'game_date': day})}"


def test_the_answer_is_the_guards_contract_with_caching_headers(
    served: str, built_demo: Demo
) -> None:
    day = built_demo.incident_date
    r = get(version_url(served, day))
    assert r.status == 200
    # The store's own latest write of the date, as the guard's warehouse query reads it.
    expected = DuckDB(built_demo.warehouse).latest(dt.date.fromisoformat(day))
    assert expected is not None
    assert r.json() == expected.to_json()
    assert set(r.json()) == {"game_date", "written_at", "rows", "quality_avg", "fingerprint"}
    assert str(r.json()["written_at"]).endswith("Z")
    assert r.headers["ETag"] == f'"{expected.fingerprint}"'
    assert r.headers["Cache-Control"] == "max-age=5"
    assert r.headers["X-Featmon-Source"] == "history"  # the demo keeps history


def test_a_known_etag_gets_304_and_no_body(served: str, built_demo: Demo) -> None:
    url = version_url(served, built_demo.incident_date)
    etag = get(url).headers["ETag"]
    again = get(url, {"If-None-Match": etag})
    assert (again.status, again.body, again.headers["ETag"]) == (304, b"", etag)
    other = get(url, {"If-None-Match": '"0000000000000000"'})
    assert other.status == 200 and other.json()["fingerprint"] == etag.strip('"')


def test_a_date_without_store_rows_is_404_and_a_bad_date_400(served: str) -> None:
    missing = get(version_url(served, "2020-01-01"))
    assert missing.status == 404 and "2020-01-01" in str(missing.json()["error"])
    assert get(version_url(served, "not-a-date")).status == 400
    assert get(f"{served}/store-version").status == 400
    assert get(f"{served}/nowhere").status == 404
    health = get(f"{served}/healthz")
    assert (health.status, health.body) == (200, b"ok\n")


def test_a_rewrite_is_served_once_featmon_records_it(demo: Demo, in_process: Server) -> None:
    """With history, the endpoint answers what featmon recorded: the rewrite shows after
    the next cycle (here `featmon snapshot`), with the new fingerprint."""
    day = demo.incident_date
    url = version_url(in_process.url, day)
    before = get(url).json()
    rewrite_store(demo.warehouse, REWRITE_AT, 91.25, dt.date.fromisoformat(day))
    assert get(url).json() == before  # not recorded yet: the history's answer stands
    proc = featmon("snapshot", "--date", day, cwd=demo.folder)
    assert proc.returncode == 0, proc.stderr
    after = get(url)
    assert after.status == 200 and after.headers["X-Featmon-Source"] == "history"
    assert after.json()["written_at"] == "2026-12-01T01:02:03.456000Z"
    assert after.json()["quality_avg"] == 91.25
    assert after.json()["fingerprint"] == version_fingerprint(
        dt.date.fromisoformat(day), REWRITE_AT
    )
    assert after.json()["fingerprint"] != before["fingerprint"]
    assert get(url, {"If-None-Match": f'"{before["fingerprint"]}"'}).status == 200


def test_without_history_one_store_query_sees_a_rewrite_at_once(demo: Demo) -> None:
    data = yaml.safe_load(demo.config_path.read_text())
    del data["history"]
    demo.config_path.write_text(yaml.safe_dump(data))
    config, _ = load_config(str(demo.config_path))
    server = Server(config, "127.0.0.1", 0, timeout_s=10, cache_s=0).start()
    try:
        day = demo.incident_date
        url = version_url(server.url, day)
        assert get(url).headers["X-Featmon-Source"] == "store"
        rewrite_store(demo.warehouse, REWRITE_AT, 91.25, dt.date.fromisoformat(day))
        after = get(url)
        assert after.json()["written_at"] == "2026-12-01T01:02:03.456000Z"
        assert (
            after.headers["ETag"]
            == f'"{version_fingerprint(dt.date.fromisoformat(day), REWRITE_AT)}"'
        )
    finally:
        server.stop()


def test_the_guard_sees_a_rewrite_after_its_ttl(demo: Demo, in_process: Server) -> None:
    day = dt.date.fromisoformat(demo.incident_date)
    clock = Clock()
    guard = Guard.endpoint(f"{in_process.url}/store-version", ttl_s=30, clock=clock)
    first = guard.check(day, quality=87.59)
    assert first.current and first.latest is not None
    cached_at = first.latest.written_at
    rewrite_store(demo.warehouse, REWRITE_AT, 91.25, day)
    assert featmon("snapshot", "--date", day.isoformat(), cwd=demo.folder).returncode == 0
    clock.now += 29
    within = guard.check(day, written_at=cached_at)
    assert within.current and within.cached  # the TTL's promise: no lookup yet
    clock.now += 2
    after = guard.check(day, written_at=cached_at)
    assert after.stale and not after.cached
    assert after.latest is not None
    assert after.latest.fingerprint == version_fingerprint(day, REWRITE_AT)
    assert guard.lookups == 2


def test_a_port_in_use_is_a_usage_error_naming_the_option(served: str, built_demo: Demo) -> None:
    port = urllib.parse.urlsplit(served).port
    proc = featmon("serve", "--port", str(port), cwd=built_demo.folder)
    assert proc.returncode == 2
    assert f"featmon: --port: cannot listen on 127.0.0.1:{port}" in proc.stderr


def test_a_locked_warehouse_is_503_within_the_timeout_and_the_service_stays_up(
    demo: Demo,
) -> None:
    """Another process holds the DuckDB file's write lock past `--timeout`: the endpoint
    and the page answer 503 (not cached), healthz still 200; once the lock is gone, 200."""
    config, _ = load_config(str(demo.config_path))
    server = Server(config, "127.0.0.1", 0, timeout_s=0.5, cache_s=0).start()
    url = version_url(server.url, demo.incident_date)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(demo.warehouse), "120"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        locked = get(url)
        page = get(f"{server.url}/")
        health = get(f"{server.url}/healthz")
    finally:
        holder.kill()
        holder.wait()
    try:
        assert locked.status == 503 and locked.headers["Cache-Control"] == "no-store"
        error = str(locked.json()["error"])
        assert "lock" in error.lower() or "longer than 0.5 s" in error, error
        assert page.status == 503 and b"could not be read" in page.body
        assert health.status == 200
        assert get(url).status == 200  # the lock gone, the next request reads
    finally:
        server.stop()
