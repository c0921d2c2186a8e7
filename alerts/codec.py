"""Notifications as JSON, so the notification log can hold them until they are delivered
(a pending one is re-sent by a later process, not recomputed)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import json
from typing import Any

from alerts.lifecycle import AlertState, Notification
from alerts.model import Alert

_STATE_TIMES = ("started_at", "last_seen_at", "resolved_at", "last_notified_at")


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
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
        alert = Alert(**a)
    return Notification(
        data["kind"], state_from_dict(data["state"]), alert, data.get("outcome") or ""
    )
