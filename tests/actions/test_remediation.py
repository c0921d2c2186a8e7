"""Guarded regeneration and recovery tracking, end to end: real `featmon check` and `featmon
remediate` processes, the lab's DuckDB warehouse, the Slack stand-in and the coordinator
stand-in (tests/peers/coordinator.py).

The incident is the shared alerting scenario (tests/alerts/scenario.py): one player's three
predictions logged quality 65.46 while the store holds 87.59, made 2026-02-03 23:12:42 UTC.
Runs happen at T1, 19:00 New York time on 2026-02-03: the date is today, not played yet.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import yaml

from monitor.demo.schema import PREDICTIONS_TABLE
from monitor.warehouse.duckdb import DuckDBWarehouse
from tests.alerts.scenario import ENV, check, setup
from tests.lab import DAY, ROOT, Lab, featmon, utc, write_config
from tests.monitor.test_cloud_monitoring import MetricServer, by_metric
from tests.peers.coordinator import Coordinator
from tests.peers.slack import SlackStandIn

KEY = "ck-live-5f3a9c1e7d"  # the coordinator API key: must never leave the request header
T1 = dt.datetime(2026, 2, 4, 0, 0, tzinfo=dt.UTC)  # 19:00 EST on DAY: not played yet
KEYED = {**ENV, "COORDINATOR_API_KEY": KEY}


def configured(
    lab: Lab, slack: SlackStandIn, coordinator: Coordinator, tmp_path: Path, **remediation: Any
) -> Path:
    config = setup(lab, slack, tmp_path)
    data = yaml.safe_load(config.read_text())
    data["remediation"] = {
        "coordinator_url": coordinator.url,
        "api_key": "${COORDINATOR_API_KEY}",
        "timeout": "1s",
        "deadline": "20s",
        **remediation,
    }
    return write_config(config, data)


def run_check(config: Path, at: dt.datetime) -> subprocess.CompletedProcess[str]:
    proc = check(config, at, COORDINATOR_API_KEY=KEY)
    assert proc.returncode == 0, proc.stderr
    return proc


def remediate(config: Path, at: dt.datetime, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**KEYED, "FEATMON_NOW": at.isoformat()}
    return featmon("remediate", "-c", str(config), "--date", DAY.isoformat(), *args, env=env)


def state_rows(lab: Lab) -> list[dict[str, Any]]:
    """Every row of every featmon state table."""
    con = duckdb.connect(str(lab.path), read_only=True)
    try:
        tables = [
            t
            for (t,) in con.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'featmon_state'"
            ).fetchall()
        ]
        out: list[dict[str, Any]] = []
        for t in tables:
            cur = con.execute(f"SELECT * FROM featmon_state.{t}")
            names = [d[0] for d in cur.description]
            out += [{"table": t, **dict(zip(names, row, strict=True))} for row in cur.fetchall()]
        return out
    finally:
        con.close()


def remediations(lab: Lab) -> list[dict[str, Any]]:
    return [r for r in state_rows(lab) if r["table"] == "remediations"]


def thread_replies(slack: SlackStandIn) -> list[str]:
    return [
        c["body"]["text"]
        for c in slack.calls
        if c["method"] == "chat.postMessage" and c["body"].get("thread_ts")
    ]


def first_message(slack: SlackStandIn) -> str:
    post = next(c for c in slack.calls if c["method"] == "chat.postMessage")
    return json.dumps(post["body"])


def assert_key_kept(
    lab: Lab, slack: SlackStandIn, *procs: subprocess.CompletedProcess[str]
) -> None:
    for proc in procs:
        assert KEY not in proc.stdout and KEY not in proc.stderr
    assert KEY not in json.dumps(slack.calls, default=str)
    assert KEY not in json.dumps(state_rows(lab), default=str)


def test_dry_run_shows_the_request_in_the_message_and_sends_nothing(
    lab: Lab, slack: SlackStandIn, coordinator: Coordinator, tmp_path: Path
) -> None:
    config = configured(lab, slack, coordinator, tmp_path)  # mode: dry_run by default
    proc = run_check(config, T1)
    message = first_message(slack)
    assert "dry run: featmon would send" in message
    assert f"curl -X POST {coordinator.url}/regenerate-with-supersede" in message
    assert '\\"game_date\\": \\"2026-02-03\\"' in message
    assert "X-API-Key: $COORDINATOR_API_KEY" in message
    assert coordinator.requests == []
    assert remediations(lab) == []
    assert_key_kept(lab, slack, proc)


def test_auto_sends_once_and_posts_the_batch_in_the_thread(
    lab: Lab, slack: SlackStandIn, coordinator: Coordinator, tmp_path: Path
) -> None:
    config = configured(lab, slack, coordinator, tmp_path, mode="auto")
    first = run_check(config, T1)
    [request] = coordinator.requests
    assert request["key"] == KEY
    assert request["body"]["game_date"] == "2026-02-03"
    assert request["body"]["reason"] == "featmon quality_mismatch"
    assert "featmon sends" in first_message(slack)
    [reply] = thread_replies(slack)
    assert "Regeneration requested for 2026-02-03" in reply and "batch `batch-1`" in reply
    [row] = remediations(lab)
    assert (row["status"], row["batch_id"], row["attempts"], row["reply"]) == (
        "accepted",
        "batch-1",
        1,
        "replied",
    )
    # The next cycle, still firing: nothing sent, nothing posted again (min_interval).
    second = run_check(config, T1 + dt.timedelta(minutes=5))
    assert len(coordinator.requests) == 1
    assert len([r for r in thread_replies(slack) if "Regeneration" in r]) == 1
    assert_key_kept(lab, slack, first, second)


def test_an_outcome_waits_for_its_groups_message_and_is_posted_once(
    lab: Lab, slack: SlackStandIn, coordinator: Coordinator, tmp_path: Path
) -> None:
    """Slack down when the request is accepted: the group has no message to reply under,
    so the outcome waits (not dropped); the run that posts the message then replies."""
    config = configured(lab, slack, coordinator, tmp_path, mode="auto")
    slack.down = True
    run_check(config, T1)
    assert len(coordinator.requests) == 1
    [row] = remediations(lab)
    assert (row["status"], row["reply"]) == ("accepted", "waiting")
    slack.down = False
    run_check(config, T1 + dt.timedelta(minutes=5))
    [reply] = [r for r in thread_replies(slack) if "Regeneration" in r]
    assert "batch `batch-1`" in reply
    assert [r["reply"] for r in remediations(lab)] == ["replied"]
    run_check(config, T1 + dt.timedelta(minutes=10))
    assert len([r for r in thread_replies(slack) if "Regeneration" in r]) == 1
    assert len(coordinator.requests) == 1


def test_two_overlapping_runs_send_once(
    lab: Lab, slack: SlackStandIn, coordinator: Coordinator, tmp_path: Path
) -> None:
    config = configured(lab, slack, coordinator, tmp_path, mode="auto")
    env = {
        **KEYED,
        "FEATMON_NOW": T1.isoformat(),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "monitor", "check", "-c", str(config)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert len(coordinator.requests) == 1
    assert len(remediations(lab)) == 1
    # The run that sent may find the group's message still being posted by the other: its
    # reply then waits for the message, and the next run posts it, once.
    replies = [r for r in thread_replies(slack) if "Regeneration" in r]
    assert len(replies) <= 1
    run_check(config, T1 + dt.timedelta(minutes=5))
    run_check(config, T1 + dt.timedelta(minutes=10))
    assert len([r for r in thread_replies(slack) if "Regeneration" in r]) == 1
    assert len(coordinator.requests) == 1
    for out, err in outs:
        assert KEY not in out and KEY not in err


def test_5xx_and_timeouts_are_retried_until_accepted(
    lab: Lab, slack: SlackStandIn, coordinator: Coordinator, tmp_path: Path
) -> None:
    config = configured(lab, slack, coordinator, tmp_path, mode="auto")
    coordinator.answers = [500, "timeout", 503]
    proc = run_check(config, T1)
    assert len(coordinator.requests) == 4
    [row] = remediations(lab)
    assert (row["status"], row["attempts"], row["batch_id"]) == ("accepted", 4, "batch-1")
    assert "batch `batch-1`" in thread_replies(slack)[-1]
    assert_key_kept(lab, slack, proc)


def test_a_4xx_is_explained_and_not_retried(
    lab: Lab, slack: SlackStandIn, coordinator: Coordinator, tmp_path: Path
) -> None:
    config = configured(lab, slack, coordinator, tmp_path, mode="auto")
    coordinator.answers = [400]
    proc = run_check(config, T1)
    assert len(coordinator.requests) == 1
    assert "regeneration of 2026-02-03 not accepted: HTTP 400" in proc.stderr
    assert "not a scheduled game date" in proc.stderr
    [row] = remediations(lab)
    assert (row["status"], row["http_status"], row["attempts"]) == ("rejected", 400, 1)
    assert "not accepted: HTTP 400" in thread_replies(slack)[-1]
    assert "not retried" in thread_replies(slack)[-1]
    run_check(config, T1 + dt.timedelta(minutes=5))  # within min_interval: not asked again
    assert len(coordinator.requests) == 1
    assert_key_kept(lab, slack, proc)


def test_min_interval_is_respected(
    lab: Lab, slack: SlackStandIn, coordinator: Coordinator, tmp_path: Path
) -> None:
    config = configured(lab, slack, coordinator, tmp_path, mode="auto", min_interval="1h")
    run_check(config, T1)
    run_check(config, T1 + dt.timedelta(minutes=59))
    assert len(coordinator.requests) == 1
    run_check(config, T1 + dt.timedelta(minutes=61))  # still firing an hour later
    assert len(coordinator.requests) == 2


def test_a_played_date_never_triggers(
    lab: Lab, slack: SlackStandIn, coordinator: Coordinator, tmp_path: Path
) -> None:
    config = configured(lab, slack, coordinator, tmp_path, mode="auto")
    played = dt.datetime(2026, 2, 4, 12, 0, tzinfo=dt.UTC)  # 2026-02-04 in New York
    run_check(config, played)
    assert slack.calls  # the alert fired
    assert coordinator.requests == []
    proc = remediate(config, played, "--execute")
    assert proc.returncode == 1
    assert "not sent: not played: 2026-02-03 is played" in proc.stderr
    assert coordinator.requests == []


def test_a_small_share_or_an_unlisted_check_does_not_trigger(
    lab: Lab, slack: SlackStandIn, coordinator: Coordinator, tmp_path: Path
) -> None:
    config = configured(
        lab, slack, coordinator, tmp_path, mode="auto", checks=["stale_predictions"]
    )
    run_check(config, T1)
    assert coordinator.requests == []
    assert "quality_mismatch is not in `remediation.checks`" in first_message(slack)


def test_a_crash_between_intent_and_request_is_not_sent_twice(
    lab: Lab, slack: SlackStandIn, coordinator: Coordinator, tmp_path: Path
) -> None:
    config = configured(lab, slack, coordinator, tmp_path, mode="auto")
    crashed = check(config, T1, COORDINATOR_API_KEY=KEY, FEATMON_FAULT_CRASH_BEFORE_REGENERATE="1")
    assert crashed.returncode == 75
    run_check(config, T1 + dt.timedelta(minutes=5))
    assert coordinator.requests == []  # the intent may have gone out: never a second one
    [row] = remediations(lab)
    assert row["status"] == "sending"
    plan = remediate(config, T1 + dt.timedelta(minutes=6))
    assert "FAIL interval" in plan.stdout and "(sending)" in plan.stdout


def test_remediate_shows_the_plan_and_sends_only_with_execute(
    lab: Lab, slack: SlackStandIn, coordinator: Coordinator, tmp_path: Path
) -> None:
    config = configured(lab, slack, coordinator, tmp_path)
    run_check(config, T1)
    plan = remediate(config, T1 + dt.timedelta(minutes=1))
    assert plan.returncode == 0, plan.stderr
    assert "quality_mismatch (critical): 3 / 3 predictions" in plan.stdout
    for guard in ("coordinator", "api_key", "not played", "alert", "affected share", "interval"):
        assert f"ok   {guard}:" in plan.stdout, plan.stdout
    assert "-H 'X-API-Key: ***'" in plan.stdout
    assert "Not sent: add --execute" in plan.stdout
    assert coordinator.requests == []
    sent = remediate(config, T1 + dt.timedelta(minutes=2), "--execute")
    assert sent.returncode == 0, sent.stderr
    assert "the coordinator accepted it, batch batch-1" in sent.stdout
    assert len(coordinator.requests) == 1
    again = remediate(config, T1 + dt.timedelta(minutes=3), "--execute")
    assert again.returncode == 1 and "not sent: interval" in again.stderr
    forced = remediate(config, T1 + dt.timedelta(minutes=4), "--execute", "--force")
    assert forced.returncode == 0, forced.stderr
    assert len(coordinator.requests) == 2
    assert_key_kept(lab, slack, plan, sent, again, forced)


def test_remediate_without_the_key_exits_2_naming_the_field(
    lab: Lab, slack: SlackStandIn, coordinator: Coordinator, tmp_path: Path
) -> None:
    config = configured(lab, slack, coordinator, tmp_path)
    proc = featmon(
        "remediate",
        "-c",
        str(config),
        "--date",
        DAY.isoformat(),
        "--execute",
        env={**ENV, "FEATMON_NOW": T1.isoformat()},
    )
    assert proc.returncode == 2
    assert "remediation.api_key: environment variable COORDINATOR_API_KEY is not set" in proc.stderr
    assert coordinator.requests == []


def test_auto_without_the_key_says_so_and_sends_nothing(
    lab: Lab, slack: SlackStandIn, coordinator: Coordinator, tmp_path: Path
) -> None:
    config = configured(lab, slack, coordinator, tmp_path, mode="auto")
    proc = check(config, T1)  # COORDINATOR_API_KEY unset
    assert proc.returncode == 0, proc.stderr
    assert (
        "regeneration of 2026-02-03 not requested: remediation.api_key: environment variable "
        "COORDINATOR_API_KEY is not set" in proc.stderr
    )
    assert coordinator.requests == []


def test_bad_remediation_config_exits_2_naming_the_field(lab: Lab, tmp_path: Path) -> None:
    for bad, field in (
        ({"mode": "sometimes"}, "remediation.mode"),
        ({"min_affected_share": 1.5}, "remediation.min_affected_share"),
        ({"min_interval": "soon"}, "remediation.min_interval"),
        ({"checks": ["hit_rate_drop"]}, "remediation.checks"),
        ({"mode": "auto"}, "remediation"),
    ):
        data = lab.config_data(remediation=bad)
        proc = featmon("validate", "-c", str(write_config(tmp_path / "c.yaml", data)))
        assert proc.returncode == 2, bad
        assert field in proc.stderr, (bad, proc.stderr)


def regenerate(lab: Lab, at: dt.datetime) -> None:
    """What the coordinator's batch does: supersede the date's predictions with new ones
    built from the store's current features."""
    wh = DuckDBWarehouse(lab.path, read_only=False)
    wh.execute(
        f"UPDATE {PREDICTIONS_TABLE} SET is_active = FALSE, superseded = TRUE "
        "WHERE game_date = $day",
        {"day": DAY},
    )
    wh.close()
    for _ in range(3):
        lab.add_prediction("a", quality=87.59, made_at=at)
    lab.flush()


def test_recovery_figures_in_the_resolution_metrics_and_timeline(
    lab: Lab, slack: SlackStandIn, coordinator: Coordinator, tmp_path: Path
) -> None:
    metrics = MetricServer()
    try:
        config = configured(lab, slack, coordinator, tmp_path, mode="auto")
        data = yaml.safe_load(config.read_text())
        data["alerts"]["cloud_monitoring"] = {
            "project": "nba-props-platform",
            "endpoint": f"127.0.0.1:{metrics.port}",
        }
        write_config(config, data)
        run_check(config, T1)  # alert at 00:00 UTC, 47m18s after the first bad prediction
        assert len(coordinator.requests) == 1
        assert not by_metric(metrics.series(), "recovery_seconds")
        regenerate(lab, T1 + dt.timedelta(minutes=4))
        run_check(config, T1 + dt.timedelta(minutes=10))
        series = metrics.series()
    finally:
        metrics.server.stop(grace=None)
    assert utc("23:12:42") + dt.timedelta(minutes=47, seconds=18) == T1
    resolution = json.dumps([c["body"] for c in slack.calls if c["method"] != "files.upload"])
    assert "Recovery: detected 47m 18s after the first bad prediction" in resolution
    assert "regeneration requested 0s after the alert, batch batch-1" in resolution
    assert "recovered 10m 00s after the request" in resolution
    assert "3 predictions superseded" in resolution
    figures = {
        name: [s.points[0].value.double_value for s in by_metric(series, name)]
        for name in (
            "time_to_detect_seconds",
            "time_to_act_seconds",
            "recovery_seconds",
            "superseded_predictions",
        )
    }
    assert figures == {
        "time_to_detect_seconds": [2838.0],
        "time_to_act_seconds": [0.0],
        "recovery_seconds": [600.0],
        "superseded_predictions": [3.0],
    }
    [detect] = by_metric(series, "time_to_detect_seconds")
    assert detect.metric.labels["days_from_today"] == "0"
    timeline = featmon(
        "timeline",
        "-c",
        str(config),
        "--date",
        DAY.isoformat(),
        env={**KEYED, "FEATMON_NOW": (T1 + dt.timedelta(minutes=11)).isoformat()},
    )
    assert timeline.returncode == 0, timeline.stderr
    lines = timeline.stdout.splitlines()
    [request] = [line for line in lines if "EST  regeneration " in line]
    assert "19:00:00 EST" in request
    assert "quality_mismatch (auto): accepted, batch batch-1" in request
    [recovered] = [line for line in lines if "EST  recovered " in line]
    assert "19:10:00 EST" in recovered and "recovered 10m 00s after the request" in recovered
    assert lines.index(request) < lines.index(recovered)
