"""The alert lifecycle: from this run's results and the stored alert states, what changes
and what must be notified (new, repeat, update, resolved), Alertmanager-style.

Pure: no storage and no sinks, so the same rules hold for the daemon and for stateless
Cloud Run jobs (which load and save the states around it), and every rule is testable
with a clock the test controls. What the run looked at is an input too (`RunScope`), so
that a run changes only what it looked at.

Rules:
- `alert` results fire; the first later run where that check passes for that date (and
  feature) resolves. `error` results never resolve anything; they raise their own
  "featmon cannot run check X" alert, resolved once the check runs again.
- Alerts are grouped (alerts/grouping.py: `group_by`, default the game date): a group is
  one message, and it repeats as one: once `repeat_interval` has passed since the group's
  latest announcement (a new alert joining is one; growth is not), every firing alert of
  it is re-announced (`repeat`) together.
- A firing alert is announced once; re-announced with its group; and when its
  affected count grows, its message is updated (not re-posted). Only scheduled runs
  re-announce: a narrow run (`--only`, `--date`, `--from/--to`) may fire a new alert but
  only refreshes what it saw of one already firing, so the schedule's repeat and update
  still happen, on the schedule's clock.
- Silenced or inhibited alerts are tracked but not announced; one that was never
  announced also resolves silently.
- An alert whose game date has left the configured window resolves (nothing checks it
  now), in a run over the configured window that ran the alert's check: a narrower or
  other window says nothing about the dates it skipped, and a daemon cycle running some
  of the checks speaks only for those.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from alerts.grouping import DEFAULT_GROUP_BY, group_labels, new_group_id, same_labels_key
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
    group_id: str = ""  # the group it is announced with (alerts/grouping.py)


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


@dataclass(frozen=True, kw_only=True)
class RunScope:
    """What one run looked at. A run may change only alerts inside it, so an engineer
    investigating with a narrow run never changes what the schedule reports.

    `checks`: the checks the run ran (whatever they found, errors included). `window`: the
    first and last game date it checked. `configured_window`: that window is the config's
    (no `--date`, `--from/--to`), so a date outside it is one featmon no longer monitors.
    `scheduled`: the run stands for the schedule (a daemon cycle, whatever its subset of
    checks; `featmon check` with no window flags and no `--only`, as the Cloud Run job
    runs), so it owns the announcements of what keeps firing: repeats and updates.
    """

    checks: frozenset[str]
    window: tuple[dt.date, dt.date]
    configured_window: bool
    scheduled: bool

    def __post_init__(self) -> None:
        if self.scheduled and not self.configured_window:
            raise ValueError("a scheduled run checks the configured window")

    def dropped(self, labels: Mapping[str, str]) -> bool:
        """This run checked the configured window for the alert's check, and that window
        no longer holds the alert's date: nothing will check it again."""
        day = labels["game_date"]
        if not (self.configured_window and day and labels["check"] in self.checks):
            return False
        start, end = self.window
        return not start <= dt.date.fromisoformat(day) <= end


def _key(labels: Mapping[str, str]) -> tuple[str, str, str]:
    return labels["check"], labels["game_date"], labels["feature"]


def evaluate(
    previous: Mapping[str, AlertState],
    results: Sequence[CheckResult],
    now: dt.datetime,
    *,
    scope: RunScope,
    repeat_interval: dt.timedelta = dt.timedelta(hours=4),
    silences: Sequence[Silence] = (),
    inhibits: Sequence[Inhibit] = (),
    group_by: Sequence[str] = DEFAULT_GROUP_BY,
) -> Transition:
    out = Transition()
    current = alerts_from(results)
    groups = _Groups(previous, group_by)
    firing_now = [a for a in current if a.kind == "firing"]
    passed = {
        (r.check, r.game_date.isoformat() if r.game_date else "", r.feature or "")
        for r in results
        if r.status == "ok"
    }
    ran = {r.check for r in results if r.status != "error"}

    for alert in current:
        prev = previous.get(alert.fingerprint)
        was_firing = prev if prev is not None and prev.status == "firing" else None
        group = groups.of(alert, was_firing, now)
        if was_firing is not None and not scope.scheduled:
            out.states[alert.fingerprint] = replace(_seen(was_firing, alert, now), group_id=group)
            continue
        muted = why_muted(alert, firing_now, silences, inhibits, now)
        state, note = _announce(alert, was_firing, muted, now)
        out.states[alert.fingerprint] = replace(state, group_id=group)
        if note is not None:
            out.notifications.append(replace(note, state=out.states[alert.fingerprint]))

    if scope.scheduled:
        _repeat_groups(previous, current, out, now, repeat_interval)

    for fp, prev in previous.items():
        if prev.status != "firing" or fp in out.states:
            continue
        reason = _why_resolved(prev.labels, passed, ran, scope)
        if not reason:
            continue  # not looked at this run (errored, not run, another date): keep firing
        resolved = replace(prev, status="resolved", resolved_at=now, resolved_reason=reason)
        out.states[fp] = resolved
        if prev.last_notified_at is not None:
            out.notifications.append(Notification("resolved", resolved))
    return out


def _seen(prev: AlertState, alert: Alert, now: dt.datetime) -> AlertState:
    """A narrow run's view of an alert already firing: what it saw (so `featmon alerts`
    shows it), nothing of the announcement bookkeeping (last notified, notified affected,
    muting), so the schedule still repeats and posts growth as if this run never happened."""
    return replace(
        prev,
        last_seen_at=now,
        summary=alert.summary,
        affected=alert.affected,
        total=alert.total,
    )


class _Groups:
    """The open groups (those with a firing alert) by their labels, so that a new alert
    joins the open group of its labels, or opens one."""

    def __init__(self, previous: Mapping[str, AlertState], group_by: Sequence[str]) -> None:
        self.group_by = group_by
        self.open: dict[str, str] = {}
        for st in previous.values():
            if st.status == "firing" and st.group_id:
                self.open[self._key(st.labels, st.summary)] = st.group_id

    def _key(self, labels: Mapping[str, str], summary: str) -> str:
        return same_labels_key(group_labels(labels, summary, self.group_by))

    def of(self, alert: Alert, prev: AlertState | None, now: dt.datetime) -> str:
        """The alert's group: the one it fires in already, else the open one of its labels,
        else a new one opening now."""
        if prev is not None and prev.group_id:
            return prev.group_id
        key = self._key(alert.labels, alert.summary)
        if key not in self.open:
            labels = group_labels(alert.labels, alert.summary, self.group_by)
            self.open[key] = new_group_id(labels, prev.started_at if prev else now)
        return self.open[key]


def _repeat_groups(
    previous: Mapping[str, AlertState],
    current: Sequence[Alert],
    out: Transition,
    now: dt.datetime,
    repeat_interval: dt.timedelta,
) -> None:
    """One repeat per group per `repeat_interval`: a group this run saw firing whose alerts
    were all last announced that long ago is re-announced, every firing alert of it at once
    (those this run saw get a `repeat` notification; the others, left to another schedule
    group's checks, only their clock reset, so the group does not repeat twice)."""
    states = {**previous, **out.states}
    seen = {a.fingerprint: a for a in current}
    announced = [
        st
        for st in states.values()
        if st.status == "firing" and not st.muted_by and st.last_notified_at is not None
    ]
    for group in sorted({st.group_id for st in announced if st.fingerprint in seen}):
        members = [st for st in announced if st.group_id == group]
        last = max(st.last_notified_at for st in members if st.last_notified_at is not None)
        if now - last < repeat_interval:
            continue
        for st in members:
            bumped = replace(st, last_notified_at=now)
            out.states[st.fingerprint] = bumped
            if st.fingerprint in seen:
                out.notifications.append(Notification("repeat", bumped, seen[st.fingerprint]))


def _announce(
    alert: Alert,
    prev: AlertState | None,
    muted: str,
    now: dt.datetime,
) -> tuple[AlertState, Notification | None]:
    """The state of a current alert and what to announce: new (`firing`) or grown
    (`update`); nothing while muted. (Repeats are the group's: `_repeat_groups`.)"""
    base = AlertState(
        fingerprint=alert.fingerprint,
        labels=alert.labels,
        status="firing",
        started_at=now,
        last_seen_at=now,
        summary=alert.summary,
        affected=alert.affected,
        total=alert.total,
        muted_by=muted,
    )
    if prev is not None:
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
    if kind is None:
        return base, None
    base = replace(
        base,
        notified_affected=alert.affected,
        last_notified_at=base.last_notified_at if kind == "update" else now,
    )
    return base, Notification(kind, base, alert)


def _why_resolved(
    labels: Mapping[str, str],
    passed: set[tuple[str, str, str]],
    ran: set[str],
    scope: RunScope,
) -> str:
    """Why this run resolves a firing alert it did not see fire, or "" to keep it: only
    what the run looked at resolves."""
    if labels.get("kind") == "error":
        return "the check runs again" if labels["check"] in ran else ""
    if _key(labels) in passed:
        return "the check passes"
    if scope.dropped(labels):
        return "the game date left the checked window"
    return ""
