"""Alert grouping across separate `featmon check` processes over one state: one Slack
message per group (the game date by default), edited in place with a thread reply as alerts
join, grow and resolve, one repeat per group per `repeat_interval`; "cannot run" errors
grouped by their cause; the webhook gets the same groups."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import yaml

from tests.alerts.scenario import ENV, check, fix_predictions, incident_config, setup
from tests.lab import Lab, featmon, utc, write_config
from tests.peers.slack import SlackStandIn
from tests.peers.webhook import Receiver

T0 = dt.datetime(2026, 2, 3, 5, 0, tzinfo=dt.UTC)
LOW_QUALITY = {"severity": "warning", "threshold": 90, "max_ratio": 0.0}


def with_checks(config: Path, **checks: dict[str, Any] | None) -> None:
    """Enable (or, with None, disable) checks in the config file."""
    data = yaml.safe_load(config.read_text())
    for name, settings in checks.items():
        if settings is None:
            data["checks"].pop(name, None)
        else:
            data["checks"][name] = settings
    write_config(config, data)


def texts(blocks: list[dict[str, Any]]) -> str:
    return "\n".join(
        b["text"]["text"] if "text" in b else json.dumps(b.get("elements", "")) for b in blocks
    )


def since(slack: SlackStandIn, n: int) -> list[dict[str, Any]]:
    """The chat.* calls after the first `n` (as method, body)."""
    return [c for c in slack.calls if not c["method"].startswith(("conversations.", "files."))][n:]


def test_one_message_per_group_edited_and_threaded_as_alerts_join_grow_and_resolve(
    lab: Lab, slack: SlackStandIn, tmp_path: Path
) -> None:
    config = setup(lab, slack, tmp_path)
    assert check(config, T0).returncode == 0
    assert [c["method"] for c in since(slack, 0)] == ["chat.postMessage"]
    ts = slack.messages[0]["ts"]

    # low_quality fires on the same date, in a later run: it joins the message.
    with_checks(config, low_quality=LOW_QUALITY)
    joined = check(config, T0 + dt.timedelta(minutes=5))
    assert "notifications: sent=1 pending=0" in joined.stdout
    update, reply = since(slack, 1)
    assert (update["method"], update["body"]["ts"]) == ("chat.update", ts)
    header = update["body"]["blocks"][0]["text"]["text"]
    assert header == ":rotating_light: CRITICAL 2026-02-03 · 2 firing"
    body = texts(update["body"]["blocks"])
    # worst first: the critical quality_mismatch, then the warning low_quality
    assert body.index("CRITICAL quality_mismatch") < body.index("WARNING low_quality")
    assert "2 firing (1 critical, 1 warning)" in body
    assert reply["body"]["thread_ts"] == ts and not reply["body"].get("reply_broadcast")
    assert "*WARNING low_quality · 2026-02-03* joined the group" in texts(reply["body"]["blocks"])

    # both grow: one edit, one reply naming both
    for _ in range(2):
        lab.add_prediction("a", quality=65.46, made_at=utc("23:20"))
    lab.flush()
    check(config, T0 + dt.timedelta(minutes=10))
    update, reply = since(slack, 3)
    assert update["method"] == "chat.update" and "*5 / 5 predictions" in texts(
        update["body"]["blocks"]
    )
    grew = texts(reply["body"]["blocks"])
    assert grew.count("grew: 5 / 5 predictions") == 2

    # One repeat per group per repeat_interval (4h), counted from the last announcement (the
    # join at +5 min; growth does not reset it): not at +4h, once at +4h05, not again after.
    check(config, T0 + dt.timedelta(hours=4))
    assert since(slack, 5) == []
    check(config, T0 + dt.timedelta(hours=4, minutes=5))
    check(config, T0 + dt.timedelta(hours=4, minutes=10))
    update, repeat = since(slack, 5)
    assert update["method"] == "chat.update"
    assert repeat["body"]["thread_ts"] == ts and repeat["body"]["reply_broadcast"] is True
    assert "Still firing: 2 firing (1 critical, 1 warning)" in texts(repeat["body"]["blocks"])

    # quality_mismatch resolves: the group goes on, now a warning one, in the same message.
    fix_predictions(lab)
    check(config, T0 + dt.timedelta(hours=5))
    update, reply = since(slack, 7)
    assert update["body"]["ts"] == ts
    assert update["body"]["blocks"][0]["text"]["text"] == (
        ":warning: WARNING 2026-02-03 · 1 firing"
    )
    assert "RESOLVED quality_mismatch · 2026-02-03" in texts(update["body"]["blocks"])
    resolved = texts(reply["body"]["blocks"])
    assert "Resolved: the check passes (was 5 / 5 predictions affected)" in resolved
    assert "All alerts" not in resolved

    # its last alert resolves: the group is resolved, in the message and in the thread.
    with_checks(config, low_quality={**LOW_QUALITY, "threshold": 80})
    check(config, T0 + dt.timedelta(hours=6))
    update, reply = since(slack, 9)
    assert update["body"]["blocks"][0]["text"]["text"] == (
        ":white_check_mark: RESOLVED 2026-02-03 · 2 alerts"
    )
    assert update["body"]["text"] == "RESOLVED 2026-02-03: all 2 alerts resolved"
    assert "All alerts of this group have resolved" in texts(reply["body"]["blocks"])
    assert len(slack.messages) == 1  # one top-level message for the whole incident
    check(config, T0 + dt.timedelta(hours=10))
    assert len(since(slack, 11)) == 0  # resolved once


def test_alerts_of_one_run_on_one_date_are_one_message(
    lab: Lab, slack: SlackStandIn, tmp_path: Path
) -> None:
    config = setup(lab, slack, tmp_path)
    with_checks(config, low_quality=LOW_QUALITY)
    proc = check(config, T0)
    assert "notifications: sent=2 pending=0" in proc.stdout  # two alerts ...
    assert slack.methods() == ["chat.postMessage"]  # ... one message
    post = slack.calls[0]["body"]
    assert post["text"].startswith(
        "CRITICAL 2026-02-03: 2 firing (1 critical, 1 warning); worst quality_mismatch 2026-02-03"
    )
    payload = post["metadata"]["event_payload"]
    assert sorted(payload["kinds"]) == ["firing", "firing"]


def test_group_by_check_and_date_makes_a_message_per_check(
    lab: Lab, slack: SlackStandIn, tmp_path: Path
) -> None:
    config = setup(lab, slack, tmp_path)
    data = yaml.safe_load(config.read_text())
    data["alerts"]["group_by"] = ["game_date", "check"]
    data["checks"]["low_quality"] = LOW_QUALITY
    write_config(config, data)
    check(config, T0)
    headers = sorted(c["body"]["blocks"][0]["text"]["text"] for c in slack.calls)
    assert headers == [
        ":rotating_light: CRITICAL quality_mismatch · 2026-02-03",
        ":warning: WARNING low_quality · 2026-02-03",
    ]


def test_an_unknown_group_by_label_is_a_usage_error_naming_the_field(
    lab: Lab, slack: SlackStandIn, tmp_path: Path
) -> None:
    config = setup(lab, slack, tmp_path)
    data = yaml.safe_load(config.read_text())
    data["alerts"]["group_by"] = ["game_day"]
    write_config(config, data)
    proc = featmon("validate", "-c", str(config), env=ENV)
    assert proc.returncode == 2
    assert "alerts.group_by" in proc.stderr and "game_date" in proc.stderr


def test_one_wrong_column_is_one_cannot_run_message_resolved_as_cannot_run(
    lab: Lab, slack: SlackStandIn, tmp_path: Path
) -> None:
    lab.add_store("a", quality=87.59, written_at=utc("22:30"))
    lab.add_prediction("a", quality=87.59, made_at=utc("23:12:42"))
    lab.flush()
    data = lab.config_data()
    data["alerts"] = {
        "slack": {"token": "${TEST_SLACK_TOKEN}", "base_url": slack.base_url, "max_retries": 0}
    }
    good = write_config(tmp_path / "good.yaml", data)
    data["predictions"]["quality"] = [{"column": "renamed_quality"}]
    broken = write_config(tmp_path / "broken.yaml", data)

    proc = check(broken, T0)
    assert proc.returncode == 3
    assert proc.stdout.count("cannot run check") >= 7  # the console: every error
    assert "notifications: sent=7 pending=0" in proc.stdout
    [post] = [c["body"] for c in slack.calls if c["method"] == "chat.postMessage"]
    header = post["blocks"][0]["text"]["text"]
    assert header == ":rotating_light: CRITICAL featmon cannot run 7 checks · 7 firing"
    assert post["text"].startswith(
        "CRITICAL featmon cannot run 7 checks: 7 firing (7 critical); worst featmon cannot run "
        "check "
    )
    body = texts(post["blocks"])
    assert body.count('Referenced column "renamed_quality" not found') == 7

    check(good, T0 + dt.timedelta(minutes=5))  # fixed: all seven run again
    [update] = [
        c["body"]
        for c in slack.calls
        if c["method"] == "chat.update" and c["body"]["ts"] == (slack.messages[0]["ts"])
    ]
    assert update["blocks"][0]["text"]["text"] == (
        ":white_check_mark: RESOLVED featmon cannot run 7 checks · 7 alerts"
    )
    resolved = texts(update["blocks"])
    assert resolved.count("RESOLVED: featmon cannot run") == 7
    assert "0 / 0" not in resolved and "Resolved: the check runs again." in resolved


def test_a_crash_after_a_join_reply_does_not_reply_twice(
    lab: Lab, slack: SlackStandIn, tmp_path: Path
) -> None:
    config = setup(lab, slack, tmp_path)
    check(config, T0)
    with_checks(config, low_quality=LOW_QUALITY)
    crashed = check(config, T0 + dt.timedelta(minutes=5), FEATMON_FAULT_CRASH_AFTER_DELIVERY="1")
    assert crashed.returncode == 75
    assert slack.methods() == ["chat.postMessage", "chat.update", "chat.postMessage"]
    after = check(config, T0 + dt.timedelta(minutes=10))
    assert "sent=0 pending=0 reconciled=1" in after.stdout  # the reply was found in the thread
    assert slack.methods() == ["chat.postMessage", "chat.update", "chat.postMessage"]
    assert len(slack.messages) == 1 and len(slack.replies) == 1


def test_after_a_crash_only_what_was_not_sent_is_sent(
    lab: Lab, slack: SlackStandIn, tmp_path: Path
) -> None:
    """The run after a crash finds the crashed run's reply, and sends its own change (both
    alerts grew) as the next edit and reply: nothing twice, nothing lost."""
    config = setup(lab, slack, tmp_path)
    check(config, T0)
    with_checks(config, low_quality=LOW_QUALITY)
    check(config, T0 + dt.timedelta(minutes=5), FEATMON_FAULT_CRASH_AFTER_DELIVERY="1")
    lab.add_prediction("a", quality=65.46, made_at=utc("23:20"))
    lab.flush()
    after = check(config, T0 + dt.timedelta(minutes=10))
    assert "sent=2 pending=0 reconciled=1" in after.stdout
    assert slack.methods() == ["chat.postMessage", *["chat.update", "chat.postMessage"] * 2]
    assert len(slack.replies) == 2
    assert "grew: 4 / 4 predictions" in texts(slack.calls[-1]["body"]["blocks"])
    assert "joined" not in texts(slack.calls[-1]["body"]["blocks"])


def test_the_webhook_gets_one_payload_per_group_change_with_all_its_alerts(
    lab: Lab, receiver: Receiver, tmp_path: Path
) -> None:
    config = incident_config(lab, tmp_path, {"webhook": {"url": receiver.url}})
    env = {**os.environ}

    def run(at: dt.datetime) -> None:
        featmon("check", "-c", str(config), env={**env, "FEATMON_NOW": at.isoformat()})

    run(T0)
    with_checks(config, low_quality=LOW_QUALITY)
    run(T0 + dt.timedelta(minutes=5))
    fix_predictions(lab)
    run(T0 + dt.timedelta(hours=1))
    with_checks(config, low_quality=None)
    run(T0 + dt.timedelta(hours=2))  # low_quality no longer runs: it stays firing
    with_checks(config, low_quality={**LOW_QUALITY, "threshold": 80})
    run(T0 + dt.timedelta(hours=3))

    keys = {p["groupKey"] for p in receiver.posts}
    assert keys == {'{}:{game_date="2026-02-03"}'}
    assert all(p["groupLabels"] == {"game_date": "2026-02-03"} for p in receiver.posts)
    summary = [
        (p["status"], [(a["labels"]["check"], a["status"]) for a in p["alerts"]])
        for p in receiver.posts
    ]
    assert summary == [
        ("firing", [("quality_mismatch", "firing")]),
        ("firing", [("quality_mismatch", "firing"), ("low_quality", "firing")]),
        ("firing", [("low_quality", "firing"), ("quality_mismatch", "resolved")]),
        ("resolved", [("quality_mismatch", "resolved"), ("low_quality", "resolved")]),
    ]
    last = receiver.posts[-1]
    assert last["commonLabels"] == {"game_date": "2026-02-03", "kind": "firing"}
