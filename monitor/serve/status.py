"""The status page (`GET /`): what on-call needs at 3 am on a phone, read-only.

Firing and recently resolved alerts grouped as incidents (their `group_id`, as in Slack),
the silences in force, what featmon knows of its runs, and each incident date's timeline
picture (inline SVG, monitor/reports/timeline_plot.py). Server-rendered HTML with a little
CSS, no scripts and no build step. Every value that comes from data is escaped; every time
a person reads is in the config's timezone with its abbreviation.

featmon keeps no log of its runs: the page shows what stands for one, the last time a
check saw each incident's alerts (`last_seen_at`) and the state outage file
(`state.health_file`, "featmon cannot run").
"""

from __future__ import annotations

import datetime as dt
import html
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from alerts.content import display_name
from alerts.grouping import SEVERITY_RANK, labels_of_group
from alerts.lifecycle import AlertState
from alerts.silences import format_match
from checks.times import for_people
from monitor.config import Config
from monitor.persistence.alert_state import StateStore
from monitor.pipeline.outage import health_path
from monitor.warehouse import QueryError, Warehouse

# A resolved incident stays on the page this long after its last alert resolved.
RECENT = dt.timedelta(hours=24)
# matplotlib's pyplot is not thread-safe; the server answers requests in threads.
_PLOT_LOCK = threading.Lock()

CSS = """
body{font:16px/1.4 system-ui,sans-serif;margin:0;padding:12px;color:#1d1d1f;background:#fafafa}
h1{font-size:1.3em;margin:0 0 4px}h2{font-size:1.1em;margin:20px 0 8px}
.meta{color:#555;font-size:.9em}
.card{background:#fff;border:1px solid #ddd;border-radius:8px;padding:10px;margin:8px 0}
.firing{border-left:6px solid #c62828}.resolved{border-left:6px solid #2e7d32}
.badge{display:inline-block;padding:0 6px;border-radius:4px;font-size:.8em;color:#fff}
.b-firing{background:#c62828}.b-resolved{background:#2e7d32}.b-muted{background:#777}
ul{padding-left:18px;margin:6px 0}li{margin:4px 0}
svg{max-width:100%;height:auto}details{margin-top:6px}
table{border-collapse:collapse;width:100%}
td,th{text-align:left;padding:4px;border-bottom:1px solid #eee}
"""


def e(value: object) -> str:
    """Escape a value from data for HTML text and attributes."""
    return html.escape(str(value), quote=True)


@dataclass
class Incident:
    group_id: str
    alerts: list[AlertState]

    @property
    def firing(self) -> bool:
        return any(a.status == "firing" for a in self.alerts)

    @property
    def rank(self) -> int:
        """The worst severity's rank among the alerts that fire (0 = critical)."""
        live = [a for a in self.alerts if a.status == "firing"] or self.alerts
        return min(SEVERITY_RANK.get(a.labels.get("severity", ""), 9) for a in live)

    @property
    def started_at(self) -> dt.datetime:
        return min(a.started_at for a in self.alerts)

    @property
    def resolved_at(self) -> dt.datetime | None:
        ends = [a.resolved_at for a in self.alerts if a.resolved_at is not None]
        return None if self.firing or not ends else max(ends)

    @property
    def last_seen_at(self) -> dt.datetime:
        return max(a.last_seen_at for a in self.alerts)

    @property
    def game_dates(self) -> list[str]:
        return sorted({a.labels["game_date"] for a in self.alerts if a.labels.get("game_date")})

    def title(self) -> str:
        labels = labels_of_group(self.group_id)
        if labels.get("kind") == "error":
            return f"featmon cannot run: {labels.get('cause', '')}"
        named = ", ".join(f"{k} {v}" for k, v in labels.items() if v)
        return named or ", ".join(f"game_date {d}" for d in self.game_dates) or "alerts"


def incidents(states: Sequence[AlertState], now: dt.datetime) -> list[Incident]:
    """Alerts grouped as they were announced: firing incidents first, the worst severity
    first among them (what on-call opens the page for), then those resolved within RECENT;
    newest first within each."""
    groups: dict[str, list[AlertState]] = {}
    for s in states:
        groups.setdefault(s.group_id or s.fingerprint, []).append(s)
    shown = [Incident(g, members) for g, members in groups.items()]
    shown = [
        i for i in shown if i.firing or (i.resolved_at is not None and now - i.resolved_at < RECENT)
    ]
    return sorted(shown, key=lambda i: (not i.firing, i.rank, -i.started_at.timestamp()))


@dataclass
class Status:
    now: dt.datetime
    incidents: list[Incident] = field(default_factory=list)
    silences: list[dict[str, Any]] = field(default_factory=list)
    outage: dict[str, Any] = field(default_factory=dict)
    timelines: dict[str, str] = field(default_factory=dict)  # game date -> SVG or a problem
    problems: list[str] = field(default_factory=list)


def read_status(config: Config, wh: Warehouse, now: dt.datetime) -> Status:
    """Everything the page shows, read (never written) from the state and history."""
    status = Status(now)
    store = StateStore(wh, config.state.dataset)
    existing = wh.columns_of(config.state.dataset)
    try:
        if existing is None or "alerts" in existing:
            status.incidents = incidents(store.all_alerts(), now)
        if existing is None or "silences" in existing:
            status.silences = store.silences(now)
    except QueryError as err:  # no state recorded yet
        status.problems.append(f"alert state not read: {err}")
    status.outage = _outage(config)
    dates = sorted({d for i in status.incidents for d in i.game_dates}, reverse=True)
    for day in dates:
        status.timelines[day] = _timeline_svg(config, wh, dt.date.fromisoformat(day))
    return status


def _outage(config: Config) -> dict[str, Any]:
    try:
        data = json.loads(health_path(config).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _timeline_svg(config: Config, wh: Warehouse, day: dt.date) -> str:
    """The date's timeline picture as inline SVG (matplotlib's, made here from our data),
    or an escaped line saying why there is none."""
    if config.history is None:
        return "<p class='meta'>no timeline: the config has no <code>history:</code></p>"
    from monitor.reports.timeline import build_timeline
    from monitor.reports.timeline_plot import render

    try:
        story = build_timeline(config, wh, day)
        with _PLOT_LOCK:
            svg = render(story, "svg").decode()
    except Exception as err:  # a page with the rest is better than no page
        return f"<p class='meta'>timeline not drawn: {e(type(err).__name__)}: {e(err)}</p>"
    return svg[svg.index("<svg") :]


def _alert_item(a: AlertState, zone: dt.tzinfo) -> str:
    labels = a.labels
    name = display_name(labels.get("check", "?"), labels.get("feature"))
    if labels.get("kind") == "error":
        name += " (cannot run)"
    badge = f"<span class='badge b-{e(a.status)}'>{e(a.status)}</span>"
    if a.muted_by and a.status == "firing":
        badge += f" <span class='badge b-muted'>muted: {e(a.muted_by)}</span>"
    when = f"since {for_people(a.started_at, zone)}"
    if a.status == "resolved" and a.resolved_at:
        why = f" ({a.resolved_reason})" if a.resolved_reason else ""
        when = f"resolved {for_people(a.resolved_at, zone)}{why}"
    share = f" · {a.affected}/{a.total} affected" if a.total else ""
    return (
        f"<li>{badge} <b>{e(labels.get('severity', ''))}</b> {e(name)} "
        f"<span class='meta'>{e(when)}{e(share)}</span><br>{e(a.summary)}</li>"
    )


def _incident_card(i: Incident, zone: dt.tzinfo) -> str:
    state = "firing" if i.firing else "resolved"
    when = f"opened {for_people(i.started_at, zone)}"
    if i.resolved_at is not None:
        when += f", resolved {for_people(i.resolved_at, zone)}"
    order = sorted(i.alerts, key=lambda a: (SEVERITY_RANK.get(a.labels.get("severity", ""), 9),))
    items = "".join(_alert_item(a, zone) for a in order)
    return (
        f"<div class='card {state}'><span class='badge b-{state}'>{state}</span> "
        f"<b>{e(i.title())}</b><div class='meta'>{e(when)} · last checked "
        f"{e(for_people(i.last_seen_at, zone))}</div><ul>{items}</ul></div>"
    )


def _silence_row(s: dict[str, Any], zone: dt.tzinfo) -> str:
    match = format_match(s["match"])
    who = s.get("created_by") or "not recorded"
    return (
        f"<tr><td>{e(match)}</td><td>{e(s.get('reason') or '')}</td><td>{e(who)}</td>"
        f"<td>{e(for_people(s['created_at'], zone))}</td>"
        f"<td>{e(for_people(s['until'], zone))}</td></tr>"
    )


def _runs_section(status: Status, zone: dt.tzinfo) -> str:
    lines = []
    if status.incidents:
        last = max(i.last_seen_at for i in status.incidents)
        lines.append(f"last check that saw an alert: {for_people(last, zone)}")
    outage = status.outage
    if outage.get("open"):
        since = dt.datetime.fromisoformat(str(outage.get("since")))
        lines.append(
            f"featmon cannot run since {for_people(since, zone)}: {outage.get('error', '')}"
        )
    else:
        lines.append("no outage open (featmon reached its alert state on its last run)")
    items = "".join(f"<li>{e(line)}</li>" for line in lines)
    return (
        f"<ul>{items}</ul><p class='meta'>featmon keeps no log of its runs; these are "
        "what its state records.</p>"
    )


def render_page(config: Config, status: Status) -> str:
    zone = config.zone()
    firing = [i for i in status.incidents if i.firing]
    cards = "".join(_incident_card(i, zone) for i in status.incidents) or (
        "<p>No firing or recently resolved incidents.</p>"
    )
    silences = (
        "<table><tr><th>matches</th><th>why</th><th>who</th><th>since</th><th>until</th></tr>"
        + "".join(_silence_row(s, zone) for s in status.silences)
        + "</table>"
        if status.silences
        else "<p>No silences in force.</p>"
    )
    timelines = "".join(
        f"<details open><summary>game date {e(day)}</summary>{svg}</details>"
        for day, svg in status.timelines.items()
    )
    problems = "".join(f"<p class='meta'>{e(p)}</p>" for p in status.problems)
    headline = f"{len(firing)} firing" if firing else "all clear"
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>featmon: {e(headline)}</title><style>{CSS}</style></head><body>"
        f"<h1>featmon: {e(headline)}</h1><div class='meta'>as of "
        f"{e(for_people(status.now, zone))} · refresh to update</div>{problems}"
        f"<h2>Incidents</h2>{cards}<h2>Silences</h2>{silences}"
        f"<h2>Runs</h2>{_runs_section(status, zone)}"
        + (f"<h2>Timelines</h2>{timelines}" if timelines else "")
        + "</body></html>\n"
    )
