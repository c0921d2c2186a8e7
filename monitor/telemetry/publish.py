"""Where a run's results leave featmon besides notifications: Cloud Monitoring metrics (the
backstop: alert policies fire even when Slack or featmon's own alerting is broken) and
Cloud Logging entries. Both are per run and per result, stateless, and never raise: a
telemetry failure is returned as a problem and never blocks the notification path."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from alerts.lifecycle import AlertState
from alerts.model import alerts_from
from checks.durations import parse_duration
from monitor.config import Config
from monitor.pipeline.cycle import RunReport

if TYPE_CHECKING:
    from monitor.telemetry.cloud_monitoring import CloudMonitoringSink


# One sink per process and destination: a daemon's cycles share its descriptors and its
# memory of when each series was last written, so the sampling-period guard holds across
# cycles (two schedule groups finishing within seconds must not both write run_heartbeat).
_SINKS: dict[tuple[str, str, str | None], CloudMonitoringSink] = {}


def publish_metrics(
    config: Config,
    report: RunReport,
    now: dt.datetime,
    recoveries: Mapping[dt.date, Mapping[str, float]] | None = None,
) -> list[str]:
    """Write this run's metrics to Cloud Monitoring, if configured (with the recovery
    figures of the dates that recovered in it); problems, never raised."""
    cm = config.alerts.cloud_monitoring
    if cm is None:
        return []
    try:
        key = (cm.project, cm.location, cm.endpoint)
        if key not in _SINKS:
            timeout_s = parse_duration(cm.timeout).total_seconds()
            _SINKS[key] = _monitoring_sink(cm.project, cm.location, cm.endpoint, timeout_s)
        today = now.astimezone(config.zone()).date()
        published = _SINKS[key].publish(report.results, today, report.duration_s, now, recoveries)
    except Exception as e:  # credentials missing, etc.: metrics never block alerting
        return [f"cloud_monitoring: {type(e).__name__}: {e}"]
    return [f"cloud_monitoring: {problem}" for problem in published.errors]


def _monitoring_sink(
    project: str, location: str, endpoint: str | None, timeout_s: float
) -> CloudMonitoringSink:
    """Google's endpoint, or a plaintext gRPC MetricService at `endpoint` (tests)."""
    from monitor.telemetry.cloud_monitoring import CloudMonitoringSink, MonitoringSettings

    client = None
    if endpoint:
        import grpc
        from google.cloud import monitoring_v3
        from google.cloud.monitoring_v3.services.metric_service.transports import (
            MetricServiceGrpcTransport,
        )

        channel = grpc.insecure_channel(endpoint)
        client = monitoring_v3.MetricServiceClient(
            transport=MetricServiceGrpcTransport(channel=channel)
        )
    settings = MonitoringSettings(project, location, timeout_s=timeout_s)
    return CloudMonitoringSink(settings, client)


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
