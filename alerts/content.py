"""What every transport says about an alert, kept in one place: its name and date, the
example rows, the next steps on-call can take, and the labels and annotations an
Alertmanager-style receiver reads. Sinks decide only the layout (Block Kit, JSON, a line).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from alerts.lifecycle import Notification
from alerts.model import Alert
from checks.times import for_people
from checks.times import iso_utc as iso_utc  # the machines' clock, where sinks import it

MAX_EXAMPLES = 5


def where(game_date: dt.date | None) -> str:
    return game_date.isoformat() if game_date else "all dates"


def display_name(check: str, feature: str | None, sep: str = " ") -> str:
    """`check [feature]` (messages) or, with sep="", `check[feature]` (log lines)."""
    return check + (f"{sep}[{feature}]" if feature else "")


def _clock(value: Any, zone: dt.tzinfo) -> str:
    if isinstance(value, dt.datetime):
        return for_people(value, zone, "short")
    return "-" if value is None else str(value)


def _num(value: Any) -> str:
    return "-" if value is None else f"{float(value):g}"


def examples_table(alert: Alert, zone: dt.tzinfo) -> str:
    """Up to five rows as a monospace table: who, when made, when written (in `zone`, the
    config's, like every time in the message), logged vs store."""
    rows = alert.examples[:MAX_EXAMPLES]
    if not rows:
        return ""
    value_key = "logged_value" if "logged_value" in rows[0] else "logged_quality"
    store_key = "store_value" if "store_value" in rows[0] else "store_quality"
    entity = next(
        (
            k
            for k in rows[0]
            if k
            not in {
                "prediction_id",
                "made_at",
                "written_at",
                "logged_quality",
                "store_quality",
                "logged_value",
                "store_value",
                "lag_s",
            }
        ),
        "prediction_id",
    )
    made = [_clock(r.get("made_at"), zone) for r in rows]
    written = [_clock(r.get("written_at"), zone) for r in rows]
    w = max(len("written at"), *map(len, made + written))  # abbreviations differ in length
    header = f"{entity:<22} {'made at':<{w}} {'written at':<{w}} {'logged':>8} {'store':>8}"
    lines = [header]
    for r, m, wr in zip(rows, made, written, strict=True):
        lines.append(
            f"{str(r.get(entity))[:22]:<22} {m:<{w}} {wr:<{w}} "
            f"{_num(r.get(value_key)):>8} {_num(r.get(store_key)):>8}"
        )
    return "```\n" + "\n".join(lines) + "\n```"


def next_steps(alert: Alert) -> str:
    day = where(alert.game_date)
    date_arg = f" --date {day}" if alert.game_date else ""
    steps = [
        f"• Look: `featmon sql {alert.check}{date_arg}` (paste into the BigQuery console)",
        f"• Size it: `featmon impact{date_arg}`",
    ]
    if alert.game_date:
        steps.append(
            f"• Story: `featmon timeline{date_arg} --png timeline.png`, `featmon explain{date_arg}`"
        )
    if alert.game_date and alert.kind == "firing":
        body = json.dumps(
            {
                "game_date": day,
                "reason": f"featmon {alert.check}",
                "metadata": {"check": alert.check},
            }
        )
        steps.append(
            "• Fix: `POST {coordinator}/regenerate-with-supersede` with `X-API-Key` and "
            f"`{body}` (supersedes all of that date's predictions)"
        )
    return "\n".join(steps)


def labels_of(labels: Mapping[str, str]) -> dict[str, str]:
    """An alert's identity as receiver labels: `alertname` first, empty values left out."""
    out = {"alertname": labels["check"]}
    out.update({k: v for k, v in labels.items() if v})
    return out


def annotations_of(note: Notification, runbook_url: str | None) -> dict[str, str]:
    """What a receiver shows beside the labels (Alertmanager annotations are strings)."""
    state, alert = note.state, note.alert
    out: dict[str, str] = {}
    if alert is not None:
        out["summary"] = alert.summary
        if alert.meaning:
            out["description"] = alert.meaning
        used = alert.details.get("attribution_summary")
        if used:
            out["version_used"] = str(used)
        out["affected"] = str(alert.affected)
        out["total"] = str(alert.total)
    else:
        out["summary"] = state.summary
        out["resolution"] = state.resolved_reason or "no longer firing"
        out["affected"] = str(state.notified_affected)
        out["total"] = str(state.total)
        if note.outcome:
            out["outcome"] = note.outcome
    if runbook_url:
        out["runbook_url"] = runbook_url
    return out
