"""The Slack sink through the official slack-sdk clients against a local HTTP server."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from alerts.lifecycle import AlertState, Notification, evaluate
from alerts.sinks.base import Envelope
from alerts.sinks.slack import SlackSettings, SlackSink
from checks.base import CheckResult

TOKEN = "xoxb-secret-test-token"
DAY = dt.date(2026, 2, 3)
T0 = dt.datetime(2026, 2, 3, 4, 0, tzinfo=dt.UTC)
EXAMPLES = [
    {
        "prediction_id": f"p{i}",
        "player_lookup": name,
        "made_at": T0,
        "written_at": T0 - dt.timedelta(minutes=42),
        "logged_quality": 65.46,
        "store_quality": 87.59,
    }
    for i, name in enumerate(["laurimarkkanen", "petenance", "royceoneale", "a", "b", "c"])
]


@pytest.fixture
def slack(httpserver: HTTPServer) -> Iterator[list[dict[str, Any]]]:
    """A Slack Web API stand-in: records every call, answers like Slack."""
    calls: list[dict[str, Any]] = []
    counter = iter(range(1, 1000))

    def handler(request: Request) -> Response:
        body = request.get_json(silent=True) or dict(request.form)
        calls.append(
            {
                "method": request.path.rsplit("/", 1)[-1],
                "body": body,
                "auth": request.headers.get("Authorization"),
            }
        )
        ts = body.get("ts") or f"1770000000.{next(counter):06d}"
        return Response(
            json.dumps({"ok": True, "channel": "C123", "ts": ts}), content_type="application/json"
        )

    httpserver.expect_request("/api/chat.postMessage").respond_with_handler(handler)
    httpserver.expect_request("/api/chat.update").respond_with_handler(handler)
    yield calls


def sink(server: HTTPServer, **kw: Any) -> SlackSink:
    return SlackSink(
        SlackSettings(
            token=TOKEN,
            base_url=server.url_for("/api/"),
            channels={"critical": "#nba-alerts", "warning": "#nba-warn"},
            runbook_url="https://runbooks.example/featmon",
            **kw,
        )
    )


def env(note: Notification, ref: str | None = None) -> Envelope:
    """The notification as the notification log hands it to a sink (`ref`: where the sink
    delivered the alert's message before)."""
    return Envelope("n1", note.state.fingerprint, (note,), T0, ref=ref)


def where(ref: str | None) -> dict[str, str]:
    return dict(json.loads(ref or "{}"))


def firing(affected: int = 102, examples: list[dict[str, Any]] = EXAMPLES) -> Notification:
    result = CheckResult(
        check="quality_mismatch",
        game_date=DAY,
        status="alert",
        severity="critical",
        total=147,
        affected=affected,
        message=f"{affected} of 147 logged 65.46",
        examples=examples,
    )
    [note] = evaluate({}, [result], T0, window=(DAY, DAY)).notifications
    return note


def test_a_firing_alert_is_posted_with_blocks_fallback_and_routing(
    httpserver: HTTPServer, slack: list[dict[str, Any]]
) -> None:
    delivery = sink(httpserver).deliver(env(firing()))
    assert delivery.ok and where(delivery.ref) == {"channel": "C123", "ts": "1770000000.000001"}
    [call] = slack
    body = call["body"]
    assert call["method"] == "chat.postMessage" and call["auth"] == f"Bearer {TOKEN}"
    assert body["channel"] == "#nba-alerts"  # critical route
    assert body["text"].startswith("CRITICAL quality_mismatch 2026-02-03: 102 of 147")
    header = body["blocks"][0]["text"]["text"]
    assert "CRITICAL" in header and "quality_mismatch" in header and "2026-02-03" in header
    texts = "\n".join(b["text"]["text"] for b in body["blocks"] if b["type"] == "section")
    assert "*102 / 147 predictions (69.4%)*" in texts
    assert "laurimarkkanen" in texts and "65.46" in texts and "87.59" in texts
    assert "royceoneale" in texts and " c " not in texts  # at most five example rows
    assert "featmon sql quality_mismatch --date 2026-02-03" in texts
    assert "regenerate-with-supersede" in texts and '"game_date": "2026-02-03"' in texts
    assert "https://runbooks.example/featmon" in texts
    assert body["metadata"]["event_payload"]["fingerprint"] == firing().state.fingerprint


def test_growth_updates_the_message_and_resolution_replies_then_updates(
    httpserver: HTTPServer, slack: list[dict[str, Any]]
) -> None:
    s = sink(httpserver)
    first = s.deliver(env(firing(50)))
    grown = Notification("update", firing(102).state, firing(102).alert)
    assert s.deliver(env(grown, first.ref)).ok
    assert (
        slack[-1]["method"] == "chat.update" and slack[-1]["body"]["ts"] == where(first.ref)["ts"]
    )
    resolved = AlertState(
        **{
            **firing().state.__dict__,
            "status": "resolved",
            "resolved_reason": "the check passes",
            "notified_affected": 102,
        }
    )
    assert s.deliver(env(Notification("resolved", resolved), first.ref)).ok
    reply, update = slack[-2], slack[-1]
    assert (
        reply["method"] == "chat.postMessage"
        and reply["body"]["thread_ts"] == where(first.ref)["ts"]
    )
    assert "Resolved: the check passes (was 102 / 147" in json.dumps(reply["body"])
    assert update["method"] == "chat.update" and "RESOLVED" in update["body"]["text"]


def test_repeat_bumps_the_thread_visible_in_the_channel(
    httpserver: HTTPServer, slack: list[dict[str, Any]]
) -> None:
    s = sink(httpserver)
    first = s.deliver(env(firing()))
    note = firing()
    assert s.deliver(env(Notification("repeat", note.state, note.alert), first.ref)).ok
    assert [c["method"] for c in slack] == ["chat.postMessage", "chat.update", "chat.postMessage"]
    assert (
        slack[-1]["body"]["thread_ts"] == where(first.ref)["ts"]
        and slack[-1]["body"]["reply_broadcast"] is True
    )


def _answers(
    server: HTTPServer, method: str, answers: list[tuple[int, dict[str, Any], dict[str, str]]]
) -> list[int]:
    seen: list[int] = []

    def handler(request: Request) -> Response:
        status, body, headers = answers[min(len(seen), len(answers) - 1)]
        seen.append(status)
        return Response(
            json.dumps(body), status=status, headers=headers, content_type="application/json"
        )

    server.expect_request(f"/api/{method}").respond_with_handler(handler)
    return seen


def test_rate_limit_waits_for_retry_after_then_succeeds(httpserver: HTTPServer) -> None:
    seen = _answers(
        httpserver,
        "chat.postMessage",
        [
            (429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "0"}),
            (200, {"ok": True, "channel": "C1", "ts": "1.2"}, {}),
        ],
    )
    assert sink(httpserver).deliver(env(firing())).ok
    assert seen == [429, 200]


def test_server_errors_are_retried_then_reported_as_retryable(httpserver: HTTPServer) -> None:
    seen = _answers(httpserver, "chat.postMessage", [(503, {"ok": False}, {})])
    delivery = sink(httpserver, max_retries=2).deliver(env(firing()))
    assert not delivery.ok and delivery.retryable
    assert seen == [503, 503, 503]


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ("invalid_auth", "the Slack token is invalid (check SLACK_BOT_TOKEN)"),
        ("channel_not_found", "channel #nba-alerts does not exist or the bot cannot see it"),
    ],
)
def test_errors_a_human_must_fix_are_clear_not_retried_and_never_show_the_token(
    httpserver: HTTPServer, error: str, expected: str
) -> None:
    seen = _answers(httpserver, "chat.postMessage", [(200, {"ok": False, "error": error}, {})])
    delivery = sink(httpserver).deliver(env(firing()))
    assert (delivery.ok, delivery.retryable) == (False, False)
    assert delivery.error == f"Slack {error}: {expected}"
    assert TOKEN not in delivery.error and seen == [200]


def test_webhook_posts_and_reports_failures(httpserver: HTTPServer) -> None:
    posted: list[dict[str, Any]] = []

    def ok(request: Request) -> Response:
        posted.append(request.get_json())
        return Response("ok", status=200)

    httpserver.expect_request("/hooks/T1/B1/ok").respond_with_handler(ok)
    httpserver.expect_request("/hooks/T1/B1/gone").respond_with_data("no_service", status=404)
    good = SlackSink(SlackSettings(webhook_url=httpserver.url_for("/hooks/T1/B1/ok")))
    assert good.deliver(env(firing())).ok
    assert posted[0]["text"].startswith("CRITICAL quality_mismatch") and posted[0]["blocks"]
    note = firing()
    earlier = json.dumps({"channel": "#nba-alerts", "ts": "1.2"})
    skipped = good.deliver(env(Notification("update", note.state, note.alert), earlier))
    assert skipped.ok and len(posted) == 1  # a webhook cannot edit a message
    gone = SlackSink(SlackSettings(webhook_url=httpserver.url_for("/hooks/T1/B1/gone")))
    failed = gone.deliver(env(firing()))
    assert (failed.ok, failed.retryable) == (False, False)
    assert "404" in failed.error and "SLACK_WEBHOOK_URL" in failed.error
