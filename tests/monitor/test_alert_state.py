"""The notification log across featmon versions: a log written when it kept Slack's channel
and ts gets the sink-neutral `ref` and the `group_id` columns added on first use, and its
rows still load."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from monitor.persistence.alert_state import StateStore
from monitor.warehouse.duckdb import DuckDBWarehouse

NOW = dt.datetime(2026, 2, 3, 5, 0, tzinfo=dt.UTC)


def test_an_older_notification_log_gains_the_ref_column(tmp_path: Path) -> None:
    wh = DuckDBWarehouse(tmp_path / "state.duckdb", read_only=False)
    wh.execute("CREATE SCHEMA featmon_state")
    wh.execute(
        "CREATE TABLE featmon_state.notifications (id VARCHAR, fingerprint VARCHAR, "
        "kind VARCHAR, sink VARCHAR, status VARCHAR, attempts BIGINT, created_at TIMESTAMPTZ, "
        "updated_at TIMESTAMPTZ, channel VARCHAR, ts VARCHAR, error VARCHAR, payload VARCHAR)"
    )
    store = StateStore(wh, "featmon_state")
    store.ensure()
    store.ensure()  # idempotent
    columns = [r[0] for r in wh.con.execute("DESCRIBE featmon_state.notifications").fetchall()]
    assert {"ref", "group_id", "channel"} <= set(columns)  # added, nothing dropped
    wh.execute(
        "INSERT INTO featmon_state.notifications (id, fingerprint, kind, sink, status, attempts,"
        " created_at, updated_at, error, payload, group_id) VALUES ('n1', 'fp', 'firing',"
        " 'slack', 'sent', 1, $now, $now, '', '{}', 'g1')",
        {"now": NOW},
    )
    store.mark_sent("n1", '{"channel": "C1", "ts": "1.2"}', NOW)
    assert store.group_ref("g1", "slack") == '{"channel": "C1", "ts": "1.2"}'
    assert store.group_ref("g1", "webhook") is None
    wh.close()


def test_a_run_with_its_tables_in_place_sends_no_ddl(tmp_path: Path) -> None:
    from monitor.persistence.tables import ensure_tables

    wh = DuckDBWarehouse(tmp_path / "state.duckdb", read_only=False)
    tables = {"t": {"id": "STRING", "at": "TIMESTAMP"}}
    assert ensure_tables(wh, "st", tables) == 2  # the schema and the table
    assert ensure_tables(wh, "st", tables) == 0  # a later run: nothing to do
    newer = {"t": {**tables["t"], "ref": "STRING"}}
    assert ensure_tables(wh, "st", newer) == 1  # a column a newer featmon added
    assert wh.columns_of("st") == {"t": {"id", "at", "ref"}}
    assert wh.columns_of("nowhere") == {}
    wh.close()


def test_an_alert_stored_before_grouping_gets_a_group_on_its_next_run(tmp_path: Path) -> None:
    """An alerts table from before grouping gains `group_id`; its firing alerts load with
    none, and the next run puts each in the open group of its date."""
    from alerts.grouping import labels_of_group
    from alerts.lifecycle import RunScope, evaluate
    from checks.base import CheckResult

    wh = DuckDBWarehouse(tmp_path / "state.duckdb", read_only=False)
    wh.execute("CREATE SCHEMA featmon_state")
    wh.execute(
        "CREATE TABLE featmon_state.alerts (fingerprint VARCHAR, labels VARCHAR, status VARCHAR,"
        " started_at TIMESTAMPTZ, last_seen_at TIMESTAMPTZ, summary VARCHAR, affected BIGINT,"
        " total BIGINT, resolved_at TIMESTAMPTZ, resolved_reason VARCHAR,"
        " last_notified_at TIMESTAMPTZ, notified_affected BIGINT, muted_by VARCHAR)"
    )
    day = dt.date(2026, 2, 3)
    result = CheckResult(
        check="low_quality",
        game_date=day,
        status="alert",
        severity="warning",
        total=10,
        affected=2,
        message="2 of 10",
    )
    scope = RunScope(
        checks=frozenset({"low_quality"}), window=(day, day), configured_window=True, scheduled=True
    )
    [old] = evaluate({}, [result], NOW, scope=scope).states.values()
    wh.execute(
        "INSERT INTO featmon_state.alerts VALUES ($fp, $labels, 'firing', $now, $now, '2 of 10',"
        " 2, 10, NULL, '', $now, 2, '')",
        {"fp": old.fingerprint, "labels": json.dumps(dict(old.labels)), "now": NOW},
    )
    store = StateStore(wh, "featmon_state")
    store.ensure()
    [legacy] = store.firing().values()
    assert legacy.group_id == "" and legacy.started_at == NOW
    later = NOW + dt.timedelta(minutes=5)
    t = evaluate(store.firing(), [result], later, scope=scope)
    assert t.notifications == []  # nothing new to say about it
    store.save(t.states.values())
    [grouped] = store.firing().values()
    assert labels_of_group(grouped.group_id) == {"game_date": "2026-02-03"}
    wh.close()
