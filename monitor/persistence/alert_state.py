"""Alert state and the notification log, kept in the warehouse beside the data.

So stateless runs (a Cloud Run job, a cron line, two processes after each other) share
one memory: which alerts fire, what each sink was told, and what is still pending. The
tables are created on first use (idempotent DDL) in the `state.dataset` schema (a
dataset in BigQuery). Like the checks, every statement is BigQuery SQL with named
parameters, run through the warehouse adapter (DuckDB transpiles it, MERGE included).

Notification rows move pending -> sending -> sent. `sending` is written just before a
sink is called and `sent` (with the sink's delivery reference, opaque here) just after, so
a row found in `sending` by a later run marks a crash in between: that run asks the sink
for the message before re-sending (see alerts/dispatch.py). Marking a row `sending` is a
claim by one run (`claimed_by`, until `claimed_until` in real time): a compare-and-set on
the row as read, so two runs never both send it; a row another live run has claimed is
reported `in_flight` and left to it.

The notification lease serialises the lifecycle (read the state, decide, save, record the
intent); it is held for those few statements only, never while a sink is called. Its
expiry is real time read at each try (`monitor.clock.real_now`), a release makes it free
at once, and a holder known dead (a killed process on this host) is taken over.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from alerts.codec import notification_from_json, notification_to_json
from alerts.dispatch import LoggedNotification, group_of
from alerts.lifecycle import AlertState, Notification
from alerts.silences import Silence
from checks.query.sql import Params, ParamType, Query, table_ref
from monitor.clock import real_now
from monitor.persistence.holders import known_dead, new_holder
from monitor.persistence.tables import ensure_tables, insert_sql
from monitor.warehouse.base import QueryError, Warehouse

# A released lease expires at the epoch: free for any waiter, whatever its clock says.
RELEASED = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
# How long a claim on a row being sent holds before a later run may take it as a crash.
CLAIM_TTL = dt.timedelta(minutes=5)


def lost_race(e: QueryError) -> bool:
    """A statement that failed because another run's statement won (BigQuery serialises
    concurrent DML on a table and fails the loser), not because the store is broken."""
    text = str(e).lower()
    return any(word in text for word in ("concurrent", "serialize", "conflict"))


_STATE_COLUMNS: dict[str, ParamType] = {
    "fingerprint": "STRING",
    "labels": "STRING",
    "status": "STRING",
    "started_at": "TIMESTAMP",
    "last_seen_at": "TIMESTAMP",
    "summary": "STRING",
    "affected": "INT64",
    "total": "INT64",
    "resolved_at": "TIMESTAMP",
    "resolved_reason": "STRING",
    "last_notified_at": "TIMESTAMP",
    "notified_affected": "INT64",
    "muted_by": "STRING",
    "group_id": "STRING",
}
_NOTIFICATION_COLUMNS: dict[str, ParamType] = {
    "id": "STRING",
    "fingerprint": "STRING",
    "kind": "STRING",
    "sink": "STRING",
    "status": "STRING",
    "attempts": "INT64",
    "created_at": "TIMESTAMP",
    "updated_at": "TIMESTAMP",
    "ref": "STRING",  # where the sink delivered it: the sink's own, opaque reference
    "error": "STRING",
    "payload": "STRING",
    "claimed_by": "STRING",  # the run that marked it `sending`
    "claimed_until": "TIMESTAMP",  # real time: after this a `sending` row is a crash
    "group_id": "STRING",  # the alert's group: its notifications are delivered together
}
_LEASE_COLUMNS: dict[str, ParamType] = {
    "name": "STRING",
    "holder": "STRING",
    "expires_at": "TIMESTAMP",
}
_SILENCE_COLUMNS: dict[str, ParamType] = {
    "id": "STRING",
    "match_labels": "STRING",
    "until_at": "TIMESTAMP",
    "reason": "STRING",
    "created_at": "TIMESTAMP",
    "expired_at": "TIMESTAMP",
}


class StateStore:
    def __init__(
        self,
        wh: Warehouse,
        dataset: str,
        *,
        holder: str | None = None,
        claim_ttl: dt.timedelta = CLAIM_TTL,
    ) -> None:
        self.wh = wh
        self.dataset = dataset  # a validated identifier
        self.holder = holder or new_holder()  # this run, in leases and claims
        self.claim_ttl = claim_ttl
        self.alerts = table_ref(f"{dataset}.alerts")
        self.notifications = table_ref(f"{dataset}.notifications")
        self.silences_table = table_ref(f"{dataset}.silences")
        self.leases = table_ref(f"{dataset}.leases")

    def _run(self, sql: str, params: Params | None = None) -> list[dict[str, Any]]:
        query = Query(sql=sql, params=(params or Params()).freeze(), label="state")
        return list(self.wh.rows(query))

    def ensure(self) -> None:
        """The tables, created or completed as needed. (A notification log created before
        sinks had one contract lacks `ref`, one from before grouping `group_id`: they are
        added.)"""
        ensure_tables(
            self.wh,
            self.dataset,
            {
                "alerts": _STATE_COLUMNS,
                "notifications": _NOTIFICATION_COLUMNS,
                "silences": _SILENCE_COLUMNS,
                "leases": _LEASE_COLUMNS,
            },
        )

    # Lease -------------------------------------------------------------------------------

    def acquire(self, name: str, holder: str, now: dt.datetime, ttl: dt.timedelta) -> bool:
        """Take the named lease if it is free, expired, held by a run known dead or already
        ours (a conditional MERGE), then read back who holds it: two overlapping runs cannot
        both win. `now` is the real clock at this try. A database error is raised as what
        it is; only losing a concurrent write to another run is a plain False."""
        params = Params()
        current = self._run(
            f"SELECT holder FROM {self.leases} WHERE name = {params.string('name', name)}", params
        )
        dead = current[0]["holder"] if current and known_dead(current[0]["holder"]) else ""
        params = Params()
        p_name, p_holder = params.string("name", name), params.string("holder", holder)
        p_dead = params.string("dead", dead)  # "" matches no holder: none is dead
        p_now = params.add("now", now, "TIMESTAMP")
        p_until = params.add("until", now + ttl, "TIMESTAMP")
        try:
            self._run(
                f"MERGE {self.leases} AS T USING (SELECT {p_name} AS name) AS S "
                "ON T.name = S.name "
                f"WHEN MATCHED AND (T.expires_at <= {p_now} OR T.holder = {p_holder} "
                f"OR T.holder = {p_dead}) "
                f"THEN UPDATE SET holder = {p_holder}, expires_at = {p_until} "
                f"WHEN NOT MATCHED THEN INSERT (name, holder, expires_at) "
                f"VALUES ({p_name}, {p_holder}, {p_until})",
                params,
            )
        except QueryError as e:
            if lost_race(e):
                return False
            raise
        return self.holder_of(name) == holder

    def holder_of(self, name: str) -> str | None:
        params = Params()
        rows = self._run(
            f"SELECT holder FROM {self.leases} WHERE name = {params.string('name', name)}", params
        )
        return str(rows[0]["holder"]) if rows else None

    def release(self, name: str, holder: str) -> None:
        """Free the lease at once (expired at the epoch), if `holder` still has it."""
        params = Params()
        self._run(
            f"UPDATE {self.leases} SET expires_at = {params.add('gone', RELEASED, 'TIMESTAMP')} "
            f"WHERE name = {params.string('name', name)} "
            f"AND holder = {params.string('holder', holder)}",
            params,
        )

    # Alerts ------------------------------------------------------------------------------

    def firing(self) -> dict[str, AlertState]:
        rows = self._run(f"SELECT * FROM {self.alerts} WHERE status = 'firing'")
        return {r["fingerprint"]: _state(r) for r in rows}

    def all_alerts(self) -> list[AlertState]:
        rows = self._run(
            f"SELECT * FROM {self.alerts} WHERE TRUE ORDER BY status, last_seen_at DESC"
        )
        return [_state(r) for r in rows]

    def save(self, states: Iterable[AlertState]) -> None:
        """Upsert each changed alert (a handful per run) with MERGE."""
        for st in states:
            params = Params()
            values = {name: getattr(st, name) for name in _STATE_COLUMNS}
            values["labels"] = json.dumps(dict(st.labels), sort_keys=True)
            source = ", ".join(
                f"{params.add(name, values[name], type_)} AS {name}"
                for name, type_ in _STATE_COLUMNS.items()
            )
            updates = ", ".join(f"{n} = S.{n}" for n in _STATE_COLUMNS if n != "fingerprint")
            names = ", ".join(_STATE_COLUMNS)
            self._run(
                f"MERGE {self.alerts} AS T USING (SELECT {source}) AS S "
                "ON T.fingerprint = S.fingerprint "
                f"WHEN MATCHED THEN UPDATE SET {updates} "
                f"WHEN NOT MATCHED THEN INSERT ({names}) "
                f"VALUES ({', '.join('S.' + n for n in _STATE_COLUMNS)})",
                params,
            )

    # Notification log --------------------------------------------------------------------

    def record(self, notes: Sequence[Notification], sinks: Sequence[str], now: dt.datetime) -> None:
        """The intent, before anything is sent: one pending row per notification and sink."""
        rows = [
            {
                "id": str(uuid.uuid4()),
                "fingerprint": note.state.fingerprint,
                "kind": note.kind,
                "sink": sink,
                "status": "pending",
                "attempts": 0,
                "created_at": now,
                "updated_at": now,
                "ref": None,
                "error": "",
                "payload": notification_to_json(note),
                "claimed_by": None,
                "claimed_until": None,
                "group_id": group_of(note),
            }
            for note in notes
            for sink in sinks
        ]
        if rows:
            self._run(*insert_sql(f"{self.dataset}.notifications", _NOTIFICATION_COLUMNS, rows))

    def unsent(self, sink: str) -> list[LoggedNotification]:
        params = Params()
        rows = self._run(
            f"SELECT * FROM {self.notifications} WHERE sink = {params.string('sink', sink)} "
            "AND status != 'sent' ORDER BY created_at, id",
            params,
        )
        now = real_now()
        return [
            _logged(r, in_flight=self._claimed_elsewhere(r, now) and r["status"] == "sending")
            for r in rows
        ]

    def _claimed_elsewhere(self, row: dict[str, Any], now: dt.datetime) -> bool:
        holder, until = row.get("claimed_by"), row.get("claimed_until")
        return bool(
            holder and holder != self.holder and until and until > now and not known_dead(holder)
        )

    def _update(
        self, row_id: str, now: dt.datetime, sets: dict[str, tuple[Any, ParamType]], extra: str = ""
    ) -> None:
        params = Params()
        assignments = [
            f"{name} = {params.add(name, value, type_)}" for name, (value, type_) in sets.items()
        ]
        assignments.append(f"updated_at = {params.add('now', now, 'TIMESTAMP')}")
        if extra:
            assignments.append(extra)
        self._run(
            f"UPDATE {self.notifications} SET {', '.join(assignments)} "
            f"WHERE id = {params.string('id', row_id)}",
            params,
        )

    def claim(self, row: LoggedNotification, now: dt.datetime) -> bool:
        """Mark `row` `sending` for this run, only if it is still as read (same status, same
        claimant): a compare-and-set, then read back. Expiry is real time."""
        params = Params()
        sets = ", ".join(
            [
                f"status = {params.string('sending', 'sending')}",
                "attempts = attempts + 1",
                f"updated_at = {params.add('now', now, 'TIMESTAMP')}",
                f"claimed_by = {params.string('holder', self.holder)}",
                f"claimed_until = {params.add('until', real_now() + self.claim_ttl, 'TIMESTAMP')}",
            ]
        )
        try:
            self._run(
                f"UPDATE {self.notifications} SET {sets} "
                f"WHERE id = {params.string('id', row.id)} "
                f"AND status = {params.string('was', row.status)} "
                f"AND COALESCE(claimed_by, '') = {params.string('by', row.claimed_by)}",
                params,
            )
        except QueryError as e:
            if lost_race(e):
                return False
            raise
        params = Params()
        found = self._run(
            f"SELECT status, claimed_by FROM {self.notifications} "
            f"WHERE id = {params.string('id', row.id)}",
            params,
        )
        return bool(found) and found[0]["claimed_by"] == self.holder

    def mark_sent(self, row_id: str, ref: str | None, now: dt.datetime) -> None:
        self._update(
            row_id,
            now,
            {"status": ("sent", "STRING"), "ref": (ref, "STRING"), "error": ("", "STRING")},
        )

    def mark_pending(self, row_id: str, error: str, now: dt.datetime) -> None:
        self._update(row_id, now, {"status": ("pending", "STRING"), "error": (error, "STRING")})

    def group_ref(self, group: str, sink: str) -> str | None:
        """Where the sink delivered the group's message: the ref of its latest sent
        notification that has one."""
        params = Params()
        rows = self._run(
            f"SELECT ref FROM {self.notifications} WHERE {_in_group(params, group)} "
            f"AND sink = {params.string('sink', sink)} AND status = 'sent' AND ref IS NOT NULL "
            "ORDER BY updated_at DESC, id LIMIT 1",
            params,
        )
        return str(rows[0]["ref"]) if rows and rows[0]["ref"] else None

    def group_members(self, group: str, sink: str) -> list[Notification]:
        """What the sink was last told of each alert of the group (its latest sent
        notification)."""
        params = Params()
        rows = self._run(
            f"SELECT fingerprint, payload, created_at, id FROM {self.notifications} "
            f"WHERE {_in_group(params, group)} "
            f"AND sink = {params.string('sink', sink)} AND status = 'sent' "
            "QUALIFY ROW_NUMBER() OVER (PARTITION BY fingerprint ORDER BY created_at DESC, "
            "updated_at DESC, id) = 1 ORDER BY created_at, id",
            params,
        )
        return [notification_from_json(r["payload"]) for r in rows]

    def last_notifications(self) -> dict[str, dict[str, Any]]:
        rows = self._run(
            f"SELECT fingerprint, kind, sink, status, updated_at, error FROM {self.notifications} "
            "WHERE TRUE QUALIFY ROW_NUMBER() OVER "
            "(PARTITION BY fingerprint ORDER BY updated_at DESC, id) = 1"
        )
        return {r["fingerprint"]: r for r in rows}

    # Silences ----------------------------------------------------------------------------

    def add_silence(
        self, match: dict[str, str], until: dt.datetime, reason: str, now: dt.datetime
    ) -> str:
        silence_id = uuid.uuid4().hex[:8]
        params = Params()
        row = {
            "id": silence_id,
            "match_labels": json.dumps(match, sort_keys=True),
            "until_at": until,
            "reason": reason,
            "created_at": now,
            "expired_at": None,
        }
        values = ", ".join(params.add(n, row[n], t) for n, t in _SILENCE_COLUMNS.items())
        self._run(
            f"INSERT INTO {self.silences_table} ({', '.join(_SILENCE_COLUMNS)}) VALUES ({values})",
            params,
        )
        return silence_id

    def silences(self, now: dt.datetime, *, active_only: bool = True) -> list[dict[str, Any]]:
        params = Params()
        where = "TRUE"
        if active_only:
            where = f"expired_at IS NULL AND until_at > {params.add('now', now, 'TIMESTAMP')}"
        rows = self._run(
            f"SELECT * FROM {self.silences_table} WHERE {where} ORDER BY created_at", params
        )
        return [{**r, "match": json.loads(r["match_labels"]), "until": r["until_at"]} for r in rows]

    def expire_silence(self, silence_id: str, now: dt.datetime) -> bool:
        params = Params()
        found = self._run(
            f"SELECT id FROM {self.silences_table} WHERE id = {params.string('id', silence_id)}",
            params,
        )
        if not found:
            return False
        params = Params()
        self._run(
            f"UPDATE {self.silences_table} SET expired_at = {params.add('now', now, 'TIMESTAMP')} "
            f"WHERE id = {params.string('id', silence_id)}",
            params,
        )
        return True

    def active_silences(self, now: dt.datetime) -> list[Silence]:
        return [Silence(r["match"], r["until"], r["reason"] or "") for r in self.silences(now)]


def _in_group(params: Params, group: str) -> str:
    """The group's rows; a row logged before grouping (no group_id) is its alert's own
    group, named by its fingerprint (alerts/dispatch.py: group_of)."""
    p = params.string("group_id", group)
    return f"(group_id = {p} OR (group_id IS NULL AND fingerprint = {p}))"


def _state(row: dict[str, Any]) -> AlertState:
    values = {c: row[c] for c in _STATE_COLUMNS}
    values["labels"] = json.loads(row["labels"])
    for key in ("affected", "total", "notified_affected"):
        values[key] = int(values[key] or 0)
    for key in ("summary", "resolved_reason", "muted_by", "group_id"):
        values[key] = values[key] or ""
    return AlertState(**values)


def _logged(row: dict[str, Any], *, in_flight: bool = False) -> LoggedNotification:
    return LoggedNotification(
        id=row["id"],
        sink=row["sink"],
        status=row["status"],
        attempts=int(row["attempts"]),
        created_at=row["created_at"],
        ref=row["ref"],
        error=row["error"] or "",
        note=notification_from_json(row["payload"]),
        claimed_by=row.get("claimed_by") or "",
        in_flight=in_flight,
    )
