"""What every transport says about an alert, kept in one place: its name and date, the
headline, the example rows, and the labels and annotations an Alertmanager-style receiver
reads (the next steps on-call can take are alerts/steps.py). Sinks decide only the layout
(Block Kit, JSON, a line).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
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


# A column of an example table: header, width, right-aligned, and the cell of a row.
_Column = tuple[str, int, bool, Callable[[Mapping[str, Any]], str]]
_NOT_ENTITY = {
    "prediction_id",
    "made_at",
    "written_at",
    "logged_quality",
    "store_quality",
    "logged_value",
    "store_value",
    "lag_s",
    "predictions",
    "predicted",
    "line",
    "high_edge",
}


def entity_of(example: Mapping[str, Any]) -> str:
    """The field naming who an example row is about (the first key other than the date)."""
    return next((k for k in example if k not in _NOT_ENTITY), "prediction_id")


def _columns(alert: Alert, first: Mapping[str, Any], zone: dt.tzinfo) -> list[_Column]:
    """The example table's columns for this check: its rows say what it found. Widths
    are minimums: a column grows to its widest cell (abbreviations differ in length)."""
    entity = entity_of(first)
    who: _Column = (entity, 22, False, lambda r: str(r.get(entity))[:22])
    made: _Column = ("made at", 15, False, lambda r: _clock(r.get("made_at"), zone))
    if alert.check == "hit_rate_drop":  # graded misses: the prediction against its line
        return [
            who,
            made,
            ("predicted", 9, True, lambda r: _num(r.get("predicted"))),
            ("line", 8, True, lambda r: _num(r.get("line"))),
            ("high edge", 9, True, lambda r: "yes" if r.get("high_edge") else "no"),
        ]
    if alert.check == "missing_features":  # one row per entity with no store row
        return [
            who,
            ("predictions", 11, True, lambda r: str(r.get("predictions", 1))),
            made,
            ("logged", 8, True, lambda r: _num(r.get("logged_quality"))),
        ]
    value = "logged_value" if "logged_value" in first else "logged_quality"
    store = "store_value" if "store_value" in first else "store_quality"
    return [
        who,
        made,
        ("written at", 15, False, lambda r: _clock(r.get("written_at"), zone)),
        ("logged", 8, True, lambda r: _num(r.get(value))),
        ("store", 8, True, lambda r: _num(r.get(store))),
    ]


def examples_table(alert: Alert, zone: dt.tzinfo) -> str:
    """Up to five rows as a monospace table, in the columns that show what the check found
    (made and written times in `zone`, the config's like every time in the message, and
    logged vs store values; a graded miss's line)."""
    rows = alert.examples[:MAX_EXAMPLES]
    if not rows:
        return ""
    columns = _columns(alert, rows[0], zone)
    table = [[header for header, *_ in columns]]
    table += [[cell(r) for *_, cell in columns] for r in rows]
    widths = [
        max(width, *(len(row[i]) for row in table)) for i, (_, width, _, _) in enumerate(columns)
    ]

    def line(cells: list[str]) -> str:
        return " ".join(
            f"{cell:>{w}}" if right else f"{cell:<{w}}"
            for cell, w, (_, _, right, _) in zip(cells, widths, columns, strict=True)
        ).rstrip()

    lines = [line(cells) for cells in table]
    return "```\n" + "\n".join(lines) + "\n```"


def headline(alert: Alert) -> str:
    """The bold line of a firing alert: how much of the date it touched, in the check's
    own unit. hit_rate_drop counts graded outcomes, not affected predictions: a loss is
    not a prediction a feature problem touched."""
    if alert.check == "hit_rate_drop":
        d = alert.details
        hit, expected = d.get("hit_rate"), d.get("expected_hit_rate")
        rate = "n/a" if hit is None else f"{float(hit):.1f}%"
        return (
            f"*hit rate {rate} vs expected {float(expected or 0):g}% "
            f"over {d.get('graded', alert.total)} graded*"
        )
    return f"*{alert.affected} / {alert.total} predictions ({100 * alert.affected_ratio:.1f}%)*"


def by_dimension(alert: Alert, shown: int = 6) -> str:
    """The dimension values the alert hit, worst first ("catboost_v9 102/147, ensemble_v2
    98/140, ... 3 more"), with each one's graded hit rate where grading exists; "" without
    dimensions or when no value was hit. hit_rate_drop names each value's hit rate."""
    names = alert.details.get("dimensions") or []
    entries = alert.details.get("by_dimension") or []
    hit = [e for e in entries if e.get("affected")]
    if not names or not hit:
        return ""

    def part(e: Mapping[str, Any]) -> str:
        label = "/".join("∅" if e.get(n) is None else str(e[n]) for n in names)
        rate, graded = e.get("hit_rate"), e.get("graded")
        if alert.check == "hit_rate_drop":
            return f"{label} hit {'n/a' if rate is None else f'{rate:.1f}%'} of {graded}"
        text = f"{label} {e['affected']}/{e['total']}"
        return text if rate is None else f"{text} (hit {rate:.1f}% of {graded})"

    text = ", ".join(part(e) for e in hit[:shown])
    return text + (f", ... {len(hit) - shown} more" if len(hit) > shown else "")


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
        per_value = by_dimension(alert)
        if per_value:
            out["by_dimension"] = per_value
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
