"""The notification log across featmon versions: a log written when it kept Slack's channel
and ts gets the sink-neutral `ref` and the `group_id` columns added on first use, and its
rows still load."""

from __future__ import annotations

import datetime as dt
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
