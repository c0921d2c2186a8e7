"""The remediation log's statements and the recovery query as BigQuery SQL, on the BigQuery
emulator: the same rows and figures as on DuckDB for the demo's data."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from alerts.lifecycle import AlertState, Notification
from monitor.config import Config, parse_config
from monitor.demo.incident import write_demo
from monitor.persistence.remediations import RemediationLog
from monitor.remediation.recovery import recoveries
from monitor.warehouse import open_for_writing
from tests.lab import default_config_data
from tests.monitor.test_bigquery import TODAY, bq_config_data, emulator  # noqa: F401
from tests.peers import bigquery as bq_peer

ALERT_AT = dt.datetime.combine(TODAY, dt.time(4, 0), tzinfo=dt.UTC)
RESOLVED_AT = ALERT_AT + dt.timedelta(hours=1)


def exercise(config: Config) -> dict[str, Any]:
    """Claim, answer and reply one request, then the date's recovery, on `config`'s warehouse."""
    with open_for_writing(config) as wh:
        log = RemediationLog(wh, config.state.dataset)
        log.ensure()
        row_id = log.claim(
            TODAY,
            trigger="auto",
            check="stale_predictions",
            fingerprint="f" * 16,
            group_id="g1",
            alert_started_at=ALERT_AT,
            request='{"game_date": "2026-02-03"}',
            now=ALERT_AT + dt.timedelta(minutes=2),
        )
        log.finish(
            row_id,
            "accepted",
            ALERT_AT + dt.timedelta(minutes=3),
            attempts=2,
            http_status=202,
            batch_id="b-7",
            error="",
        )
        log.mark_reply(row_id, "replied")
        [row] = log.of_date(TODAY)
        state = AlertState(
            fingerprint="f" * 16,
            labels={"check": "stale_predictions", "game_date": TODAY.isoformat(), "kind": ""},
            status="resolved",
            started_at=ALERT_AT,
            last_seen_at=RESOLVED_AT,
            resolved_at=RESOLVED_AT,
        )
        found = recoveries(config, wh, [Notification("resolved", state)], RESOLVED_AT)
    rec = found[TODAY.isoformat()]
    return {
        "row": (row.status, row.attempts, row.http_status, row.batch_id, row.reply),
        "text": rec.text(),
        "metrics": rec.metrics(),
    }


def test_the_log_and_the_recovery_are_alike_on_bigquery_and_duckdb(
    emulator: bq_peer.Emulator,  # noqa: F811
    tmp_path: Path,
) -> None:
    path = tmp_path / "demo.duckdb"
    write_demo(str(path), TODAY, ZoneInfo("America/New_York"))
    local = default_config_data()
    local["warehouse"] = {"backend": "duckdb", "path": str(path)}
    local.pop("history", None)
    remote = bq_config_data(emulator.endpoint)
    on_duckdb = exercise(parse_config(local))
    on_bigquery = exercise(parse_config(remote))
    assert on_bigquery == on_duckdb, (on_bigquery, on_duckdb)
    assert on_duckdb["row"] == ("accepted", 2, 202, "b-7", "replied")
    assert "regeneration requested 2m 00s after the alert, batch b-7" in on_duckdb["text"]
    assert on_duckdb["metrics"]["superseded_predictions"] > 0  # the demo supersedes some
