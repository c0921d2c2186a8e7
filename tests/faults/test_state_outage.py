"""When the alert state is gone (the DuckDB file corrupted or missing), "featmon cannot
run" still reaches Slack and the webhook: once per outage and repeat interval over several
runs, deduplicated without the warehouse, and resolved when a run gets through again. The
same for the daemon: six failing cycles, one message."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from alerts.health import HealthNotice
from alerts.sinks.slack import SlackSettings, SlackSink
from tests.alerts.scenario import check, setup
from tests.lab import Lab, write_config
from tests.monitor.test_daemon import HOLD_LOCK, config_for, daemon, heartbeats, stop, wait_for
from tests.peers.slack import SlackStandIn
from tests.peers.webhook import Receiver

__all__ = ["daemon"]  # the daemon fixture, shared with the daemon's own tests

T0 = dt.datetime(2026, 2, 3, 5, 0, tzinfo=dt.UTC)
CORRUPT = b"this is not a DuckDB database file\n" * 512


def at(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def health_calls(slack: SlackStandIn) -> list[dict[str, Any]]:
    """Slack calls about featmon's own health: the notice, its thread and its edits."""
    posted = [
        m["ts"]
        for m in slack.messages
        if (m.get("metadata") or {}).get("event_type") == "featmon_health"
    ]
    out = []
    for call in slack.calls:
        body = call["body"]
        own = (body.get("metadata") or {}).get("event_type") == "featmon_health"
        if own or body.get("thread_ts") in posted or body.get("ts") in posted:
            out.append(call)
    return out


def kinds(calls: list[dict[str, Any]]) -> list[str]:
    """Each call as `method` plus what it says (cannot run / still down / runs again)."""
    out = []
    for c in calls:
        text = c["body"].get("text") or ""
        what = "resolved" if text.startswith("RESOLVED") else "down"
        out.append(f"{c['method']}:{what}{':thread' if c['body'].get('thread_ts') else ''}")
    return out


def test_a_corrupted_warehouse_reaches_slack_once_repeats_then_resolves(
    lab: Lab, slack: SlackStandIn, tmp_path: Path
) -> None:
    config = setup(lab, slack, tmp_path, repeat_interval="1h")
    good = lab.path.read_bytes()
    lab.path.write_bytes(CORRUPT)

    runs = [check(config, at(m)) for m in (0, 5, 10)]
    for run in runs:
        assert run.returncode == 3, run.stderr
        assert "alert state unavailable" in run.stderr
        assert "lease" not in run.stderr  # the real error, not "another run holds the lease"
    assert kinds(health_calls(slack)) == ["chat.postMessage:down"]
    first = health_calls(slack)[0]["body"]
    assert "featmon cannot run" in json.dumps(first["blocks"])
    assert "not a valid DuckDB database file" in json.dumps(first["blocks"])
    assert "2026-02-03 00:00 EST" in json.dumps(first["blocks"])  # the config's timezone

    assert check(config, at(61)).returncode == 3  # the repeat interval has passed
    assert kinds(health_calls(slack)) == ["chat.postMessage:down", "chat.postMessage:down:thread"]
    assert health_calls(slack)[1]["body"]["reply_broadcast"] is True

    lab.path.write_bytes(good)
    back = check(config, at(70))
    assert back.returncode == 0, back.stderr
    assert kinds(health_calls(slack))[2:] == [
        "chat.postMessage:resolved:thread",
        "chat.update:resolved",
    ]
    assert check(config, at(75)).returncode == 0
    assert len(health_calls(slack)) == 4  # resolved once
    # And the incident itself, which the outage hid, is announced once the state is back.
    alerts = [m for m in slack.messages if m["metadata"]["event_type"] == "featmon_alert"]
    assert len(alerts) == 1


def test_a_missing_warehouse_reaches_slack_and_the_webhook_once_then_resolves(
    lab: Lab, slack: SlackStandIn, receiver: Receiver, tmp_path: Path
) -> None:
    config = setup(lab, slack, tmp_path, webhook={"url": receiver.url, "timeout": "2s"})
    good = lab.path.read_bytes()
    lab.path.unlink()
    for m in (0, 5, 10, 15):
        run = check(config, at(m))
        assert run.returncode == 3
        assert "does not exist" in run.stderr
    assert kinds(health_calls(slack)) == ["chat.postMessage:down"]
    assert [p["status"] for p in receiver.posts] == ["firing"]
    alert = receiver.posts[0]["alerts"][0]
    assert alert["labels"] == {"alertname": "featmon_cannot_run", "severity": "critical"}
    assert alert["startsAt"] == "2026-02-03T05:00:00Z"

    lab.path.write_bytes(good)
    assert check(config, at(20)).returncode == 0
    assert check(config, at(25)).returncode == 0
    health = [
        p for p in receiver.posts if p["groupLabels"].get("alertname") == "featmon_cannot_run"
    ]
    assert [p["status"] for p in health] == ["firing", "resolved"]
    assert health[1]["alerts"][0]["endsAt"] == "2026-02-03T05:20:00Z"
    assert kinds(health_calls(slack))[1:] == [
        "chat.postMessage:resolved:thread",
        "chat.update:resolved",
    ]


def test_a_fresh_disk_finds_the_notice_in_slack_instead_of_posting_again(
    lab: Lab, slack: SlackStandIn, tmp_path: Path
) -> None:
    """A Cloud Run job's disk does not outlive the run: the next run asks Slack."""
    config = setup(lab, slack, tmp_path)
    lab.path.write_bytes(CORRUPT)
    assert check(config, at(0)).returncode == 3
    memory = tmp_path / ".featmon" / "health.json"
    assert json.loads(memory.read_text())["open"] is True
    memory.unlink()
    assert check(config, at(5)).returncode == 3
    assert kinds(health_calls(slack)) == ["chat.postMessage:down"]
    assert "conversations.history" in [c["method"] for c in slack.calls]


def test_the_daemon_says_it_cannot_run_once_over_six_failing_cycles(
    lab: Lab,
    slack: SlackStandIn,
    tmp_path: Path,
    daemon: Callable[..., subprocess.Popen[str]],
) -> None:
    lab.add_store("a")
    lab.add_prediction("a")
    lab.flush()
    good = lab.path.read_bytes()
    lab.path.write_bytes(CORRUPT)
    proc = daemon(config_for(lab, slack, tmp_path))
    assert wait_for(lambda: heartbeats(tmp_path) >= 6, timeout=60)
    assert kinds(health_calls(slack)) == ["chat.postMessage:down"]
    lab.path.write_bytes(good)
    assert wait_for(lambda: len(health_calls(slack)) == 3, timeout=30)
    assert kinds(health_calls(slack))[1:] == [
        "chat.postMessage:resolved:thread",
        "chat.update:resolved",
    ]
    stop(proc, tmp_path)


def test_a_lock_held_past_wait_s_is_announced_only_when_a_second_run_meets_it(
    lab: Lab, slack: SlackStandIn, tmp_path: Path
) -> None:
    """Contention (the pipeline loading for a while) is not an outage: one run that cannot
    get the file says so on stderr only; a second in a row tells Slack; the lock's end
    resolves it."""
    config = setup(lab, slack, tmp_path)
    data = yaml.safe_load(config.read_text())
    data["state"] = {"wait_s": 1}
    write_config(config, data)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(lab.path), "60"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        first = check(config, at(0))
        assert first.returncode == 3 and "lock" in first.stderr
        assert health_calls(slack) == []
        assert check(config, at(5)).returncode == 3
        assert kinds(health_calls(slack)) == ["chat.postMessage:down"]
        assert "2026-02-03 00:00 EST" in json.dumps(health_calls(slack)[0]["body"]["blocks"])
    finally:
        holder.kill()
        holder.wait()
    assert check(config, at(10)).returncode == 0
    assert kinds(health_calls(slack))[1:] == [
        "chat.postMessage:resolved:thread",
        "chat.update:resolved",
    ]


def test_the_notice_shows_a_hostile_error_as_text_within_slacks_limits(
    slack: SlackStandIn,
) -> None:
    """The error is data (a database's message can quote a path or a value): escaped for
    mrkdwn like every alert message, never a ping or a link, and cut to Slack's limits; its
    times in the config's zone with the abbreviation."""
    error = "cannot open /data/<!channel>&<http://evil.example|click>.duckdb " + "x" * 5000
    sink = SlackSink(SlackSettings(token="xoxb-t", base_url=slack.base_url))
    since = dt.datetime(2026, 7, 3, 5, 0, tzinfo=dt.UTC)
    notice = HealthNotice("firing", since, error, ZoneInfo("America/New_York"), "1h")
    assert sink.health(notice).ok
    [call] = slack.calls
    blocks = call["body"]["blocks"]
    shown = json.dumps(blocks)
    assert "&lt;!channel&gt;&amp;&lt;http://evil.example|click&gt;" in shown
    assert "<!channel>" not in shown and "<http://evil" not in shown
    assert "<!channel>" not in call["body"]["text"]
    assert "2026-07-03 01:00 EDT" in shown
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks if b["type"] == "section")
