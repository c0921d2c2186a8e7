"""`featmon timeline --date D`: the incident as a sequence of events, like the seed's
hand-written timeline, from what featmon recorded: store versions (seen by featmon, or
known from the run log / audit logs with unknown values), prediction batches and the
version each matched, and alerts fired and resolved."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from alerts.content import display_name
from alerts.lifecycle import AlertState, Notification
from checks.times import for_people
from monitor.config import Config
from monitor.persistence.alert_state import StateStore
from monitor.persistence.history import Version
from monitor.pipeline.attribution import UNRECORDED, attribution_batches, day_history
from monitor.reports.attribution import Batch, describe
from monitor.warehouse.base import QueryError, Warehouse


@dataclass
class AlertEvent:
    at: dt.datetime
    kind: str  # fired / resolved
    text: str


@dataclass
class Timeline:
    game_date: dt.date
    zone: ZoneInfo
    versions: list[Version]
    batches: list[Batch]
    alerts: list[AlertEvent]
    recorded: bool = True  # featmon recorded this date's versions (else: the store now)
    problems: list[str] = field(default_factory=list)

    def version_at(self, written_at: dt.datetime | None) -> Version | None:
        return next((v for v in self.versions if v.written_at == written_at), None)


def build_timeline(config: Config, wh: Warehouse, game_date: dt.date) -> Timeline:
    zone = config.zone()
    known = day_history(config, wh, game_date)
    batches = attribution_batches(
        config, wh, [], game_date, game_date, "all", recorded=known.recorded
    )
    alerts: list[AlertEvent] = []
    existing = wh.columns_of(config.state.dataset)
    try:
        states = (
            StateStore(wh, config.state.dataset).all_alerts()
            if existing is None or "alerts" in existing
            else []
        )
    except QueryError:
        states = []  # no alert was ever recorded here
    for state in states:
        labels = state.labels
        if labels.get("game_date") != game_date.isoformat():
            continue
        name = display_name(labels["check"], labels.get("feature"), sep="")
        what = f"{labels['severity']} {name} (latest {state.affected}/{state.total})"
        alerts.append(AlertEvent(state.started_at, "alert fired", what))
        if state.status == "resolved" and state.resolved_at:
            why = f" ({state.resolved_reason})" if state.resolved_reason else ""
            alerts.append(AlertEvent(state.resolved_at, "alert resolved", name + why))
    alerts += _remediation_events(config, wh, game_date, states, existing)
    return Timeline(
        game_date, zone, known.versions, batches, alerts, known.recorded, known.problems
    )


def _remediation_events(
    config: Config,
    wh: Warehouse,
    game_date: dt.date,
    states: list[AlertState],
    existing: Mapping[str, object] | None,
) -> list[AlertEvent]:
    """The date's regeneration requests (monitor/persistence/remediations.py) and, once all
    its alerts have resolved, its recovery with the figures the resolution stated."""
    from monitor.persistence.remediations import RemediationLog
    from monitor.remediation.recovery import recoveries

    out: list[AlertEvent] = []
    if existing is None or "remediations" in existing:
        try:
            requests = RemediationLog(wh, config.state.dataset).of_date(game_date)
        except QueryError:
            requests = []
        for r in reversed(requests):
            answer = f"batch {r.batch_id}" if r.batch_id else r.error or "no answer recorded"
            what = f"{r.check or 'manual'} ({r.trigger}): {r.status}, {answer}"
            out.append(AlertEvent(r.created_at, "regeneration", what))
    dated = [s for s in states if s.labels.get("game_date") == game_date.isoformat()]
    if dated and all(s.status == "resolved" and s.resolved_at for s in dated):
        notes = [Notification("resolved", s) for s in dated if s.labels.get("kind") != "error"]
        try:
            found = recoveries(
                config, wh, notes, max(s.resolved_at or s.last_seen_at for s in dated)
            )
        except QueryError:
            found = {}
        for rec in found.values():
            text = rec.text().removeprefix("Recovery: ")
            out.append(AlertEvent(rec.resolved_at, "recovered", text))
    return out


def _q(value: float | None) -> str:
    return "?" if value is None else f"{value:.2f}"


def _version_text(v: Version) -> str:
    if not v.known:
        return f"store write, values unknown ({'; '.join(v.sources)})"
    spread = "" if v.quality_min == v.quality_max else f" ({_q(v.quality_min)}-{_q(v.quality_max)})"
    versions = f", {v.feature_versions}" if v.feature_versions else ""
    also = [s for s in v.sources if s != "featmon"]
    return (
        f"store version {v.label}: {v.rows} rows, quality {_q(v.quality_avg)}{spread}"
        f"{versions}" + (f"; also in {'; '.join(also)}" if also else "")
    )


def _batch_text(t: Timeline, b: Batch) -> str:
    v = t.version_at(b.version_written_at)
    plural = "s" if b.count != 1 else ""
    made = f"{b.count} prediction{plural}, logged quality {_q(b.logged_quality)}"
    if v is None:
        if not t.recorded:
            return f"{made} -> not the store's current version (an earlier one, values unknown)"
        return f"{made} -> no recorded version matches"
    stale = ""
    if b.superseded_at is not None and b.superseded_at <= b.made_at_min:
        stale = f", already replaced at {for_people(b.superseded_at, t.zone, 'clock')}"
    written = for_people(v.written_at, t.zone, "clock")
    return f"{made} -> version {v.label} (written {written}){stale}"


def events(t: Timeline) -> list[tuple[dt.datetime, str, str]]:
    out = [(v.written_at, "write", _version_text(v)) for v in t.versions]
    out += [(b.made_at_min, "predictions", _batch_text(t, b)) for b in t.batches]
    out += [(a.at, a.kind, a.text) for a in t.alerts]
    order = {
        "write": 0,
        "predictions": 1,
        "alert fired": 2,
        "regeneration": 3,
        "alert resolved": 4,
        "recovered": 5,
    }
    return sorted(out, key=lambda e: (e[0], order[e[1]], e[2]))


def as_text(t: Timeline) -> str:
    lines = [f"featmon timeline: game date {t.game_date} (times {t.zone.key})"]
    if not t.recorded:
        lines.append(
            f"  {UNRECORDED}; shown: the store's current rows, and writes from the "
            "pipeline's records"
        )
    lines += [f"  ({p})" for p in t.problems]
    if not t.versions and not t.batches:
        lines.append("  no store rows, no recorded writes and no predictions for this date")
    for at, kind, text in events(t):
        lines.append(f"  {for_people(at, t.zone, 'seconds')}  {kind:<14} {text}")
    stale = [
        b
        for b in t.batches
        if b.version_written_at is not None
        and b.superseded_at is not None
        and b.superseded_at <= b.made_at_min
    ]
    unmatched = [b for b in t.batches if b.version_written_at is None]
    total = sum(b.count for b in t.batches)
    lines.append("summary:")
    if stale:
        for b in stale:
            lines.append(f"  {describe(b, t.zone)}")
    else:
        lines.append("  no prediction used a version that had already been replaced")
    if unmatched:
        n = sum(b.count for b in unmatched)
        what = (
            "match no recorded version"
            if t.recorded
            else "do not match the store's current rows (the only version whose values are known)"
        )
        lines.append(f"  {n} of {total} predictions {what}")
        unknown = [v for v in t.versions if not v.known]
        if unknown:
            times = ", ".join(for_people(v.written_at, t.zone, "seconds") for v in unknown)
            lines.append(f"  writes featmon did not see (values unknown): {times}")
    return "\n".join(lines)
