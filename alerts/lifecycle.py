"""The alert lifecycle: from this run's results and the stored alert states, what changes
and what must be notified (new, repeat, update, resolved), Alertmanager-style.

Pure: no storage and no sinks, so the same rules hold for the daemon and for stateless
Cloud Run jobs (which load and save the states around it), and every rule is testable
with a clock the test controls.

Rules:
- `alert` results fire; the first later run where that check passes for that date (and
  feature) resolves. `error` results never resolve anything; they raise their own
  "featmon cannot run check X" alert, resolved once the check runs again.
- A firing alert is announced once; re-announced after `repeat_interval`; and when its
  affected count grows, its message is updated (not re-posted).
- Silenced or inhibited alerts are tracked but not announced; one that was never
  announced also resolves silently.
- An alert whose game date has left the checked window resolves (nothing checks it now).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from alerts.model import Alert, alerts_from
from alerts.silences import Inhibit, Silence, why_muted
from checks.base import CheckResult

NotificationKind = Literal["firing", "repeat", "update", "resolved"]


@dataclass(frozen=True)
class AlertState:
    """What the state store keeps per fingerprint between runs."""

    fingerprint: str
    labels: Mapping[str, str]
    status: Literal["firing", "resolved"]
    started_at: dt.datetime
    last_seen_at: dt.datetime
    summary: str = ""
    affected: int = 0
    total: int = 0
    resolved_at: dt.datetime | None = None
    resolved_reason: str = ""
    last_notified_at: dt.datetime | None = None
    notified_affected: int = 0
    muted_by: str = ""


@dataclass(frozen=True)
class Notification:
    kind: NotificationKind
    state: AlertState
    alert: Alert | None = None  # the current finding (None for a resolution)
    # What the monitor learned since (for a resolution: the date's graded hit rates).
    outcome: str = ""


@dataclass
class Transition:
    states: dict[str, AlertState] = field(default_factory=dict)  # changed states only
    notifications: list[Notification] = field(default_factory=list)


def _key(labels: Mapping[str, str]) -> tuple[str, str, str]:
    return labels["check"], labels["game_date"], labels["feature"]


def evaluate(
    previous: Mapping[str, AlertState],
    results: Sequence[CheckResult],
    now: dt.datetime,
    *,
    window: tuple[dt.date, dt.date],
    repeat_interval: dt.timedelta = dt.timedelta(hours=4),
    silences: Sequence[Silence] = (),
    inhibits: Sequence[Inhibit] = (),
) -> Transition:
    out = Transition()
    current = alerts_from(results)
    firing_now = [a for a in current if a.kind == "firing"]
    passed = {
        (r.check, r.game_date.isoformat() if r.game_date else "", r.feature or "")
        for r in results
        if r.status == "ok"
    }
    ran = {r.check for r in results if r.status != "error"}

    for alert in current:
        fp = alert.fingerprint
        muted = why_muted(alert, firing_now, silences, inhibits, now)
        prev = previous.get(fp)
        base = AlertState(
            fingerprint=fp,
            labels=alert.labels,
            status="firing",
            started_at=now,
            last_seen_at=now,
            summary=alert.summary,
            affected=alert.affected,
            total=alert.total,
            muted_by=muted,
        )
        if prev is not None and prev.status == "firing":
            base = replace(
                base,
                started_at=prev.started_at,
                last_notified_at=prev.last_notified_at,
                notified_affected=prev.notified_affected,
            )
        kind: NotificationKind | None = None
        if muted:
            kind = None
        elif base.last_notified_at is None:
            kind = "firing"
        elif alert.affected > base.notified_affected:
            kind = "update"
        elif now - base.last_notified_at >= repeat_interval:
            kind = "repeat"
        if kind is not None:
            base = replace(
                base,
                notified_affected=alert.affected,
                last_notified_at=base.last_notified_at if kind == "update" else now,
            )
            out.notifications.append(Notification(kind, base, alert))
        out.states[fp] = base

    start, end = window
    for fp, prev in previous.items():
        if prev.status != "firing" or fp in out.states:
            continue
        labels = prev.labels
        reason = ""
        if labels.get("kind") == "error":
            if labels["check"] in ran:
                reason = "the check runs again"
        elif _key(labels) in passed:
            reason = "the check passes"
        elif labels["game_date"] and not (
            start <= dt.date.fromisoformat(labels["game_date"]) <= end
        ):
            reason = "the game date left the checked window"
        if not reason:
            continue  # not checked this run (errored or not run): keep firing
        resolved = replace(prev, status="resolved", resolved_at=now, resolved_reason=reason)
        out.states[fp] = resolved
        if prev.last_notified_at is not None:
            out.notifications.append(Notification("resolved", resolved))
    return out
