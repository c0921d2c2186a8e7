"""Rendering run reports and impact tables as text, JSON and CSV.

JSON is the contract other tools read (see docs/cli.md "Output contract"): dates as
YYYY-MM-DD, timestamps as ISO 8601 UTC, numbers as numbers.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
import math
import shutil
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.table import Table

from alerts.content import display_name, where
from alerts.model import Alert
from checks.base import CheckResult
from checks.query.impact import FIELDS as IMPACT_FIELDS
from checks.query.impact import HIT_FIELDS, ImpactRow, rate_of
from checks.times import iso_utc
from monitor.pipeline.cycle import RunReport

STATUS_STYLE = {"ok": "green", "alert": "bold red", "error": "bold magenta"}


def jsonable(value: Any) -> Any:
    """`value` as strict JSON types: a non-finite float (inf, NaN) becomes null, since bare
    `NaN`/`Infinity` is not JSON and strict parsers reject the whole document."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dt.datetime):
        return iso_utc(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return jsonable(float(value))
    return value


def non_finite_count(value: Any) -> int:
    """How many non-finite numbers `value` holds (what `jsonable` turns into null)."""
    if isinstance(value, dict):
        return sum(non_finite_count(v) for v in value.values())
    if isinstance(value, list | tuple):
        return sum(non_finite_count(v) for v in value)
    if isinstance(value, float | decimal.Decimal):
        return 0 if math.isfinite(value) else 1
    return 0


def strict_dumps(value: Any, **kwargs: Any) -> str:
    """JSON any strict parser accepts: `jsonable` first, and NaN refused if one slipped by."""
    return json.dumps(jsonable(value), allow_nan=False, **kwargs)


def result_dict(r: CheckResult) -> dict[str, Any]:
    out: dict[str, Any] = jsonable(
        {
            "check": r.check,
            "game_date": r.game_date,
            "feature": r.feature,
            "status": r.status,
            "severity": r.severity,
            "total": r.total,
            "affected": r.affected,
            "affected_ratio": r.affected_ratio,
            "message": r.message,
            "details": r.details,
            "examples": r.examples,
        }
    )
    return out


def report_json(report: RunReport) -> str:
    """The run as JSON. `non_finite_values` counts the numbers printed as null because they
    were not finite (the checks count unusable values in their own `details`)."""
    raw = [(r.details, r.examples) for r in report.results]
    return strict_dumps(
        {
            "window": report.window.as_dict(),
            "status": report.status,
            "results": [result_dict(r) for r in report.results],
            "non_finite_values": non_finite_count(raw),
        },
        indent=2,
    )


def console() -> Console:
    width = shutil.get_terminal_size((150, 40)).columns
    return Console(width=max(width, 100), highlight=False)


def report_table(report: RunReport) -> Table:
    table = Table(
        title=f"featmon check {report.window.start} .. {report.window.end}",
        title_justify="left",
    )
    for name, kwargs in (
        ("game_date", {}),
        ("check", {}),
        ("status", {}),
        ("affected", {"justify": "right"}),
        ("total", {"justify": "right"}),
        ("pct", {"justify": "right"}),
        ("message", {}),
    ):
        table.add_column(name, **kwargs)  # type: ignore[arg-type]
    for r in report.results:
        name = display_name(r.check, r.feature, sep="")
        table.add_row(
            r.game_date.isoformat() if r.game_date else "-",
            escape(name),
            f"[{STATUS_STYLE[r.status]}]{r.status}[/]",
            str(r.affected) if r.status != "error" else "-",
            str(r.total) if r.status != "error" else "-",
            f"{100 * r.affected_ratio:.1f}%" if r.total else "-",
            escape(r.message),
        )
    return table


def dimension_names(rows: Sequence[ImpactRow]) -> list[str]:
    """The dimensions the rows carry (`predictions.dimensions`), in config order."""
    names: list[str] = []
    for row in rows:
        names += [n for n in row.dimensions if n not in names]
    return names


def impact_table(rows: Sequence[ImpactRow], width: int | None = None) -> RenderableType:
    """The seed's table; with `grading`, hit rates of affected vs unaffected predictions
    ("41.9% of 86": hit rate and how many were graded), overall and high-edge.

    One row per game date needs about 220 columns (18 long field names); narrower than
    `width` it is turned on its side, one column per game date, so no header or date is cut.
    With dimensions, a second, narrow table follows: per date and dimension value, the
    predictions, how many any problem touched, and the graded hit rate.
    """
    totals = [r for r in rows if r.is_total]
    headers, lines = _impact_cells(totals)
    natural = sum(max(len(c) for c in column) + 3 for column in zip(headers, *lines, strict=True))
    if width is None or natural + 1 <= width:
        table = Table(title="featmon impact", title_justify="left")
        for name in headers:
            table.add_column(name, justify="left" if name == "game_date" else "right")
        for cells in lines:
            table.add_row(*cells)
    else:
        table = _impact_vertical(headers, lines)
    dims = dimension_names(rows)
    if not dims:
        return table
    return Group(table, "", _dimension_table(rows, dims))


def _dimension_table(rows: Sequence[ImpactRow], dims: list[str]) -> Table:
    """Per date and dimension value (e.g. per model): which ones a problem touched."""
    graded = any(r.graded_affected is not None for r in rows)
    table = Table(title=f"featmon impact by {', '.join(dims)}", title_justify="left")
    for name in ["game_date", *dims]:
        table.add_column(name)
    for name in ("total", "affected", "affected_pct", *(["hit_rate"] if graded else [])):
        table.add_column(name, justify="right")
    for r in rows:
        if r.is_total:
            continue
        cells = [r.game_date.isoformat(), *(escape(str(r.dimensions.get(n))) for n in dims)]
        cells += [str(r.total), str(r.affected), str(r.affected_pct)]
        if graded:
            cells.append(_overall_hit(r))
        table.add_row(*cells)
    return table


def _overall_hit(r: ImpactRow) -> str:
    """The row's hit rate over every graded prediction, affected or not ("-": none)."""
    groups = [
        (r.hit_rate_affected, r.graded_affected or 0),
        (r.hit_rate_unaffected, r.graded_unaffected or 0),
    ]
    graded = sum(n for _, n in groups)
    if not graded:
        return "-"
    correct = sum(round((rate or 0.0) * n / 100.0) for rate, n in groups)
    return rate_of(100.0 * correct / graded, graded)


def _impact_vertical(headers: list[str], lines: list[list[str]]) -> Table:
    """The impact table with game dates as columns and the fields as rows."""
    table = Table(title="featmon impact", title_justify="left")
    table.add_column(headers[0], no_wrap=True)
    for cells in lines:
        table.add_column(cells[0], justify="right", no_wrap=True)
    for i, name in enumerate(headers[1:], start=1):
        table.add_row(name, *(cells[i] for cells in lines))
    return table


def _impact_cells(rows: Sequence[ImpactRow]) -> tuple[list[str], list[list[str]]]:
    """The headers and each row's text cells (hit-rate columns only with grading)."""
    graded = any(r.graded_affected is not None for r in rows)
    base = [f for f in IMPACT_FIELDS if f not in HIT_FIELDS]
    hit_columns = ["hit_affected", "hit_unaffected", "high_edge_affected", "high_edge_unaffected"]
    headers = base + (hit_columns if graded else [])
    lines = []
    for row in rows:
        d = row.as_dict()
        cells = ["-" if d[f] is None else str(d[f]) for f in base]
        if graded:
            for prefix in ("", "high_edge_"):
                for group in ("affected", "unaffected"):
                    rate, n = d[f"{prefix}hit_rate_{group}"], d[f"{prefix}graded_{group}"]
                    cells.append("-" if rate is None else rate_of(rate, n))
        lines.append(cells)
    return headers, lines


def impact_json(rows: Sequence[ImpactRow]) -> str:
    """`dimensions` is {} on a date's total row, {"system_id": ...} on a model's."""
    return strict_dumps({"rows": [r.as_dict() for r in rows]}, indent=2)


def impact_csv(rows: Sequence[ImpactRow]) -> str:
    """One column per dimension after game_date, empty on a date's total row."""
    dims = dimension_names(rows)
    buf = io.StringIO()
    fields = [IMPACT_FIELDS[0], *dims, *IMPACT_FIELDS[1:]]
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        d = row.as_dict()
        values = d.pop("dimensions")
        writer.writerow(jsonable({**d, **{n: values.get(n) for n in dims}}))
    return buf.getvalue()


def format_alert(alert: Alert) -> str:
    """One line per alert (`alerts.console`): for a terminal or a job's log."""
    what = display_name(alert.check, alert.feature, sep="")
    kind = "ERROR" if alert.kind == "error" else "ALERT"
    return f"{kind:<8} {alert.severity:<8} {what} {where(alert.game_date)}: {alert.summary}"


def print_alerts(alerts: Iterable[Alert], stream: TextIO) -> None:
    for alert in alerts:
        print(format_alert(alert), file=stream)
    stream.flush()
