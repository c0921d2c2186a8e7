"""The Alertmanager-compatible webhook sink against a real local HTTP receiver: the payload
Alertmanager receivers expect, and the delivery guarantees across separate `featmon check`
processes over one state (fire once, no repost, repeat, resolve, down then up: once)."""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from alerts.lifecycle import AlertState, Notification
from alerts.model import Alert
from alerts.sinks.base import Envelope
from alerts.sinks.webhook import ZERO_TIME, WebhookSink, group_key, payload
from tests.alerts.scenario import fix_predictions, incident_config
from tests.lab import Lab, featmon, write_config
from tests.peers.webhook import Receiver

T0 = dt.datetime(2026, 2, 3, 5, 0, tzinfo=dt.UTC)
TOKEN = "hook-secret-7f3a"


def _config(lab: Lab, tmp_path: Path, url: str) -> Path:
    webhook = {
        "url": url,
        "headers": {"Authorization": "Bearer ${TEST_WEBHOOK_TOKEN}"},
        "timeout": "1s",
        "external_url": "https://featmon.example",
    }
    return incident_config(lab, tmp_path, {"webhook": webhook})


def _check(config: Path, at: dt.datetime) -> Any:
    env = {**os.environ, "FEATMON_NOW": at.isoformat(), "TEST_WEBHOOK_TOKEN": TOKEN}
    proc = featmon("check", "-c", str(config), env=env)
    assert TOKEN not in proc.stdout + proc.stderr  # a header secret is never printed
    return proc


def test_fires_once_repeats_resolves_across_processes(
    lab: Lab, receiver: Receiver, tmp_path: Path
) -> None:
    config = _config(lab, tmp_path, receiver.url)
    first = _check(config, T0)
    assert first.returncode == 0, first.stderr
    assert "notifications: sent=1 pending=0" in first.stdout
    [fired] = receiver.posts
    assert receiver.headers[0]["Authorization"] == f"Bearer {TOKEN}"
    assert fired["version"] == "4" and fired["status"] == "firing"
    assert fired["receiver"] == "featmon" and fired["externalURL"] == "https://featmon.example"
    [alert] = fired["alerts"]
    assert alert["labels"] == {
        "alertname": "quality_mismatch",
        "check": "quality_mismatch",
        "game_date": "2026-02-03",
        "severity": "critical",
        "kind": "firing",
    }
    assert alert["status"] == "firing" and alert["endsAt"] == ZERO_TIME
    assert alert["startsAt"] == "2026-02-03T05:00:00Z"
    assert alert["annotations"]["summary"].startswith("3 of 3 predictions (100.0%)")
    assert alert["annotations"]["runbook_url"] == "https://runbooks.example/featmon"
    assert fired["groupKey"] == group_key({"game_date": "2026-02-03"})  # group_by's default
    assert fired["groupLabels"] == {"game_date": "2026-02-03"}
    assert fired["commonLabels"] == alert["labels"]

    _check(config, T0 + dt.timedelta(minutes=5))
    assert len(receiver.posts) == 1  # the same alert is not posted again

    _check(config, T0 + dt.timedelta(hours=4))
    assert len(receiver.posts) == 2  # repeat_interval: the group is sent again
    assert receiver.posts[1]["groupKey"] == fired["groupKey"]
    assert receiver.posts[1]["status"] == "firing"

    fix_predictions(lab)
    _check(config, T0 + dt.timedelta(hours=5))
    assert len(receiver.posts) == 3
    resolved = receiver.posts[2]
    assert resolved["status"] == "resolved" and resolved["groupKey"] == fired["groupKey"]
    [gone] = resolved["alerts"]
    assert gone["status"] == "resolved" and gone["fingerprint"] == alert["fingerprint"]
    assert gone["endsAt"] == "2026-02-03T10:00:00Z"
    assert gone["annotations"]["resolution"] == "the check passes"

    _check(config, T0 + dt.timedelta(hours=6))
    assert len(receiver.posts) == 3  # resolved once


def test_receiver_down_then_up_delivers_exactly_once(
    lab: Lab, receiver: Receiver, tmp_path: Path
) -> None:
    config = _config(lab, tmp_path, receiver.url)
    receiver.status = 503
    stderrs = []
    for minutes in (0, 5):
        proc = _check(config, T0 + dt.timedelta(minutes=minutes))
        assert proc.returncode == 0 and "notifications: sent=0 pending=1" in proc.stdout
        stderrs.append(proc.stderr)
    assert "webhook: webhook answered 503 (will retry)" in stderrs[0]
    assert "not delivered" not in stderrs[1]  # the same problem is reported once
    assert receiver.posts == []
    receiver.status = 200
    proc = _check(config, T0 + dt.timedelta(minutes=10))
    assert "notifications: sent=1 pending=0" in proc.stdout
    _check(config, T0 + dt.timedelta(minutes=15))
    assert [p["status"] for p in receiver.posts] == ["firing"]


def test_a_hung_receiver_is_cut_off_by_the_timeout_and_kept_pending(
    lab: Lab, receiver: Receiver, tmp_path: Path
) -> None:
    config = _config(lab, tmp_path, receiver.url)
    receiver.delay_s = 3.0  # the config's timeout is 1s
    started = time.monotonic()
    proc = _check(config, T0)
    assert time.monotonic() - started < 30
    assert "notifications: sent=0 pending=1" in proc.stdout
    assert "webhook did not answer within 1s" in proc.stderr


def test_a_rejected_request_names_the_config_not_the_secret(receiver: Receiver) -> None:
    receiver.status = 404
    url = receiver.url + "?token=" + TOKEN
    sink = WebhookSink(url, headers={"Authorization": TOKEN}, timeout_s=5)
    delivery = sink.deliver(_envelope())
    assert not delivery.ok and not delivery.retryable
    assert delivery.error == "webhook answered 404: check alerts.webhook.url and headers"
    assert TOKEN not in delivery.error


def test_a_redirect_is_not_followed_as_a_bodyless_get(
    receiver: Receiver, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/moved").respond_with_data(
        "", status=302, headers={"Location": receiver.url}
    )
    delivery = WebhookSink(httpserver.url_for("/moved"), timeout_s=5).deliver(_envelope())
    assert not delivery.ok and not delivery.retryable
    assert delivery.error == "webhook answered 302: check alerts.webhook.url and headers"
    assert receiver.posts == []


def test_an_unreachable_receiver_is_retryable() -> None:
    sink = WebhookSink("http://127.0.0.1:9/hook", timeout_s=2)
    delivery = sink.deliver(_envelope())
    assert not delivery.ok and delivery.retryable
    assert delivery.error.startswith("webhook unreachable: ")


def _envelope(kind: str = "firing") -> Envelope:
    alert = Alert(
        kind="firing",
        check="stale_predictions",
        game_date=dt.date(2026, 2, 3),
        feature=None,
        severity="critical",
        summary="97 of 97 predictions were made before their features were last written",
        meaning="Built from values the store no longer holds.",
        total=97,
        affected=97,
        affected_ratio=1.0,
        details={"attribution_summary": "97 predictions made 19:40 used the version ..."},
    )
    state = AlertState(
        fingerprint=alert.fingerprint,
        labels=alert.labels,
        status="resolved" if kind == "resolved" else "firing",
        started_at=T0,
        last_seen_at=T0,
        summary=alert.summary,
        affected=97,
        total=97,
        resolved_at=T0 + dt.timedelta(hours=2) if kind == "resolved" else None,
        resolved_reason="the check passes" if kind == "resolved" else "",
        notified_affected=97,
    )
    note = Notification(kind, state, None if kind == "resolved" else alert)  # type: ignore[arg-type]
    return Envelope(id="n1", group_key=state.fingerprint, notifications=(note,), created_at=T0)


def test_payload_is_alertmanager_webhook_version_4() -> None:
    body = payload(
        _envelope(), receiver="oncall", external_url="", runbook_url="https://rb.example"
    )
    assert set(body) == {
        "version",
        "groupKey",
        "truncatedAlerts",
        "status",
        "receiver",
        "groupLabels",
        "commonLabels",
        "commonAnnotations",
        "externalURL",
        "alerts",
    }
    [alert] = body["alerts"]
    assert set(alert) == {
        "status",
        "labels",
        "annotations",
        "startsAt",
        "endsAt",
        "generatorURL",
        "fingerprint",
    }
    assert "feature" not in alert["labels"]  # empty labels are dropped, as Alertmanager does
    assert alert["annotations"]["version_used"].startswith("97 predictions made 19:40")
    assert body["commonAnnotations"] == alert["annotations"]
    assert body["groupKey"] == (
        '{}:{alertname="stale_predictions",check="stale_predictions",game_date="2026-02-03",'
        'kind="firing",severity="critical"}'
    )
    resolved = payload(_envelope("resolved"), receiver="r", external_url="", runbook_url=None)
    assert resolved["status"] == "resolved"
    assert resolved["alerts"][0]["endsAt"] == "2026-02-03T07:00:00Z"
    assert resolved["groupKey"] == body["groupKey"]  # the same group fires and resolves


@pytest.mark.parametrize(
    ("webhook", "problem"),
    [
        ({"url": "ftp://hooks.example/x"}, "alerts.webhook.url: `url` must be an http"),
        ({"url": "https://h.example", "timeout": "soon"}, "alerts.webhook.timeout:"),
        ({"url": "https://h.example", "headers": {"X": 1}}, "alerts.webhook.headers.X:"),
    ],
)
def test_bad_webhook_config_is_exit_2_naming_the_field(
    lab: Lab, tmp_path: Path, webhook: dict[str, Any], problem: str
) -> None:
    data = lab.config_data()
    data["alerts"] = {"webhook": webhook}
    config = write_config(tmp_path / "bad.yaml", data)
    proc = featmon("validate", "-c", str(config))
    assert proc.returncode == 2
    assert problem in proc.stderr, proc.stderr
