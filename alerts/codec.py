"""Notifications as JSON, so the notification log can hold them until they are delivered
(a pending one is re-sent by a later process, not recomputed).

Times are stored as machines read them (ISO 8601 UTC with `Z`) and come back as datetimes:
a message rendered from a stored notification must equal the one rendered before storing
(the example rows' times are shown in the config's zone, not as the stored text)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import json
import re
from typing import Any

from alerts.lifecycle import AlertState, Notification
from alerts.model import Alert
from checks.times import iso_utc

_STATE_TIMES = ("started_at", "last_seen_at", "resolved_at", "last_notified_at")
# What `iso_utc` writes (and, from notifications stored before it, `+00:00`), so only
# values stored as times are read back as times.
_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})")


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return iso_utc(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def state_to_dict(state: AlertState) -> dict[str, Any]:
    return {**dataclasses.asdict(state), "labels": dict(state.labels)}


def state_from_dict(data: dict[str, Any]) -> AlertState:
    values = dict(data)
    for key in _STATE_TIMES:
        if values.get(key):
            values[key] = dt.datetime.fromisoformat(values[key])
    return AlertState(**values)


def _example_from_dict(row: dict[str, Any]) -> dict[str, Any]:
    """An example row with its times (`made_at`, `written_at`) datetimes again."""
    return {
        k: dt.datetime.fromisoformat(v) if isinstance(v, str) and _ISO_TIME.fullmatch(v) else v
        for k, v in row.items()
    }


def notification_to_json(note: Notification) -> str:
    alert = dataclasses.asdict(note.alert) if note.alert else None
    return json.dumps(
        {
            "kind": note.kind,
            "state": state_to_dict(note.state),
            "alert": alert,
            "outcome": note.outcome,
        },
        default=_default,
    )


def notification_from_json(text: str) -> Notification:
    data = json.loads(text)
    alert = None
    if data["alert"] is not None:
        a = dict(data["alert"])
        a["game_date"] = dt.date.fromisoformat(a["game_date"]) if a["game_date"] else None
        a["examples"] = [_example_from_dict(row) for row in a.get("examples") or []]
        alert = Alert(**a)
    return Notification(
        data["kind"], state_from_dict(data["state"]), alert, data.get("outcome") or ""
    )
