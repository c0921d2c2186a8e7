"""A date recovers only when none of its alerts fires any more: an alert that resolves while
another of the same date keeps firing (without notifying this run) claims no recovery."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from alerts.lifecycle import AlertState, Notification
from monitor.config import parse_config
from monitor.demo.incident import write_demo
from monitor.remediation.recovery import recoveries
from monitor.warehouse import open_for_writing
from tests.lab import default_config_data

TODAY = dt.date(2026, 2, 3)
ALERT_AT = dt.datetime.combine(TODAY, dt.time(4, 0), tzinfo=dt.UTC)
RESOLVED_AT = ALERT_AT + dt.timedelta(hours=1)


def test_a_date_with_an_alert_still_firing_has_not_recovered(tmp_path: Path) -> None:
    path = tmp_path / "demo.duckdb"
    write_demo(str(path), TODAY, ZoneInfo("America/New_York"))
    data = default_config_data()
    data["warehouse"] = {"backend": "duckdb", "path": str(path)}
    config = parse_config(data)
    resolved = AlertState(
        fingerprint="a" * 16,
        labels={"check": "store_freshness", "game_date": TODAY.isoformat(), "kind": ""},
        status="resolved",
        started_at=ALERT_AT,
        last_seen_at=RESOLVED_AT,
        resolved_at=RESOLVED_AT,
    )
    notes = [Notification("resolved", resolved)]
    with open_for_writing(config) as wh:
        alone = recoveries(config, wh, notes, RESOLVED_AT)
        beside = recoveries(config, wh, notes, RESOLVED_AT, still_firing={TODAY.isoformat()})
    assert TODAY.isoformat() in alone  # the date's last alert resolved: it recovered
    assert beside == {}  # feature_mismatch still fires on it: no recovery yet
