"""Alert state and the notification log, kept in the warehouse beside the data.

So stateless runs (a Cloud Run job, a cron line, two processes after each other) share
one memory: which alerts fire, what each sink was told, and what is still pending. The
tables are created on first use (idempotent DDL) in the `state.dataset` schema.

Notification rows move pending -> sending -> sent. `sending` is written just before a
sink is called and `sent` (with the Slack ts) just after, so a row found in `sending`
by a later run marks a crash in between: that run looks the message up before
re-sending (see alerts/dispatch.py). Implemented for the DuckDB warehouse.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from alerts.codec import notification_from_json, notification_to_json
from alerts.dispatch import LoggedNotification
from alerts.lifecycle import AlertState, Notification, Silence
from monitor.warehouse.duckdb import DuckDBWarehouse

_STATE_COLUMNS = (
    "fingerprint",
    "labels",
    "status",
    "started_at",
    "last_seen_at",
    "summary",
    "affected",
    "total",
    "resolved_at",
    "resolved_reason",
    "last_notified_at",
    "notified_affected",
    "muted_by",
)


class StateStore:
    def __init__(self, wh: DuckDBWarehouse, schema: str) -> None:
        self.wh = wh
        self.s = schema  # a validated identifier

    def ensure(self) -> None:
        s = self.s
        for statement in (
            f"CREATE SCHEMA IF NOT EXISTS {s}",
            f"""CREATE TABLE IF NOT EXISTS {s}.alerts (
                fingerprint VARCHAR PRIMARY KEY, labels JSON, status VARCHAR,
                started_at TIMESTAMPTZ, last_seen_at TIMESTAMPTZ, summary VARCHAR,
                affected BIGINT, total BIGINT, resolved_at TIMESTAMPTZ, resolved_reason VARCHAR,
                last_notified_at TIMESTAMPTZ, notified_affected BIGINT, muted_by VARCHAR)""",
            f"""CREATE TABLE IF NOT EXISTS {s}.notifications (
                id VARCHAR PRIMARY KEY, fingerprint VARCHAR, kind VARCHAR, sink VARCHAR,
                status VARCHAR, attempts BIGINT, created_at TIMESTAMPTZ, updated_at TIMESTAMPTZ,
                channel VARCHAR, ts VARCHAR, error VARCHAR, payload JSON)""",
            f"""CREATE TABLE IF NOT EXISTS {s}.silences (
                id VARCHAR PRIMARY KEY, match JSON, until TIMESTAMPTZ, reason VARCHAR,
                created_at TIMESTAMPTZ, expired_at TIMESTAMPTZ)""",
        ):
            self.wh.execute(statement)

    def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cur = self.wh.con.execute(sql, list(params))
        names = [d[0] for d in cur.description or []]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    # Alerts ------------------------------------------------------------------------------

    def firing(self) -> dict[str, AlertState]:
        rows = self._fetch(f"SELECT * FROM {self.s}.alerts WHERE status = 'firing'")
        return {r["fingerprint"]: _state(r) for r in rows}

    def all_alerts(self) -> list[AlertState]:
        rows = self._fetch(f"SELECT * FROM {self.s}.alerts ORDER BY status, last_seen_at DESC")
        return [_state(r) for r in rows]

    def save(self, states: Iterable[AlertState]) -> None:
        placeholders = ", ".join("?" for _ in _STATE_COLUMNS)
        rows = []
        for st in states:
            values = [getattr(st, c) for c in _STATE_COLUMNS]
            values[1] = json.dumps(dict(st.labels))
            rows.append(values)
        if rows:
            self.wh.con.executemany(
                f"INSERT OR REPLACE INTO {self.s}.alerts ({', '.join(_STATE_COLUMNS)}) "
                f"VALUES ({placeholders})",
                rows,
            )

    # Notification log --------------------------------------------------------------------

    def record(self, notes: Sequence[Notification], sinks: Sequence[str], now: dt.datetime) -> None:
        """The intent, before anything is sent: one pending row per notification and sink."""
        rows = [
            [
                str(uuid.uuid4()),
                n.state.fingerprint,
                n.kind,
                sink,
                "pending",
                0,
                now,
                now,
                None,
                None,
                "",
                notification_to_json(n),
            ]
            for n in notes
            for sink in sinks
        ]
        if rows:
            self.wh.con.executemany(
                f"INSERT INTO {self.s}.notifications VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

    def unsent(self, sink: str) -> list[LoggedNotification]:
        rows = self._fetch(
            f"SELECT * FROM {self.s}.notifications WHERE sink = ? AND status <> 'sent' "
            "ORDER BY created_at, id",
            [sink],
        )
        return [_logged(r) for r in rows]

    def mark_sending(self, row_id: str, channel: str | None, now: dt.datetime) -> None:
        self.wh.execute(
            f"UPDATE {self.s}.notifications SET status = 'sending', attempts = attempts + 1, "
            "channel = COALESCE($channel, channel), updated_at = $now WHERE id = $id",
            {"id": row_id, "channel": channel, "now": now},
        )

    def mark_sent(self, row_id: str, channel: str | None, ts: str | None, now: dt.datetime) -> None:
        self.wh.execute(
            f"UPDATE {self.s}.notifications SET status = 'sent', channel = $channel, ts = $ts, "
            "error = '', updated_at = $now WHERE id = $id",
            {"id": row_id, "channel": channel, "ts": ts, "now": now},
        )

    def mark_pending(self, row_id: str, error: str, now: dt.datetime) -> None:
        self.wh.execute(
            f"UPDATE {self.s}.notifications SET status = 'pending', error = $error, "
            "updated_at = $now WHERE id = $id",
            {"id": row_id, "error": error, "now": now},
        )

    def message_of(self, fingerprint: str, sink: str) -> tuple[str | None, str | None]:
        """Where the alert's current message is: the latest sent firing notification."""
        rows = self._fetch(
            f"SELECT channel, ts FROM {self.s}.notifications WHERE fingerprint = ? AND sink = ? "
            "AND kind = 'firing' AND status = 'sent' ORDER BY updated_at DESC LIMIT 1",
            [fingerprint, sink],
        )
        return (rows[0]["channel"], rows[0]["ts"]) if rows else (None, None)

    def last_notifications(self) -> dict[str, dict[str, Any]]:
        rows = self._fetch(
            "SELECT fingerprint, kind, sink, status, updated_at, error "
            f"FROM {self.s}.notifications QUALIFY ROW_NUMBER() OVER "
            "(PARTITION BY fingerprint ORDER BY updated_at DESC, id) = 1"
        )
        return {r["fingerprint"]: r for r in rows}

    # Silences ----------------------------------------------------------------------------

    def add_silence(
        self, match: dict[str, str], until: dt.datetime, reason: str, now: dt.datetime
    ) -> str:
        silence_id = uuid.uuid4().hex[:8]
        self.wh.execute(
            f"INSERT INTO {self.s}.silences VALUES ($id, $match, $until, $reason, $now, NULL)",
            {
                "id": silence_id,
                "match": json.dumps(match),
                "until": until,
                "reason": reason,
                "now": now,
            },
        )
        return silence_id

    def silences(self, now: dt.datetime, *, active_only: bool = True) -> list[dict[str, Any]]:
        where = "WHERE expired_at IS NULL AND until > ?" if active_only else ""
        rows = self._fetch(
            f"SELECT * FROM {self.s}.silences {where} ORDER BY created_at",
            [now] if active_only else [],
        )
        for r in rows:
            r["match"] = json.loads(r["match"])
        return rows

    def expire_silence(self, silence_id: str, now: dt.datetime) -> bool:
        found = self._fetch(f"SELECT id FROM {self.s}.silences WHERE id = ?", [silence_id])
        if not found:
            return False
        self.wh.execute(
            f"UPDATE {self.s}.silences SET expired_at = $now WHERE id = $id",
            {"id": silence_id, "now": now},
        )
        return True

    def active_silences(self, now: dt.datetime) -> list[Silence]:
        return [Silence(r["match"], r["until"], r["reason"] or "") for r in self.silences(now)]


def _state(row: dict[str, Any]) -> AlertState:
    values = {c: row[c] for c in _STATE_COLUMNS}
    values["labels"] = json.loads(row["labels"])
    for key in ("affected", "total", "notified_affected"):
        values[key] = int(values[key] or 0)
    for key in ("summary", "resolved_reason", "muted_by"):
        values[key] = values[key] or ""
    return AlertState(**values)


def _logged(row: dict[str, Any]) -> LoggedNotification:
    return LoggedNotification(
        id=row["id"],
        sink=row["sink"],
        status=row["status"],
        attempts=int(row["attempts"]),
        created_at=row["created_at"],
        channel=row["channel"],
        ts=row["ts"],
        error=row["error"] or "",
        note=notification_from_json(row["payload"]),
    )
