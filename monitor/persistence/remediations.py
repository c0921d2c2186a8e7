"""The remediation log: every regeneration request featmon decided to send, kept in
`state.dataset` beside the notification and invalidation logs.

A row is written as `sending` under the `remediation` lease before the request goes out
(the intent, and the claim: a second run finds it and does not send), then marked with the
coordinator's answer: `accepted` (with its `batch_id`), `rejected` (a 4xx, with why) or
`failed` (timeouts or 5xx until the deadline). A row left `sending` by a process that died
is never re-sent: the coordinator cannot be asked whether a request arrived, and a second
supersede of the same date is what the guard exists to prevent. Every row counts towards
`min_interval`. `reply` tracks the outcome's thread reply the same way: `replying` before
the post, `replied` after, so it is posted at most once.

The API key is never stored: `request` is the body as sent.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from checks.query.sql import Params, ParamType, Query, table_ref
from monitor.persistence.tables import ensure_tables, insert_sql
from monitor.warehouse.base import Warehouse

_COLUMNS: dict[str, ParamType] = {
    "id": "STRING",
    "game_date": "DATE",
    "status": "STRING",  # sending | accepted | rejected | failed
    "trigger": "STRING",  # auto | execute | force
    "check_name": "STRING",
    "fingerprint": "STRING",  # the alert the request is about
    "group_id": "STRING",
    "alert_started_at": "TIMESTAMP",
    "request": "STRING",  # the JSON body as sent (never the key)
    "created_at": "TIMESTAMP",  # the intent, just before the request
    "finished_at": "TIMESTAMP",
    "attempts": "INT64",
    "http_status": "INT64",
    "batch_id": "STRING",
    "error": "STRING",
    "reply": "STRING",  # "" | waiting | replying | replied | none
}


@dataclass(frozen=True)
class Remediation:
    """One logged request."""

    id: str
    game_date: dt.date
    status: str
    trigger: str
    check: str
    fingerprint: str
    group_id: str
    alert_started_at: dt.datetime | None
    request: str
    created_at: dt.datetime
    finished_at: dt.datetime | None
    attempts: int
    http_status: int | None
    batch_id: str
    error: str
    reply: str


class RemediationLog:
    def __init__(self, wh: Warehouse, dataset: str) -> None:
        self.wh = wh
        self.dataset = dataset
        self.name = f"{dataset}.remediations"
        self.table = table_ref(self.name)

    def _run(self, sql: str, params: Params | None = None) -> list[dict[str, Any]]:
        query = Query(sql=sql, params=(params or Params()).freeze(), label="remediation")
        return list(self.wh.rows(query))

    def ensure(self) -> None:
        ensure_tables(self.wh, self.dataset, {"remediations": _COLUMNS})

    def of_date(self, day: dt.date) -> list[Remediation]:
        """The date's requests, newest first."""
        params = Params()
        rows = self._run(
            f"SELECT * FROM {self.table} WHERE game_date = {params.date('day', day)} "
            "ORDER BY created_at DESC, id",
            params,
        )
        return [_row(r) for r in rows]

    def claim(
        self,
        day: dt.date,
        *,
        trigger: str,
        check: str,
        fingerprint: str,
        group_id: str,
        alert_started_at: dt.datetime | None,
        request: str,
        now: dt.datetime,
    ) -> str:
        """The intent, before the request (call under the `remediation` lease)."""
        row_id = uuid.uuid4().hex
        row = {
            "id": row_id,
            "game_date": day,
            "status": "sending",
            "trigger": trigger,
            "check_name": check,
            "fingerprint": fingerprint,
            "group_id": group_id,
            "alert_started_at": alert_started_at,
            "request": request,
            "created_at": now,
            "finished_at": None,
            "attempts": 0,
            "http_status": None,
            "batch_id": "",
            "error": "",
            "reply": "",
        }
        self._run(*insert_sql(self.name, _COLUMNS, [row]))
        return row_id

    def finish(
        self,
        row_id: str,
        status: str,
        now: dt.datetime,
        *,
        attempts: int,
        http_status: int | None,
        batch_id: str,
        error: str,
    ) -> None:
        params = Params()
        self._run(
            f"UPDATE {self.table} SET status = {params.string('status', status)}, "
            f"finished_at = {params.add('now', now, 'TIMESTAMP')}, "
            f"attempts = {params.add('attempts', attempts, 'INT64')}, "
            f"http_status = {params.add('http', http_status, 'INT64')}, "
            f"batch_id = {params.string('batch', batch_id)}, "
            f"error = {params.string('error', error)} "
            f"WHERE id = {params.string('id', row_id)}",
            params,
        )

    def mark_reply(self, row_id: str, reply: str) -> None:
        params = Params()
        self._run(
            f"UPDATE {self.table} SET reply = {params.string('reply', reply)} "
            f"WHERE id = {params.string('id', row_id)}",
            params,
        )

    def all_rows(self) -> list[Remediation]:
        return [_row(r) for r in self._run(f"SELECT * FROM {self.table} ORDER BY created_at")]


def _row(r: dict[str, Any]) -> Remediation:
    return Remediation(
        id=r["id"],
        game_date=r["game_date"],
        status=r["status"],
        trigger=r["trigger"],
        check=r["check_name"],
        fingerprint=r["fingerprint"],
        group_id=r["group_id"] or "",
        alert_started_at=r["alert_started_at"],
        request=r["request"],
        created_at=r["created_at"],
        finished_at=r["finished_at"],
        attempts=int(r["attempts"] or 0),
        http_status=None if r["http_status"] is None else int(r["http_status"]),
        batch_id=r["batch_id"] or "",
        error=r["error"] or "",
        reply=r["reply"] or "",
    )
