"""The Cloud Monitoring sink through the official client against an in-process gRPC server."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from concurrent import futures
from typing import Any

import grpc
import pytest
from google.api import metric_pb2
from google.cloud import monitoring_v3
from google.cloud.monitoring_v3.services.metric_service.transports import MetricServiceGrpcTransport
from google.protobuf import empty_pb2

from checks.base import CheckResult
from monitor.telemetry.cloud_monitoring import PREFIX, CloudMonitoringSink, MonitoringSettings

TODAY = dt.date(2026, 2, 3)
NOW = dt.datetime(2026, 2, 3, 4, 13, tzinfo=dt.UTC)


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class MetricServer:
    """google.monitoring.v3.MetricService on 127.0.0.1, recording what it is sent."""

    def __init__(self) -> None:
        self.descriptors: list[metric_pb2.MetricDescriptor] = []
        self.requests: list[monitoring_v3.CreateTimeSeriesRequest] = []
        self.fail_next: grpc.StatusCode | None = None

        def create_series(request: Any, context: grpc.ServicerContext) -> empty_pb2.Empty:
            if self.fail_next is not None:
                code, self.fail_next = self.fail_next, None
                context.abort(
                    code,
                    "One or more points were written more frequently than the "
                    "maximum sampling period configured for the metric.",
                )
            self.requests.append(request)
            return empty_pb2.Empty()

        def create_descriptor(request: Any, context: grpc.ServicerContext) -> Any:
            self.descriptors.append(request.metric_descriptor)
            return request.metric_descriptor

        handlers = {
            "CreateTimeSeries": grpc.unary_unary_rpc_method_handler(
                create_series,
                request_deserializer=monitoring_v3.CreateTimeSeriesRequest.deserialize,
                response_serializer=empty_pb2.Empty.SerializeToString,
            ),
            "CreateMetricDescriptor": grpc.unary_unary_rpc_method_handler(
                create_descriptor,
                request_deserializer=monitoring_v3.CreateMetricDescriptorRequest.deserialize,
                response_serializer=metric_pb2.MetricDescriptor.SerializeToString,
            ),
        }
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        self.server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler("google.monitoring.v3.MetricService", handlers),)
        )
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()

    def client(self) -> monitoring_v3.MetricServiceClient:
        channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
        return monitoring_v3.MetricServiceClient(
            transport=MetricServiceGrpcTransport(channel=channel)
        )

    def series(self) -> list[monitoring_v3.TimeSeries]:
        return [s for r in self.requests for s in r.time_series]


@pytest.fixture
def server() -> Iterator[MetricServer]:
    s = MetricServer()
    yield s
    s.server.stop(grace=None)


def results(n_features: int = 2) -> list[CheckResult]:
    out = [
        CheckResult(
            check="quality_mismatch",
            game_date=TODAY,
            status="alert",
            severity="critical",
            total=147,
            affected=102,
        ),
        CheckResult(
            check="stale_predictions",
            game_date=TODAY - dt.timedelta(days=1),
            status="ok",
            severity="critical",
            total=97,
            affected=0,
        ),
        CheckResult(check="missing_quality", game_date=None, status="error", severity="warning"),
    ]
    out += [
        CheckResult(
            check="feature_mismatch",
            game_date=TODAY,
            status="ok",
            severity="warning",
            total=147,
            affected=0,
            feature=f"f{i}",
        )
        for i in range(n_features)
    ]
    return out


def by_metric(series: list[monitoring_v3.TimeSeries], name: str) -> list[monitoring_v3.TimeSeries]:
    return [s for s in series if s.metric.type == PREFIX + name]


def test_results_become_bounded_label_series(
    server: MetricServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CLOUD_RUN_JOB", raising=False)
    sink = CloudMonitoringSink(
        MonitoringSettings("nba-props-platform"), server.client(), FakeClock()
    )
    report = sink.publish(results(), TODAY, 1.5, NOW)
    assert report.errors == [] and report.written == 2 + 3 * 5
    assert {d.type for d in server.descriptors} == {
        PREFIX + m
        for m in (
            "affected_predictions",
            "affected_ratio",
            "check_status",
            "run_heartbeat",
            "check_duration_seconds",
            "time_to_detect_seconds",
            "time_to_act_seconds",
            "recovery_seconds",
            "superseded_predictions",
        )
    }
    series = server.series()
    [status] = [
        s
        for s in by_metric(series, "check_status")
        if s.metric.labels["check"] == "quality_mismatch"
    ]
    assert dict(status.metric.labels) == {
        "check": "quality_mismatch",
        "feature": "",
        "days_from_today": "0",
    }
    assert status.points[0].value.int64_value == 1
    assert (
        status.resource.type == "global"
        and status.resource.labels["project_id"] == "nba-props-platform"
    )
    [stale] = [
        s
        for s in by_metric(series, "check_status")
        if s.metric.labels["check"] == "stale_predictions"
    ]
    assert stale.metric.labels["days_from_today"] == "-1" and stale.points[0].value.int64_value == 0
    [error] = [
        s
        for s in by_metric(series, "check_status")
        if s.metric.labels["check"] == "missing_quality"
    ]
    assert (
        error.metric.labels["days_from_today"] == "none" and error.points[0].value.int64_value == 2
    )
    [ratio] = [
        s
        for s in by_metric(series, "affected_ratio")
        if s.metric.labels["check"] == "quality_mismatch"
    ]
    assert ratio.points[0].value.double_value == pytest.approx(0.6939)
    [beat] = by_metric(series, "run_heartbeat")
    assert beat.points[0].value.int64_value == 1
    assert beat.points[0].interval.end_time.timestamp() == NOW.timestamp()
    # Every label value is bounded: no raw dates anywhere.
    assert all(TODAY.isoformat() not in v for s in series for v in s.metric.labels.values())


def test_descriptors_once_and_no_series_written_twice_within_the_sampling_period(
    server: MetricServer,
) -> None:
    clock = FakeClock()
    sink = CloudMonitoringSink(MonitoringSettings("p-123456"), server.client(), clock)
    sink.publish(results(), TODAY, 1.0, NOW)
    clock.t += 3
    second = sink.publish(results(), TODAY, 1.0, NOW + dt.timedelta(seconds=3))
    assert (second.written, second.skipped) == (0, 17)
    assert len(server.descriptors) == 9 and len(server.requests) == 1
    clock.t += 10
    third = sink.publish(results(), TODAY, 1.0, NOW + dt.timedelta(seconds=13))
    assert (third.written, third.skipped) == (17, 0)


def test_at_most_200_series_per_request(server: MetricServer) -> None:
    sink = CloudMonitoringSink(MonitoringSettings("p-123456"), server.client(), FakeClock())
    report = sink.publish(results(n_features=100), TODAY, 1.0, NOW)
    assert report.written == 2 + 3 * 103
    assert [len(r.time_series) for r in server.requests] == [200, 111]


def test_a_rejected_write_is_reported_not_raised(server: MetricServer) -> None:
    server.fail_next = grpc.StatusCode.INVALID_ARGUMENT
    sink = CloudMonitoringSink(MonitoringSettings("p-123456"), server.client(), FakeClock())
    report = sink.publish(results(), TODAY, 1.0, NOW)
    assert report.written == 0
    assert report.errors and "maximum sampling period" in report.errors[0]
    # Not marked written: the next run (past the period) writes them.
    assert sink.publish(results(), TODAY, 1.0, NOW).written == 17


def test_cloud_run_job_resource(server: MetricServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUD_RUN_JOB", "featmon-check")
    sink = CloudMonitoringSink(
        MonitoringSettings("nba-props-platform", "us-west2"), server.client(), FakeClock()
    )
    sink.publish(results(), TODAY, 1.0, NOW)
    resource = server.series()[0].resource
    assert resource.type == "cloud_run_job"
    assert dict(resource.labels) == {
        "project_id": "nba-props-platform",
        "location": "us-west2",
        "job_name": "featmon-check",
    }


def test_a_featmon_run_writes_its_metrics(server: MetricServer, tmp_path: Any) -> None:
    """`featmon check` as a process, configured with alerts.cloud_monitoring, writes the
    run's series to the MetricService it is pointed at."""
    from tests.lab import Lab, featmon, utc, write_config

    lab = Lab(tmp_path / "wh.duckdb")
    lab.add_store("a", quality=87.59)
    lab.add_prediction("a", quality=65.46, made_at=utc("23:12:42"))
    lab.flush()
    data = lab.config_data()
    data["alerts"] = {
        "cloud_monitoring": {
            "project": "nba-props-platform",
            "endpoint": f"127.0.0.1:{server.port}",
        }
    }
    proc = featmon("check", "-c", str(write_config(tmp_path / "c.yaml", data)))
    assert proc.returncode == 0, proc.stderr
    assert "metrics not written" not in proc.stderr
    series = server.series()
    [status] = [
        s
        for s in by_metric(series, "check_status")
        if s.metric.labels["check"] == "quality_mismatch"
    ]
    assert status.points[0].value.int64_value == 1
    assert len(by_metric(series, "run_heartbeat")) == 1


def test_a_daemon_keeps_one_sink_so_the_sampling_guard_holds_across_cycles(
    server: MetricServer, tmp_path: Any
) -> None:
    """Two cycles of one process (two schedule groups finishing together) publish through
    the same sink: the second does not rewrite run_heartbeat within the sampling period,
    and the descriptors are created once."""
    from monitor.config import parse_config
    from monitor.pipeline.cycle import RunReport
    from monitor.pipeline.window import DateWindow
    from monitor.telemetry.publish import publish_metrics
    from tests.lab import default_config_data

    data = default_config_data()
    data["alerts"] = {
        "cloud_monitoring": {
            "project": "nba-props-platform",
            "endpoint": f"127.0.0.1:{server.port}",
        }
    }
    config = parse_config(data, base_dir=tmp_path)
    report = RunReport(window=DateWindow(TODAY, TODAY), results=results())
    assert publish_metrics(config, report, NOW) == []
    assert publish_metrics(config, report, NOW + dt.timedelta(seconds=2)) == []
    assert len(by_metric(server.series(), "run_heartbeat")) == 1
    assert len(server.descriptors) == len({d.type for d in server.descriptors})
