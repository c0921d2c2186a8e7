"""After a run: the alert lifecycle against the stored state, then delivery through the
notification log. Runs when a notifying sink is configured, or when `history` is on (the
timeline shows when alerts fired and resolved); otherwise `featmon check` stays read-only.

Sinks never run SQL. What a message attaches (the timeline PNG of a newly firing date:
three queries and matplotlib) is rendered first, outside the notification lease, from a read
of the state. Then, under the lease (a few statements), the lifecycle runs for real, the new
state is saved and the notifications are recorded as pending: the intent. The lease is
released and the warehouse closed before any sink is called; delivery then claims each row
as it sends it and records the outcome (alerts/dispatch.py), opening an embedded warehouse
only for each of those writes, within one delivery deadline. So no warehouse lock or lease
is held while waiting on the network. Resolutions get the date's graded outcome (one small
query, only when a dated alert resolves).

A run that cannot get the lease within `state.wait_s` leaves notifying to the run that
holds it and says so: the holder's state already covers what this run would have sent.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

from alerts.dispatch import DeliveryBudget, DispatchReport, NotificationLog, dispatch
from alerts.lifecycle import AlertState, Notification, RunScope, Transition, evaluate
from alerts.silences import Inhibit, Silence
from alerts.sinks.base import Attachment, Sink
from checks.durations import parse_duration
from checks.times import localized
from monitor.clock import now_utc, real_now
from monitor.config import Config
from monitor.persistence.alert_state import StateStore
from monitor.persistence.brief_log import BriefLog
from monitor.pipeline.cycle import RunReport
from monitor.pipeline.impact import run_impact
from monitor.pipeline.sinks import attaches_timeline, has_sinks, sinks_from
from monitor.pipeline.window import DateWindow
from monitor.remediation.recovery import Recovery, with_recovery
from monitor.warehouse import (
    Warehouse,
    WarehouseError,
    capabilities,
    open_for_reading,
    open_for_writing,
)

log = logging.getLogger("featmon.notify")

LEASE = "notify"
# The lease covers reading the state, deciding and recording (seconds at most, no network
# call to a sink): a crashed holder on another host blocks this long at most.
LEASE_TTL = dt.timedelta(minutes=2)
LEASE_POLL_S = 0.2


@contextlib.contextmanager
def lease(store: StateStore, max_wait_s: float, name: str = LEASE) -> Iterator[bool]:
    """One run at a time decides and records notifications (a Scheduler retry or a manual
    run overlapping the scheduled one), or announces store versions (`name`: another lease
    on the same table, the invalidation signal's). Yields True once held, the expiry taken
    from the real clock at every try; False when another run kept it for `max_wait_s` (this
    run then leaves that work to that run). Database errors propagate as themselves."""
    deadline = time.monotonic() + max_wait_s
    logged = False
    while not store.acquire(name, store.holder, real_now(), LEASE_TTL):
        if time.monotonic() > deadline:
            yield False
            return
        if not logged:
            log.info("another featmon run holds the %s lease; waiting for it", name)
            logged = True
        time.sleep(LEASE_POLL_S)
    try:
        yield True
    finally:
        store.release(name, store.holder)


def open_state(
    config: Config, claim_ttl: dt.timedelta | None = None
) -> tuple[Warehouse, StateStore]:
    """The warehouse, opened for writing, and the state store in it. Another featmon (or the
    pipeline) holding the embedded DuckDB file's write lock is waited for, not failed on."""
    wh = open_for_writing(config)
    store = StateStore(wh, config.state.dataset, claim_ttl=claim_ttl or _claim_ttl(config))
    try:
        store.ensure()
    except Exception:
        wh.close()
        raise
    return wh, store


def _deadline_s(config: Config) -> float:
    return parse_duration(config.alerts.delivery_deadline).total_seconds()


def _claim_ttl(config: Config) -> dt.timedelta:
    """How long a row being sent stays this run's: the delivery deadline, the longest one
    call can add to it, and a wait for the write lock to record the outcome."""
    return dt.timedelta(seconds=_deadline_s(config) + config.state.wait_s + 60)


@dataclass
class Notified:
    delivery: DispatchReport
    resolved: list[AlertState]  # alerts this run resolved (for the run log)
    # The run that held the notification lease for all of `state.wait_s`: it notifies.
    left_to: str | None = None
    # Recovery figures of the dates this run saw recover (monitor/remediation/recovery.py).
    recoveries: dict[str, Recovery] = field(default_factory=dict)


def notify(config: Config, report: RunReport, now: dt.datetime, scope: RunScope) -> Notified | None:
    """Decide, record and deliver this run's notifications, changing only the alerts inside
    `scope`; None when featmon keeps no state (no sink and no history)."""
    notifying = has_sinks(config)
    if not notifying and config.history is None:
        return None
    attachments = (
        render_attachments(config, report, now, scope) if attaches_timeline(config) else {}
    )
    sinks = sinks_from(config)
    wh, store = open_state(config)
    with wh, lease(store, config.state.wait_s) as held:
        if not held:
            return Notified(DispatchReport(), [], left_to=store.holder_of(LEASE) or "another run")
        firing = store.firing()
        transition = _evaluate(config, report, now, scope, firing, store.active_silences(now))
        store.save(transition.states.values())
        resolved = [s for s in transition.states.values() if s.status == "resolved"]
        after = {**firing, **transition.states}.values()
        still = {s.labels.get("game_date", "") for s in after if s.status == "firing"}
        if sinks:
            notes = with_outcomes(config, wh, transition.notifications)
            notes, recovered = _with_recovery(config, wh, notes, now, still)
        else:  # nothing to deliver, but the run still reports the dates that recovered
            notes = []
            _, recovered = _with_recovery(config, wh, transition.notifications, now, still)
        store.record(notes, [s.name for s in sinks], now)
    # Lease released, warehouse closed: now the network.
    delivered = deliver(config, sinks, store.holder, now, attachments)
    return Notified(delivered, resolved, recoveries=recovered)


def deliver(
    config: Config,
    sinks: Sequence[Sink],
    holder: str,
    now: dt.datetime,
    attachments: dict[str, list[Attachment]] | None = None,
) -> DispatchReport:
    """Everything pending for `sinks`, within `alerts.delivery_deadline`, holding no lock
    or lease while a sink is called."""
    if not sinks:
        return DispatchReport()
    budget = DeliveryBudget(deadline_s=_deadline_s(config))
    try:
        with _delivery_log(config, holder) as delivery_log:
            return dispatch(delivery_log, sinks, [], now, attachments, budget)
    except WarehouseError as e:
        # The decisions are saved and the intents recorded: what was not marked sent stays
        # pending (or `sending`, which the next run looks up before sending again). Not a
        # state outage: this run's alerts were decided and recorded.
        return DispatchReport(
            problems=[f"notification log unavailable during delivery, the rest waits: {e}"]
        )


@contextlib.contextmanager
def _delivery_log(config: Config, holder: str) -> Iterator[NotificationLog]:
    """The log for the delivery phase: an embedded file opened per write (its lock shuts
    out every other process), a remote warehouse kept open (it has no such lock)."""
    ttl = _claim_ttl(config)
    if capabilities(config).embedded_file:
        yield BriefLog(lambda: open_for_writing(config), config.state.dataset, holder, ttl)
        return
    with open_for_writing(config) as wh:
        yield StateStore(wh, config.state.dataset, holder=holder, claim_ttl=ttl)


def _with_recovery(
    config: Config,
    wh: Warehouse,
    notes: list[Notification],
    now: dt.datetime,
    still_firing: set[str],
) -> tuple[list[Notification], dict[str, Recovery]]:
    """Resolutions of recovered dates with their recovery figures; on failure, as they are.
    `still_firing`: the game dates with an alert firing after this run (not recovered)."""
    try:
        return with_recovery(config, wh, notes, now, still_firing)
    except WarehouseError as e:
        log.warning("recovery figures not added to resolutions: %s", e)
        return notes, {}


def render_attachments(
    config: Config, report: RunReport, now: dt.datetime, scope: RunScope
) -> dict[str, list[Attachment]]:
    """Timeline PNGs, by game date, for the dates whose alerts this run will announce (new,
    or still pending from an earlier run): drawn before the lease, from a read of the state.
    Best effort: a date whose picture fails loses the picture, never the message."""
    expected = _expected_notifications(config, report, now, scope, pending_for=["slack"])
    dates = sorted({_day(n) for n in expected if n.kind == "firing" and _day(n)})
    out: dict[str, list[Attachment]] = {}
    if not dates:
        return out
    try:
        wh = open_for_reading(config)
    except WarehouseError as e:
        log.warning("timeline not attached: %s", e)
        return out
    with wh:
        for day in dates:
            try:
                out[day] = [_timeline(config, wh, day)]
            except Exception as e:  # rendering or warehouse: the alert itself still goes out
                log.warning("timeline of %s not attached: %s: %s", day, type(e).__name__, e)
    return out


def _timeline(config: Config, wh: Warehouse, game_date: str) -> Attachment:
    from monitor.reports.timeline import build_timeline
    from monitor.reports.timeline_plot import png

    image = png(build_timeline(config, wh, dt.date.fromisoformat(game_date)))
    return Attachment(
        what="timeline",
        filename=f"featmon-timeline-{game_date}.png",
        title=f"featmon timeline {game_date}",
        comment=f"Timeline of game date {game_date}",
        content=image,
    )


def _day(note: Notification) -> str:
    return note.state.labels.get("game_date", "")


def with_outcomes(config: Config, wh: Warehouse, notes: list[Notification]) -> list[Notification]:
    """Resolutions of dated alerts carry the date's graded hit rates, once `grading` has
    them (an alert on a played date resolves when the date leaves the window, by which
    time its games are usually graded). One impact query, only when a dated alert resolves;
    on failure, plain resolutions."""
    dates = sorted({_day(n) for n in notes if n.kind == "resolved" and _day(n)})
    if config.grading is None or not dates:
        return notes
    first, last = (dt.date.fromisoformat(d) for d in (dates[0], dates[-1]))
    try:
        impact = run_impact(config, wh, DateWindow(first, last))
    except WarehouseError as e:
        log.warning("graded outcomes not added to resolutions: %s", e)
        return notes
    rows = {r.game_date.isoformat(): r for r in impact if r.is_total}
    return [
        replace(n, outcome=rows[_day(n)].outcome())
        if n.kind == "resolved" and _day(n) in rows
        else n
        for n in notes
    ]


def flush_pending(config: Config) -> None:
    """Deliver whatever is still pending (the daemon's last act before exiting)."""
    if not has_sinks(config):
        return
    try:
        wh, store = open_state(config)
        wh.close()  # the tables exist; delivery opens what it needs
        report = deliver(config, sinks_from(config), store.holder, now_utc())
    except WarehouseError as e:
        log.warning("could not flush pending notifications: %s", e)
        return
    log.info("flushed pending notifications: sent=%d still pending=%d", report.sent, report.pending)


def preview(
    config: Config, report: RunReport, now: dt.datetime, scope: RunScope
) -> list[Notification]:
    """What this run would notify, from the stored state, without writing anything
    (`featmon check --dry-run`), by the same scope rules as the run itself. No state yet
    means every alert would be new."""
    return _expected_notifications(config, report, now, scope)


def _expected_notifications(
    config: Config,
    report: RunReport,
    now: dt.datetime,
    scope: RunScope,
    pending_for: Sequence[str] = (),
) -> list[Notification]:
    """The lifecycle on a read of the state (and what is still pending for the sinks named
    in `pending_for` from earlier runs)."""
    previous: dict[str, AlertState] = {}
    stored_silences: list[Silence] = []
    pending: list[Notification] = []
    try:
        with open_for_reading(config) as wh:
            store = StateStore(wh, config.state.dataset)
            previous = store.firing()
            stored_silences = store.active_silences(now)
            for sink in pending_for:
                pending += [row.note for row in store.unsent(sink)]
    except WarehouseError:
        pass  # no state tables yet (or no file): nothing was sent before
    return _evaluate(config, report, now, scope, previous, stored_silences).notifications + pending


def _evaluate(
    config: Config,
    report: RunReport,
    now: dt.datetime,
    scope: RunScope,
    previous: dict[str, AlertState],
    stored_silences: list[Silence],
) -> Transition:
    """The lifecycle with the config's rules: one place for notify and --dry-run."""
    zone = config.zone()  # a configured `until` without an offset is wall-clock time there
    silences = [
        Silence(s.match, localized(s.until, zone), s.reason) for s in config.alerts.silences
    ]
    return evaluate(
        previous,
        report.results,
        now,
        scope=scope,
        repeat_interval=parse_duration(config.alerts.repeat_interval),
        silences=silences + stored_silences,
        inhibits=[Inhibit(r.source, r.target) for r in config.alerts.inhibit],
        group_by=config.alerts.group_by,
    )
