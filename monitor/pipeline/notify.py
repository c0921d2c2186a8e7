"""After a run: the alert lifecycle against the stored state, then delivery through the
notification log. Runs when a notifying sink (Slack) is configured, or when `history` is
on (the timeline shows when alerts fired and resolved); otherwise `featmon check` stays
read-only."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace

from alerts.dispatch import DispatchReport, Notifier, dispatch
from alerts.lifecycle import (
    AlertState,
    Inhibit,
    Notification,
    Silence,
    Transition,
    evaluate,
)
from alerts.sinks.slack import SlackSettings, SlackSink
from checks.durations import parse_duration
from monitor.clock import now_utc
from monitor.config import Config
from monitor.persistence.alert_state import StateStore
from monitor.pipeline.cycle import RunReport, run_impact
from monitor.pipeline.window import DateWindow
from monitor.warehouse import (
    LOCKED,
    Warehouse,
    WarehouseError,
    open_for_writing,
    open_waiting_for_lock,
    open_warehouse,
)
from monitor.warehouse.duckdb import DuckDBWarehouse

log = logging.getLogger("featmon.notify")


def notifiers(config: Config, wh: Warehouse | None = None) -> list[Notifier]:
    """The configured sinks; with `wh`, Slack can attach timelines rendered from it."""
    slack = config.alerts.slack
    if slack is None:
        return []
    settings = SlackSettings(
        token=slack.token.get_secret_value() if slack.token else None,
        webhook_url=slack.webhook_url.get_secret_value() if slack.webhook_url else None,
        base_url=slack.base_url,
        channels={str(k): v for k, v in slack.channels.items()},
        runbook_url=config.alerts.runbook_url,
        max_retries=slack.max_retries,
        attach_timeline=slack.attach_timeline,
    )
    timeline = None
    if wh is not None and slack.attach_timeline and config.history is not None:
        timeline = timeline_renderer(config, wh)
    return [SlackSink(settings, timeline)]


def timeline_renderer(config: Config, wh: Warehouse) -> Callable[[str], bytes | None]:
    """Render a game date's timeline PNG at most once per run, from this run's connection."""
    from monitor.reports.timeline import build_timeline
    from monitor.reports.timeline_plot import png

    cache: dict[str, bytes] = {}

    def render(game_date: str) -> bytes | None:
        if game_date not in cache:
            cache[game_date] = png(build_timeline(config, wh, dt.date.fromisoformat(game_date)))
        return cache[game_date]

    return render


LEASE = "notify"
LEASE_TTL = dt.timedelta(
    minutes=2
)  # a notify phase takes seconds; a crashed holder blocks this long


class LeaseBusy(WarehouseError):
    """Another run holds the notification lease for longer than we wait."""


@contextlib.contextmanager
def lease(store: StateStore, now: dt.datetime, max_wait_s: float) -> Iterator[None]:
    """One run at a time decides and sends notifications (a Scheduler retry or a manual
    run overlapping the scheduled one): the second waits, then sees the first's state."""
    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
    deadline = time.monotonic() + max_wait_s
    while not store.acquire(LEASE, holder, now, LEASE_TTL):
        if time.monotonic() > deadline:
            raise LeaseBusy(
                f"another featmon run holds the notification lease; gave up after {max_wait_s:g}s"
            )
        log.info("another featmon run is notifying; waiting for its lease")
        time.sleep(1.0)
    try:
        yield
    finally:
        store.release(LEASE, holder, now)


def publish_metrics(config: Config, report: RunReport, now: dt.datetime) -> list[str]:
    """Write this run's metrics to Cloud Monitoring, if configured; problems, never raised."""
    cm = config.alerts.cloud_monitoring
    if cm is None:
        return []
    from monitor.telemetry.cloud_monitoring import CloudMonitoringSink, MonitoringSettings

    client = None
    if cm.endpoint:
        import grpc
        from google.cloud import monitoring_v3
        from google.cloud.monitoring_v3.services.metric_service.transports import (
            MetricServiceGrpcTransport,
        )

        channel = grpc.insecure_channel(cm.endpoint)
        client = monitoring_v3.MetricServiceClient(
            transport=MetricServiceGrpcTransport(channel=channel)
        )
    try:
        sink = CloudMonitoringSink(MonitoringSettings(cm.project, cm.location), client)
        today = now.astimezone(config.zone()).date()
        published = sink.publish(report.results, today, report.duration_s, now)
    except Exception as e:  # credentials missing, etc.: metrics never block alerting
        return [f"cloud_monitoring: {type(e).__name__}: {e}"]
    return [f"cloud_monitoring: {problem}" for problem in published.errors]


def log_run(
    config: Config,
    report: RunReport,
    resolved: list[AlertState],
    now: dt.datetime,
    log_format: str | None = None,
) -> None:
    """Structured log entries for the run, if alerts.cloud_logging is configured."""
    cl = config.alerts.cloud_logging
    if cl is None:
        return
    from alerts.model import alerts_from
    from monitor.telemetry.cloud_logging import RunLogger

    fmt = log_format or cl.format
    if fmt == "auto":
        fmt = "json" if os.environ.get("CLOUD_RUN_JOB") or os.environ.get("K_SERVICE") else "text"
    logger = RunLogger(structured=fmt == "json", run_id=f"{now:%Y%m%dT%H%M%S}-{os.getpid()}")
    alerts = alerts_from(report.results)
    logger.alerts(alerts)
    logger.resolved(resolved)
    logger.run(
        report.status,
        report.duration_s,
        sum(a.kind == "firing" for a in alerts),
        sum(a.kind == "error" for a in alerts),
    )


def open_state(config: Config) -> tuple[Warehouse, StateStore]:
    """The warehouse, opened for writing, and the state store in it. Another featmon (or the
    pipeline) holding the embedded DuckDB file's write lock is waited for, not failed on."""
    wh = open_for_writing(config)
    store = StateStore(wh, config.state.dataset)
    try:
        store.ensure()
    except Exception:
        wh.close()
        raise
    return wh, store


def notify(
    config: Config, report: RunReport, now: dt.datetime
) -> tuple[DispatchReport, list[AlertState]] | None:
    """Delivery of this run's notifications, and the alerts this run resolved."""
    sinks = notifiers(config)
    if not sinks and config.history is None:
        return None  # nothing to tell and no history to keep: stay read-only
    wh, store = open_state(config)
    sinks = notifiers(config, wh)
    with wh, lease(store, now, config.state.wait_s):
        transition = _evaluate(config, report, now, store.firing(), store.active_silences(now))
        store.save(transition.states.values())
        resolved = [s for s in transition.states.values() if s.status == "resolved"]
        notes = with_outcomes(config, wh, transition.notifications) if sinks else []
        return dispatch(store, sinks, notes, now), resolved


def with_outcomes(config: Config, wh: Warehouse, notes: list[Notification]) -> list[Notification]:
    """Resolutions of dated alerts carry the date's graded hit rates, once `grading` has
    them (an alert on a played date resolves when the date leaves the window, by which
    time its games are usually graded). One impact query; on failure, plain resolutions."""
    if config.grading is None:
        return notes
    dates = sorted(
        {
            dt.date.fromisoformat(n.state.labels["game_date"])
            for n in notes
            if n.kind == "resolved" and n.state.labels.get("game_date")
        }
    )
    if not dates:
        return notes
    try:
        rows = {r.game_date: r for r in run_impact(config, wh, DateWindow(dates[0], dates[-1]))}
    except WarehouseError as e:
        log.warning("graded outcomes not added to resolutions: %s", e)
        return notes
    out = []
    for n in notes:
        day = n.state.labels.get("game_date")
        row = rows.get(dt.date.fromisoformat(day)) if n.kind == "resolved" and day else None
        out.append(replace(n, outcome=row.outcome()) if row else n)
    return out


def flush_pending(config: Config) -> None:
    """Deliver whatever is still pending (the daemon's last act before exiting)."""
    sinks = notifiers(config)
    if not sinks:
        return
    try:
        wh, store = open_state(config)
    except WarehouseError as e:
        log.warning("could not flush pending notifications: %s", e)
        return
    with wh:
        report = dispatch(store, notifiers(config, wh), [], now_utc())
    log.info("flushed pending notifications: sent=%d still pending=%d", report.sent, report.pending)


def wait_for_warehouse(config: Config, max_wait_s: float = 60.0) -> None:
    """Delay a cycle while another process holds the embedded DuckDB file's write lock
    (the pipeline loading data): the cycle then runs, rather than failing."""
    if config.warehouse.backend != "duckdb" or not config.warehouse_path().exists():
        return
    with contextlib.suppress(WarehouseError):  # the cycle itself reports the problem
        open_waiting_for_lock(
            lambda: DuckDBWarehouse(config.warehouse_path()),
            max_wait_s,
            0.5,
            LOCKED,
        ).close()


def preview(config: Config, report: RunReport, now: dt.datetime) -> list[Notification]:
    """What this run would notify, from the stored state, without writing anything
    (`featmon check --dry-run`). No state yet means every alert would be new."""
    previous: dict[str, AlertState] = {}
    stored_silences: list[Silence] = []
    try:
        with open_warehouse(config) as wh:
            store = StateStore(wh, config.state.dataset)
            previous = store.firing()
            stored_silences = store.active_silences(now)
    except WarehouseError:
        pass  # no state tables yet (or no file): nothing was sent before
    return _evaluate(config, report, now, previous, stored_silences).notifications


def _evaluate(
    config: Config,
    report: RunReport,
    now: dt.datetime,
    previous: dict[str, AlertState],
    stored_silences: list[Silence],
) -> Transition:
    """The lifecycle with the config's rules: one place for notify and --dry-run."""
    silences = [Silence(s.match, s.until, s.reason) for s in config.alerts.silences]
    return evaluate(
        previous,
        report.results,
        now,
        window=(report.window.start, report.window.end),
        repeat_interval=parse_duration(config.alerts.repeat_interval),
        silences=silences + stored_silences,
        inhibits=[Inhibit(r.source, r.target) for r in config.alerts.inhibit],
    )
