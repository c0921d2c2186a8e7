"""Bounded delivery: a sink that hangs, rate-limits, fails or refuses costs a run one call
and at most the delivery deadline; what it did not take stays pending and reaches it once
when it is back. Real `featmon check` processes against the Slack stand-in (or a peer that
never answers), five alerts per run."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from alerts.dispatch import DeliveryBudget, dispatch
from alerts.lifecycle import evaluate
from alerts.sinks.slack import SlackSettings, SlackSink
from monitor.config import load_config
from monitor.persistence.alert_state import StateStore
from monitor.pipeline.cycle import run_cycle
from monitor.pipeline.window import DateWindow
from monitor.warehouse.duckdb import DuckDBWarehouse
from tests.alerts.scenario import check
from tests.faults.incident import (
    ALERTS,
    T0,
    posted_fingerprints,
    repoint,
    several_alerts,
    slack_at,
)
from tests.lab import DAY, Lab
from tests.peers import free_port
from tests.peers.blackhole import BlackHole
from tests.peers.slack import SlackStandIn

LATER = T0 + dt.timedelta(minutes=5)


@pytest.fixture
def hole() -> Iterator[BlackHole]:
    peer = BlackHole()
    yield peer
    peer.close()


def test_a_hung_slack_costs_one_timeout_then_everything_arrives_once(
    lab: Lab, slack: SlackStandIn, hole: BlackHole, tmp_path: Path
) -> None:
    config = several_alerts(lab, tmp_path, slack_at(hole.url + "api/"))
    started = time.monotonic()
    hung = check(config, T0)
    took = time.monotonic() - started
    assert hung.returncode == 0, hung.stderr
    assert took < 20, took  # the old loop waited ~30 s per alert, one after another
    assert hole.connections == 1  # the breaker: no second call after the first timeout
    assert f"notifications: sent=0 pending={ALERTS}" in hung.stdout
    assert "slack: Slack did not answer within 1s" in hung.stderr
    assert f"slack: not called again this run after that failure ({ALERTS - 1} more" in (
        hung.stderr
    )

    back = check(repoint(config, slack.base_url), LATER)
    assert f"notifications: sent={ALERTS} pending=0" in back.stdout, back.stderr
    again = check(config, LATER + dt.timedelta(minutes=5))
    assert "notifications: sent=0 pending=0" in again.stdout
    # The hung call may have reached Slack's side in real life; here it did not, and every
    # alert was announced exactly once.
    assert len(set(posted_fingerprints(slack))) == ALERTS
    assert slack.methods() == ["chat.postMessage"] * ALERTS


def test_a_429_storm_is_one_call_per_run_and_retry_after_defers_to_the_next_run(
    lab: Lab, slack: SlackStandIn, tmp_path: Path
) -> None:
    config = several_alerts(lab, tmp_path, slack_at(slack.base_url))
    limited = (429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "30"})
    # Rate-limited for as long as featmon keeps calling: two runs here (a third call in a
    # run would take the second answer and then get through, which the calls would show).
    slack.fail_next("chat.postMessage", limited, limited)
    runs = [check(config, T0 + dt.timedelta(minutes=m)) for m in (0, 5)]
    for run in runs:
        assert run.returncode == 0, run.stderr
        assert f"notifications: sent=0 pending={ALERTS}" in run.stdout
    assert "Slack rate-limited (Retry-After 30s): deferred to the next run" in runs[0].stderr
    # One call per run, not three per alert per run.
    assert [(c["method"], c["status"]) for c in slack.calls] == [("chat.postMessage", 429)] * 2

    # The storm is over.
    over = check(config, T0 + dt.timedelta(minutes=10))
    assert f"notifications: sent={ALERTS} pending=0" in over.stdout, over.stderr
    assert len(set(posted_fingerprints(slack))) == ALERTS == len(posted_fingerprints(slack))


def test_a_5xx_stops_calls_for_the_run_and_the_next_run_delivers_once(
    lab: Lab, slack: SlackStandIn, tmp_path: Path
) -> None:
    config = several_alerts(lab, tmp_path, slack_at(slack.base_url))
    slack.down = True
    down = check(config, T0)
    assert down.returncode == 0, down.stderr
    assert slack.refused == ["chat.postMessage"]  # one call, then the breaker
    assert "slack: Slack answered 503 (will retry next run)" in down.stderr
    slack.down = False
    up = check(config, LATER)
    assert f"notifications: sent={ALERTS} pending=0" in up.stdout, up.stderr
    assert len(set(posted_fingerprints(slack))) == ALERTS == len(posted_fingerprints(slack))


def test_a_refused_connection_is_one_attempt_and_kept_pending(
    lab: Lab, slack: SlackStandIn, tmp_path: Path
) -> None:
    config = several_alerts(lab, tmp_path, slack_at(f"http://127.0.0.1:{free_port()}/api/"))
    started = time.monotonic()
    refused = check(config, T0)
    assert time.monotonic() - started < 20
    assert refused.returncode == 0, refused.stderr
    assert f"notifications: sent=0 pending={ALERTS}" in refused.stdout
    assert "slack: Slack unreachable: " in refused.stderr
    assert f"({ALERTS - 1} more left pending)" in refused.stderr
    back = check(repoint(config, slack.base_url), LATER)
    assert f"notifications: sent={ALERTS} pending=0" in back.stdout, back.stderr
    assert len(set(posted_fingerprints(slack))) == ALERTS == len(posted_fingerprints(slack))


def test_the_delivery_deadline_leaves_the_rest_pending(
    lab: Lab, slack: SlackStandIn, tmp_path: Path
) -> None:
    """The deadline, on a clock the test turns: each read of it is 2 s later, so a 5 s
    budget lets two deliveries through and leaves three for the next run."""
    config, _ = load_config(str(several_alerts(lab, tmp_path, slack_at(slack.base_url))))
    window = DateWindow(DAY, DAY + dt.timedelta(days=ALERTS - 1))
    report = run_cycle(config, window)
    scope = report.scope(configured_window=True, scheduled=True)
    transition = evaluate({}, report.results, T0, scope=scope)
    ticks = iter(range(0, 1000, 2))
    sink = SlackSink(SlackSettings(token="xoxb-t", base_url=slack.base_url, max_retries=0))
    with DuckDBWarehouse(lab.path, read_only=False) as wh:
        store = StateStore(wh, "featmon_state")
        store.ensure()
        budget = DeliveryBudget(deadline_s=5, clock=lambda: float(next(ticks)))
        first = dispatch(store, [sink], transition.notifications, T0, budget=budget)
        assert (first.sent, first.pending) == (2, ALERTS - 2)
        assert budget.problems() == [
            f"delivery deadline (5s) reached: {ALERTS - 2} notification(s) left pending "
            "for the next run"
        ]
        second = dispatch(store, [sink], [], LATER, budget=DeliveryBudget(deadline_s=60))
        assert (second.sent, second.pending) == (ALERTS - 2, 0)
    assert len(set(posted_fingerprints(slack))) == ALERTS == len(posted_fingerprints(slack))


def test_a_hung_cloud_monitoring_costs_one_call_timeout(hole: BlackHole) -> None:
    """The gRPC MetricService accepts the connection and never answers: the write is cut
    off at the configured timeout and reported, and metrics never hold up the run."""
    import grpc
    from google.cloud import monitoring_v3
    from google.cloud.monitoring_v3.services.metric_service.transports import (
        MetricServiceGrpcTransport,
    )

    from checks.base import CheckResult
    from monitor.telemetry.cloud_monitoring import CloudMonitoringSink, MonitoringSettings

    channel = grpc.insecure_channel(f"127.0.0.1:{hole.port}")
    client = monitoring_v3.MetricServiceClient(
        transport=MetricServiceGrpcTransport(channel=channel)
    )
    sink = CloudMonitoringSink(MonitoringSettings("p-1", timeout_s=1.0), client)
    result = CheckResult(
        check="quality_mismatch", game_date=DAY, status="alert", severity="critical"
    )
    started = time.monotonic()
    report = sink.publish([result], DAY, 0.1, T0)
    assert time.monotonic() - started < 10
    assert report.written == 0
    assert len(report.errors) == 1 and "cannot create metric descriptors" in report.errors[0]
    assert "Deadline" in report.errors[0] or "deadline" in report.errors[0]
