"""The Slack sink through the official slack-sdk clients against the local Slack stand-in."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from alerts.lifecycle import AlertState, Notification, RunScope, evaluate
from alerts.sinks.base import Envelope
from alerts.sinks.slack import SlackSettings, SlackSink
from checks.base import CheckResult
from tests.peers.slack import SlackStandIn

TOKEN = "xoxb-secret-test-token"
DAY = dt.date(2026, 2, 3)
T0 = dt.datetime(2026, 2, 3, 4, 0, tzinfo=dt.UTC)
# Seven examples, worst first: a message shows the first five (slack_message.MAX_EXAMPLES).
PLAYERS = [
    "laurimarkkanen",
    "petenance",
    "royceoneale",
    "jalenwilliams",
    "tyresemaxey",
    "sixthworstplayer",
    "seventhworstplayer",
]
EXAMPLES = [
    {
        "prediction_id": f"p{i}",
        "player_lookup": name,
        "made_at": T0,
        "written_at": T0 - dt.timedelta(minutes=42),
        "logged_quality": 65.46,
        "store_quality": 87.59,
    }
    for i, name in enumerate(PLAYERS)
]


def sink(slack: SlackStandIn, **kw: Any) -> SlackSink:
    return SlackSink(
        SlackSettings(
            token=TOKEN,
            base_url=slack.base_url,
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
    """The Slack sink's reference: the channel and message ts it delivered to."""
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
    scope = RunScope(
        checks=frozenset({"quality_mismatch"}),
        window=(DAY, DAY),
        configured_window=True,
        scheduled=True,
    )
    [note] = evaluate({}, [result], T0, scope=scope).notifications
    return note


def test_a_firing_alert_is_posted_with_blocks_fallback_and_routing(slack: SlackStandIn) -> None:
    delivery = sink(slack).deliver(env(firing()))
    assert delivery.ok and where(delivery.ref) == {"channel": "C1", "ts": slack.messages[0]["ts"]}
    [call] = slack.calls
    body = call["body"]
    assert call["method"] == "chat.postMessage" and call["auth"] == f"Bearer {TOKEN}"
    assert body["channel"] == "#nba-alerts"  # critical route
    assert body["text"].startswith("CRITICAL quality_mismatch 2026-02-03: 102 of 147")
    header = body["blocks"][0]["text"]["text"]
    assert "CRITICAL" in header and "quality_mismatch" in header and "2026-02-03" in header
    sections = [b["text"]["text"] for b in body["blocks"] if b["type"] == "section"]
    texts = "\n".join(sections)
    assert "*102 / 147 predictions (69.4%)*" in texts
    assert "laurimarkkanen" in texts and "65.46" in texts and "87.59" in texts
    [table] = [text for text in sections if text.startswith("```")]  # the examples
    columns, *rows = table.strip("`\n").splitlines()
    assert columns.split()[:3] == ["player_lookup", "made", "at"]
    assert [row.split()[0] for row in rows] == PLAYERS[:5]  # the five worst, in rank order
    assert all(row.split()[-2:] == ["65.46", "87.59"] for row in rows)
    assert not any(p in json.dumps(body) for p in PLAYERS[5:])  # the sixth and seventh: not shown
    assert "featmon sql quality_mismatch --date 2026-02-03" in texts
    # No coordinator configured: the step says how to get the exact request.
    assert "regenerate-with-supersede" in texts and "remediation.coordinator_url" in texts
    assert "https://runbooks.example/featmon" in texts
    assert body["metadata"]["event_payload"]["fingerprints"] == [firing().state.fingerprint]
    assert body["metadata"]["event_payload"]["notification_id"] == "n1"


def test_growth_updates_the_message_and_resolution_updates_then_replies(
    slack: SlackStandIn,
) -> None:
    s = sink(slack)
    first = s.deliver(env(firing(50)))
    first_ts = where(first.ref)["ts"]
    grown = Notification("update", firing(102).state, firing(102).alert)
    assert s.deliver(env(grown, first.ref)).ok
    update, reply = slack.calls[-2], slack.calls[-1]
    assert update["method"] == "chat.update" and update["body"]["ts"] == first_ts
    assert "*102 / 147 predictions (69.4%)*" in json.dumps(update["body"]["blocks"])
    assert reply["body"]["thread_ts"] == first_ts and not reply["body"].get("reply_broadcast")
    assert "grew: 102 / 147 predictions" in json.dumps(reply["body"]["blocks"])
    resolved = AlertState(
        **{
            **firing().state.__dict__,
            "status": "resolved",
            "resolved_reason": "the check passes",
            "notified_affected": 102,
        }
    )
    assert s.deliver(env(Notification("resolved", resolved), first.ref)).ok
    update, reply = slack.calls[-2], slack.calls[-1]
    assert reply["method"] == "chat.postMessage" and reply["body"]["thread_ts"] == first_ts
    assert "Resolved: the check passes (was 102 / 147" in json.dumps(reply["body"])
    assert update["method"] == "chat.update" and "RESOLVED" in update["body"]["text"]


def test_repeat_bumps_the_thread_visible_in_the_channel(slack: SlackStandIn) -> None:
    s = sink(slack)
    first = s.deliver(env(firing()))
    first_ts = where(first.ref)["ts"]
    note = firing()
    assert s.deliver(env(Notification("repeat", note.state, note.alert), first.ref)).ok
    assert [c["method"] for c in slack.calls] == [
        "chat.postMessage",
        "chat.update",
        "chat.postMessage",
    ]
    bump = slack.calls[-1]["body"]
    assert bump["thread_ts"] == first_ts and bump["reply_broadcast"] is True


def test_a_rate_limit_is_reported_with_its_retry_after_not_slept_on(
    slack: SlackStandIn,
) -> None:
    """429: one call, and Retry-After handed back (the run defers to its next run)."""
    slack.fail_next(
        "chat.postMessage",
        (429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "30"}),
    )
    delivery = sink(slack, max_retries=2).deliver(env(firing()))
    assert (delivery.ok, delivery.retryable, delivery.retry_after_s) == (False, True, 30.0)
    assert delivery.error == "Slack rate-limited (Retry-After 30s): deferred to the next run"
    assert [(c["method"], c["status"]) for c in slack.calls] == [("chat.postMessage", 429)]
    assert sink(slack).deliver(env(firing())).ok  # the next run's call goes through


def test_server_errors_are_reported_as_retryable_without_retrying_in_the_run(
    slack: SlackStandIn,
) -> None:
    slack.down = True  # every call answered 503
    delivery = sink(slack, max_retries=2).deliver(env(firing()))
    assert not delivery.ok and delivery.retryable
    assert delivery.error == "Slack answered 503 (will retry next run)"
    assert slack.refused == ["chat.postMessage"]


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ("invalid_auth", "the Slack token is invalid (check SLACK_BOT_TOKEN)"),
        ("channel_not_found", "channel #nba-alerts does not exist or the bot cannot see it"),
    ],
)
def test_errors_a_human_must_fix_are_clear_not_retried_and_never_show_the_token(
    slack: SlackStandIn, error: str, expected: str
) -> None:
    slack.fail_next("chat.postMessage", (200, {"ok": False, "error": error}, {}))
    delivery = sink(slack).deliver(env(firing()))
    assert (delivery.ok, delivery.retryable) == (False, False)
    assert delivery.error == f"Slack {error}: {expected}"
    assert TOKEN not in delivery.error
    assert [(c["method"], c["status"]) for c in slack.calls] == [("chat.postMessage", 200)]


def test_webhook_posts_and_reports_failures(slack: SlackStandIn) -> None:
    good = SlackSink(SlackSettings(webhook_url=slack.webhook_url()))
    assert good.deliver(env(firing())).ok
    posted = slack.hooked
    assert posted[0]["text"].startswith("CRITICAL quality_mismatch") and posted[0]["blocks"]
    note = firing()
    earlier = json.dumps({"channel": "#nba-alerts", "ts": "1.2"})
    skipped = good.deliver(env(Notification("update", note.state, note.alert), earlier))
    assert skipped.ok and len(posted) == 1  # a webhook cannot edit a message
    gone = SlackSink(SlackSettings(webhook_url=slack.webhook_url(revoked=True)))
    failed = gone.deliver(env(firing()))
    assert (failed.ok, failed.retryable) == (False, False)
    assert "404" in failed.error and "SLACK_WEBHOOK_URL" in failed.error
    assert len(posted) == 1 and slack.calls == []


def alert_note(
    check: str = "quality_mismatch",
    severity: str = "critical",
    affected: int = 102,
    *,
    status: str = "alert",
    message: str | None = None,
    feature: str | None = None,
    examples: list[dict[str, Any]] = EXAMPLES,
    details: dict[str, Any] | None = None,
) -> Notification:
    """A new alert of the 2026-02-03 group, as the lifecycle announces it."""
    result = CheckResult(
        check=check,
        game_date=DAY if status == "alert" else None,
        status=status,  # type: ignore[arg-type]
        severity=severity,  # type: ignore[arg-type]
        feature=feature,
        total=147,
        affected=affected,
        message=message or f"{affected} of 147 logged 65.46",
        examples=examples,
        details=details or {},
    )
    scope = RunScope(
        checks=frozenset({check}), window=(DAY, DAY), configured_window=True, scheduled=True
    )
    [note] = evaluate({}, [result], T0, scope=scope).notifications
    return note


def group_env(
    changes: list[Notification], members: list[Notification], ref: str | None = None
) -> Envelope:
    return Envelope(
        "n1",
        "g",
        tuple(changes),
        T0,
        ref=ref,
        members=tuple(members),
        group_labels={"game_date": DAY.isoformat()},
    )


def test_values_from_the_data_are_escaped_in_mrkdwn(slack: SlackStandIn) -> None:
    """A logged `<!channel>` or `<@U123>` must not ping anyone, `&` must read as `&`."""
    hostile = [{**EXAMPLES[0], "player_lookup": "<!channel>&<@U123>"}]
    note = alert_note(message="R&D <!channel> <@U123> <https://evil|click>", examples=hostile)
    sink(slack).deliver(env(note))
    body = slack.calls[-1]["body"]
    sent = json.dumps([body["text"], body["blocks"]])
    for raw in ("<!channel>", "<@U123>", "<https://evil", "R&D"):
        assert raw not in sent
    assert "R&amp;D &lt;!channel&gt; &lt;@U123&gt; &lt;https://evil|click&gt;" in sent
    assert "&lt;!channel&gt;&amp;&lt;@U123" in sent  # the example row too
    assert "<https://runbooks.example/featmon|what to do>" in sent  # our own link stays one


def test_the_message_names_the_models_hit_worst_first_escaped(slack: SlackStandIn) -> None:
    """`details.by_dimension` (from `predictions.dimensions`): the models with affected
    predictions, in the order given (worst first), six at most, untouched ones left out;
    a model name from the data cannot ping anyone."""
    models = [("catboost_v9", 40, 49), ("<!channel>", 30, 49), ("ensemble_v2", 12, 49)]
    models += [(f"m{i}", 1, 10) for i in range(5)] + [("ridge_v4", 0, 49)]
    by_dimension = [
        {"system_id": name, "affected": n, "total": t, "graded": 20, "hit_rate": 41.9}
        for name, n, t in models
    ]
    details = {"dimensions": ["system_id"], "by_dimension": by_dimension}
    sink(slack).deliver(env(alert_note(details=details)))
    sent = json.dumps(slack.calls[-1]["body"]["blocks"])
    assert (
        "*By system_id:* catboost_v9 40/49 (hit 41.9% of 20), &lt;!channel&gt; 30/49 "
        "(hit 41.9% of 20), ensemble_v2 12/49 (hit 41.9% of 20), m0 1/10 (hit 41.9% of 20), "
        "m1 1/10 (hit 41.9% of 20), m2 1/10 (hit 41.9% of 20), ... 2 more"
    ) in sent
    assert "<!channel>" not in sent and "ridge_v4" not in sent


def test_every_text_block_keeps_to_slacks_limits(slack: SlackStandIn) -> None:
    long_runbook = "https://runbooks.example/" + "x" * 4000
    s = SlackSink(SlackSettings(token=TOKEN, base_url=slack.base_url, runbook_url=long_runbook))
    s.deliver(env(alert_note(message="y" * 5000)))
    blocks = slack.calls[-1]["body"]["blocks"]
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert all(len(t) <= 3000 for t in sections)
    assert sum(t.endswith("…") for t in sections) == 2  # the numbers and the next steps
    assert all(len(b["text"]["text"]) <= 150 for b in blocks if b["type"] == "header")


def test_a_big_group_keeps_to_50_blocks_and_summarises_the_rest(slack: SlackStandIn) -> None:
    features = [f"f{i:02d}" for i in range(30)]
    members = [
        alert_note("feature_mismatch", "warning", 100 - i, feature=f)
        for i, f in enumerate(features)
    ]
    members.append(alert_note("quality_mismatch", "critical", 5))
    sink(slack).deliver(group_env(members, members))
    body = slack.calls[-1]["body"]
    blocks = body["blocks"]
    assert len(blocks) <= 50
    assert blocks[0]["text"]["text"] == ":rotating_light: CRITICAL 2026-02-03 · 31 firing"
    shown = "\n".join(b["text"]["text"] for b in blocks if b["type"] == "section")
    assert shown.index("CRITICAL quality_mismatch") < shown.index("feature_mismatch [f00]")
    more = blocks[-1]["text"]["text"]
    n = int(more.split()[1])  # "…and N more:"
    assert more.startswith(f"…and {n} more:") and more.count("\n• ") == n
    assert "feature_mismatch [f29]" in more and "feature_mismatch [f29]" in shown
    assert n + sum("*WARNING feature_mismatch" in t for t in shown.split("\n")) == 30


def test_a_group_goes_to_its_worst_channel_and_an_escalation_is_shown_in_it(
    slack: SlackStandIn,
) -> None:
    s = sink(slack)
    warning = alert_note("low_quality", "warning", 10)
    first = s.deliver(group_env([warning], [warning]))
    assert slack.calls[-1]["body"]["channel"] == "#nba-warn"
    critical = alert_note("quality_mismatch", "critical", 102)
    assert s.deliver(group_env([critical], [warning, critical], first.ref)).ok
    update, reply = slack.calls[-2]["body"], slack.calls[-1]["body"]
    assert update["channel"] == reply["channel"] == "C1"  # stays where it was posted
    assert update["blocks"][0]["text"]["text"] == ":rotating_light: CRITICAL 2026-02-03 · 2 firing"
    assert reply["reply_broadcast"] is True  # the escalation shows in the channel
    more = alert_note("feature_mismatch", "warning", 3, feature="f")
    s.deliver(group_env([more], [warning, critical, more], first.ref))
    assert not slack.calls[-1]["body"].get("reply_broadcast")  # a lesser join: thread only


def test_a_resolved_cannot_run_alert_still_says_cannot_run(slack: SlackStandIn) -> None:
    error = alert_note(status="error", message="featmon cannot run check quality_mismatch: boom")
    s = sink(slack)
    first = s.deliver(env(error))
    resolved = Notification(
        "resolved",
        AlertState(
            **{
                **error.state.__dict__,
                "status": "resolved",
                "resolved_reason": "the check runs again",
            }
        ),
    )
    s.deliver(env(resolved, first.ref))
    update, reply = slack.calls[-2]["body"], slack.calls[-1]["body"]
    header = update["blocks"][0]["text"]["text"]
    assert header == ":white_check_mark: RESOLVED: featmon cannot run quality_mismatch"
    sent = json.dumps([update, reply])
    assert "Resolved: the check runs again." in sent and "0 / 0" not in sent
