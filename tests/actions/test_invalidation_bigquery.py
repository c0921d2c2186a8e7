"""The invalidation log's statements as BigQuery SQL, on the BigQuery emulator: the same
events as on DuckDB for the demo's data, and once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from monitor.config import parse_config
from monitor.demo.incident import write_demo
from monitor.pipeline.cycle import record_history
from tests.lab import default_config_data
from tests.monitor.test_bigquery import TODAY, WINDOW, bq_config_data, emulator  # noqa: F401
from tests.peers import bigquery as bq_peer
from tests.peers.webhook import Receiver


def test_the_demo_versions_are_announced_alike_on_bigquery_and_duckdb(
    emulator: bq_peer.Emulator,  # noqa: F811
    tmp_path: Path,
    receiver: Receiver,
) -> None:
    path = tmp_path / "demo.duckdb"
    write_demo(str(path), TODAY, ZoneInfo("America/New_York"))
    local = default_config_data()
    local["warehouse"] = {"backend": "duckdb", "path": str(path)}
    remote = bq_config_data(emulator.endpoint)
    remote["history"] = local["history"]
    signal = {"invalidation": {"webhook": {"url": receiver.url}}}
    # Noon UTC on T: today is T in New York; T-2 and T-1 have been played.
    now = dt.datetime.combine(TODAY, dt.time(12), tzinfo=dt.UTC)
    posts = []
    for data in (local, remote):
        config = parse_config({**data, "actions": signal})
        assert record_history(config, WINDOW, now) == []
        assert record_history(config, WINDOW, now + dt.timedelta(minutes=5)) == []  # once
        posts.append(sorted(receiver.posts, key=lambda p: (p["game_date"], p["written_at"])))
        receiver.posts.clear()
    on_duckdb, on_bigquery = posts
    assert on_bigquery == on_duckdb
    assert {p["game_date"] for p in on_duckdb} == {str(TODAY), str(TODAY + dt.timedelta(days=1))}
    latest_today = [p for p in on_duckdb if p["game_date"] == str(TODAY)][-1]
    assert (latest_today["rows"], latest_today["quality_avg"]) == (49, 87.59)
