"""The Cloud Monitoring sink: each run's results as custom metrics, the backstop to Slack.

Alert policies (and "featmon stopped running": an absent heartbeat) live in Cloud
Monitoring, so they fire even when Slack or featmon's own alerting is broken. Labels stay
bounded (`check`, `feature`, `days_from_today`; never a raw date). The API's rules are
kept: at most 200 series per request, and a series is not written again within its
sampling period (such points are skipped, not failed). A failure is reported, never
raised: metrics must not block the Slack path, and the next run writes fresh values.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from google.api import label_pb2, metric_pb2
from google.api_core import exceptions as gexc
from google.cloud import monitoring_v3

from checks.base import CheckResult

PREFIX = "custom.googleapis.com/featmon/"
MAX_SERIES_PER_REQUEST = 200
STATUS_VALUE = {"ok": 0, "alert": 1, "error": 2}
_D = metric_pb2.MetricDescriptor
SERIES_LABELS = ("check", "feature", "days_from_today")
METRICS: dict[str, tuple[Any, str, tuple[str, ...]]] = {
    "affected_predictions": (_D.ValueType.INT64, "Predictions a check flagged", SERIES_LABELS),
    "affected_ratio": (_D.ValueType.DOUBLE, "Share of predictions a check flagged", SERIES_LABELS),
    "check_status": (_D.ValueType.INT64, "0 ok, 1 alert, 2 error", SERIES_LABELS),
    "run_heartbeat": (_D.ValueType.INT64, "1 per finished featmon run", ()),
    "check_duration_seconds": (_D.ValueType.DOUBLE, "Duration of a featmon run", ("check",)),
    # A recovered date's figures (monitor/remediation/recovery.py), once, when it recovers.
    "time_to_detect_seconds": (
        _D.ValueType.DOUBLE,
        "First bad prediction -> alert, per recovered date",
        ("days_from_today",),
    ),
    "time_to_act_seconds": (
        _D.ValueType.DOUBLE,
        "Alert -> regeneration request, per recovered date",
        ("days_from_today",),
    ),
    "recovery_seconds": (
        _D.ValueType.DOUBLE,
        "Regeneration request (or alert) -> resolved, per recovered date",
        ("days_from_today",),
    ),
    "superseded_predictions": (
        _D.ValueType.DOUBLE,
        "Predictions superseded by the fix, per recovered date",
        ("days_from_today",),
    ),
}


@dataclass(frozen=True)
class MonitoringSettings:
    project: str
    location: str = "us-west2"  # for the cloud_run_job resource
    min_interval_s: float = 10.0  # the API's sampling period: never write a series faster
    # Per call: a hung endpoint costs the run this long at most, then DeadlineExceeded is
    # reported like any failed write (metrics never block alerting).
    timeout_s: float = 10.0


@dataclass
class PublishReport:
    written: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)


def _series_key(metric: str, labels: dict[str, str]) -> tuple[str, ...]:
    return (metric, *sorted(labels.items()))  # type: ignore[arg-type]


class CloudMonitoringSink:
    name = "cloud_monitoring"

    def __init__(
        self,
        settings: MonitoringSettings,
        client: monitoring_v3.MetricServiceClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.client = client or monitoring_v3.MetricServiceClient()
        self.clock = clock
        self._descriptors_ready = False
        self._last_written: dict[tuple[str, ...], float] = {}

    @property
    def project_path(self) -> str:
        return f"projects/{self.settings.project}"

    def resource(self) -> dict[str, Any]:
        job = os.environ.get("CLOUD_RUN_JOB")
        if job:
            return {
                "type": "cloud_run_job",
                "labels": {
                    "project_id": self.settings.project,
                    "location": self.settings.location,
                    "job_name": job,
                },
            }
        return {"type": "global", "labels": {"project_id": self.settings.project}}

    def ensure_descriptors(self) -> None:
        """Create the metric descriptors once per process (creating is idempotent)."""
        if self._descriptors_ready:
            return
        for name, (value_type, description, labels) in METRICS.items():
            descriptor = metric_pb2.MetricDescriptor(
                type=PREFIX + name,
                metric_kind=_D.MetricKind.GAUGE,
                value_type=value_type,
                description=description,
                display_name=f"featmon {name}",
                labels=[
                    label_pb2.LabelDescriptor(
                        key=k, value_type=label_pb2.LabelDescriptor.ValueType.STRING
                    )
                    for k in labels
                ],
            )
            self.client.create_metric_descriptor(
                name=self.project_path,
                metric_descriptor=descriptor,
                timeout=self.settings.timeout_s,
            )
        self._descriptors_ready = True

    def publish(
        self,
        results: Sequence[CheckResult],
        today: dt.date,
        duration_s: float,
        now: dt.datetime,
        recoveries: Mapping[dt.date, Mapping[str, float]] | None = None,
    ) -> PublishReport:
        """This run's points; `recoveries`: the figures of the dates that recovered in it
        (metric name -> value, by game date)."""
        report = PublishReport()
        try:
            self.ensure_descriptors()
        except gexc.GoogleAPICallError as e:
            report.errors.append(f"cannot create metric descriptors: {e.message or e}")
            return report
        points: list[tuple[str, dict[str, str], int | float]] = [
            ("run_heartbeat", {}, 1),
            ("check_duration_seconds", {"check": "cycle"}, float(duration_s)),
        ]
        for r in results:
            labels = {
                "check": r.check,
                "feature": r.feature or "",
                "days_from_today": str((r.game_date - today).days) if r.game_date else "none",
            }
            points += [
                ("check_status", labels, STATUS_VALUE[r.status]),
                ("affected_predictions", labels, int(r.affected)),
                ("affected_ratio", labels, float(r.affected_ratio)),
            ]
        for day, figures in sorted((recoveries or {}).items()):
            labels = {"days_from_today": str((day - today).days)}
            points += [(metric, labels, float(value)) for metric, value in figures.items()]
        series = []
        moment = self.clock()
        for metric, labels, value in points:
            key = _series_key(metric, labels)
            last = self._last_written.get(key)
            if last is not None and moment - last < self.settings.min_interval_s:
                report.skipped += 1
                continue
            series.append((key, self._series(metric, labels, value, now)))
        for start in range(0, len(series), MAX_SERIES_PER_REQUEST):
            batch = series[start : start + MAX_SERIES_PER_REQUEST]
            try:
                self.client.create_time_series(
                    name=self.project_path,
                    time_series=[s for _, s in batch],
                    timeout=self.settings.timeout_s,
                )
            except gexc.GoogleAPICallError as e:
                report.errors.append(f"writing {len(batch)} series failed: {e.message or e}")
                continue
            for key, _ in batch:
                self._last_written[key] = moment
            report.written += len(batch)
        return report

    def _series(
        self, metric: str, labels: dict[str, str], value: int | float, now: dt.datetime
    ) -> monitoring_v3.TimeSeries:
        point_value = {"int64_value": value} if isinstance(value, int) else {"double_value": value}
        return monitoring_v3.TimeSeries(
            {
                "metric": {"type": PREFIX + metric, "labels": labels},
                "resource": self.resource(),
                "points": [{"interval": {"end_time": now}, "value": point_value}],
            }
        )
