"""The invalidation log: which store versions were announced to which target, kept in
`state.dataset` beside the notification log and with the same protocol.

A row per (version, target) is written as `pending` before anything is published (the
intent), marked `sending` just before the publish and `sent` just after. A run that finds a
row in `sending` knows a process died in between: it publishes again (Pub/Sub and a webhook
cannot be asked whether a message arrived), which is the one duplicate a crash can cause;
subscribers deduplicate on (game_date, fingerprint). Rows of a date that has been played
before they were sent are marked `expired`: nobody caches features for it any more.

Every statement is BigQuery SQL with named parameters, run through the warehouse adapter.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from checks.query.sql import Params, ParamType, Query, table_ref
from featmon_guard.version import StoreVersion
from monitor.persistence.history import OBSERVED, SAME_WRITE
from monitor.persistence.tables import ensure_tables, insert_sql
from monitor.warehouse.base import Warehouse

_COLUMNS: dict[str, ParamType] = {
    "fingerprint": "STRING",
    "target": "STRING",
    "game_date": "DATE",
    "written_at": "TIMESTAMP",
    "source": "STRING",
    "status": "STRING",  # pending | sending | sent | expired
    "attempts": "INT64",
    "created_at": "TIMESTAMP",
    "updated_at": "TIMESTAMP",
    "error": "STRING",
    "payload": "STRING",  # the event, as published
}


@dataclass(frozen=True)
class Event:
    """One store version, as announced: `{game_date, written_at, rows, quality_avg,
    fingerprint, source, table}` (source: where featmon learned of the write, `featmon` for
    a version it read from the store; table: the feature store, as configured)."""

    version: StoreVersion
    source: str
    table: str

    def payload(self) -> dict[str, Any]:
        return {**self.version.to_json(), "source": self.source, "table": self.table}


@dataclass(frozen=True)
class LoggedEvent:
    fingerprint: str
    target: str
    game_date: dt.date
    status: str
    error: str
    payload: str


def new_events(
    versions: list[dict[str, Any]], announced: set[str], since: dt.datetime, table: str
) -> list[Event]:
    """Events for the versions recorded since `since` and not announced yet, oldest first.
    A write seen both in the store and in an outside record (log table, audit log) within
    SAME_WRITE is one version: it is announced once, from the store's reading (which knows
    rows and quality)."""
    observed = [v for v in versions if v["source"] == OBSERVED]
    out: list[Event] = []
    for v in sorted(versions, key=lambda v: (v["game_date"], v["written_at"], v["source"])):
        if v["recorded_at"] < since:
            continue
        if v["source"] != OBSERVED and any(
            o["game_date"] == v["game_date"]
            and abs(o["written_at"] - v["written_at"]) <= SAME_WRITE
            for o in observed
        ):
            continue
        quality = v["quality_avg"]
        version = StoreVersion(
            game_date=v["game_date"],
            written_at=v["written_at"],
            rows=None if v["row_count"] is None else int(v["row_count"]),
            quality_avg=None if quality is None else round(float(quality), 6),
        )
        if version.fingerprint not in announced:
            out.append(Event(version, v["source"], table))
    return out


class InvalidationLog:
    def __init__(self, wh: Warehouse, dataset: str) -> None:
        self.wh = wh
        self.dataset = dataset
        self.name = f"{dataset}.invalidations"
        self.table = table_ref(self.name)
        self.versions = table_ref(f"{dataset}.store_versions")

    def _run(self, sql: str, params: Params | None = None) -> list[dict[str, Any]]:
        query = Query(sql=sql, params=(params or Params()).freeze(), label="invalidation")
        return list(self.wh.rows(query))

    def ensure(self) -> None:
        ensure_tables(self.wh, self.dataset, {"invalidations": _COLUMNS})

    def candidates(self, today: dt.date, since: dt.datetime) -> list[dict[str, Any]]:
        """Versions of dates from `today` on: those recorded since `since` (what the run
        may announce) and every observed one of those dates (to fold outside records)."""
        params = Params()
        p_today = params.date("today", today)
        p_since = params.add("since", since, "TIMESTAMP")
        p_observed = params.string("observed", OBSERVED)
        return self._run(
            "SELECT game_date, written_at, source, row_count, quality_avg, recorded_at "
            f"FROM {self.versions} WHERE game_date >= {p_today} "
            f"AND (recorded_at >= {p_since} OR source = {p_observed})",
            params,
        )

    def announced(self, today: dt.date, target: str) -> set[str]:
        """Fingerprints of the versions already logged for `target` from `today` on."""
        params = Params()
        rows = self._run(
            f"SELECT DISTINCT fingerprint FROM {self.table} "
            f"WHERE game_date >= {params.date('today', today)} "
            f"AND target = {params.string('target', target)}",
            params,
        )
        return {r["fingerprint"] for r in rows}

    def record(self, events: list[Event], target: str, now: dt.datetime) -> None:
        """The intent: one pending row per event for `target`, before any publish."""
        rows = [
            {
                "fingerprint": e.version.fingerprint,
                "target": target,
                "game_date": e.version.game_date,
                "written_at": e.version.written_at,
                "source": e.source,
                "status": "pending",
                "attempts": 0,
                "created_at": now,
                "updated_at": now,
                "error": "",
                "payload": json.dumps(e.payload(), sort_keys=True),
            }
            for e in events
        ]
        if rows:
            self._run(*insert_sql(self.name, _COLUMNS, rows))

    def unsent(self, target: str) -> list[LoggedEvent]:
        """Pending (or interrupted) rows of a target, in write order per game date."""
        params = Params()
        p_pending, p_sending = (
            params.string("pending", "pending"),
            params.string("sending", "sending"),
        )
        rows = self._run(
            f"SELECT fingerprint, target, game_date, status, error, payload FROM {self.table} "
            f"WHERE target = {params.string('target', target)} "
            f"AND status IN ({p_pending}, {p_sending}) ORDER BY game_date, written_at, fingerprint",
            params,
        )
        return [
            LoggedEvent(
                r["fingerprint"],
                r["target"],
                r["game_date"],
                r["status"],
                r["error"] or "",
                r["payload"],
            )
            for r in rows
        ]

    def mark(self, row: LoggedEvent, status: str, now: dt.datetime, error: str = "") -> None:
        params = Params()
        attempts = ", attempts = attempts + 1" if status == "sending" else ""
        self._run(
            f"UPDATE {self.table} SET status = {params.string('status', status)}, "
            f"error = {params.string('error', error)}, "
            f"updated_at = {params.add('now', now, 'TIMESTAMP')}{attempts} "
            f"WHERE fingerprint = {params.string('fingerprint', row.fingerprint)} "
            f"AND target = {params.string('target', row.target)}",
            params,
        )

    def all_rows(self) -> list[dict[str, Any]]:
        """Every row, for tests and `featmon` reports."""
        return self._run(f"SELECT * FROM {self.table} WHERE TRUE ORDER BY game_date, written_at")
