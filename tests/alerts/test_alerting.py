"""The alert lifecycle across separate `featmon check` processes over one DuckDB state,
delivering to a local Slack stand-in through the official slack-sdk client."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from monitor.warehouse.duckdb import DuckDBWarehouse
from tests.alerts.scenario import ENV, check, fix_predictions, setup
from tests.lab import DAY, Lab, featmon, utc, write_config
from tests.peers.slack import SlackStandIn

T0 = dt.datetime(2026, 2, 3, 5, 0, tzinfo=dt.UTC)


def add_bad_predictions(lab: Lab, n: int) -> None:
    for _ in range(n):
        lab.add_prediction("a", quality=65.46, made_at=utc("23:20"))
    lab.flush()


def test_fire_once_repeat_update_and_resolve_across_processes(
    lab: Lab, slack: SlackStandIn, tmp_path: Path
) -> None:
    config = setup(lab, slack, tmp_path)
    first = check(config, T0)
    assert first.returncode == 0, first.stderr
    assert "notifications: sent=1 pending=0" in first.stdout
    assert slack.methods() == ["chat.postMessage"]
    post = slack.calls[0]["body"]
    assert post["channel"] == "#nba-alerts"
    assert post["text"].startswith("CRITICAL quality_mismatch 2026-02-03: 3 of 3 predictions")
    assert "*3 / 3 predictions (100.0%)*" in json.dumps(post["blocks"])
    assert "xoxb-test-token" not in first.stdout + first.stderr

    assert check(config, T0 + dt.timedelta(minutes=5)).returncode == 0
    assert slack.methods() == ["chat.postMessage"]  # no duplicate on rerun

    check(config, T0 + dt.timedelta(hours=4))
    assert slack.methods()[1:] == ["chat.update", "chat.postMessage"]  # repeat in the thread
    assert slack.calls[-1]["body"]["thread_ts"] == slack.messages[0]["ts"]

    add_bad_predictions(lab, 2)
    check(config, T0 + dt.timedelta(hours=4, minutes=5))
    # growth edits the message and says so in the thread
    assert slack.methods()[3:] == ["chat.update", "chat.postMessage"]
    assert "*5 / 5 predictions (100.0%)*" in json.dumps(slack.calls[-2]["body"]["blocks"])
    assert slack.calls[-1]["body"]["thread_ts"] == slack.messages[0]["ts"]
    assert "grew: 5 / 5 predictions" in json.dumps(slack.calls[-1]["body"]["blocks"])

    fix_predictions(lab)
    resolving = check(
        config,
        T0 + dt.timedelta(hours=5),
    )
    assert slack.methods()[5:] == ["chat.update", "chat.postMessage"]
    update, reply = slack.calls[-2]["body"], slack.calls[-1]["body"]
    assert reply["thread_ts"] == slack.messages[0]["ts"]
    assert "Resolved: the check passes" in json.dumps(reply)
    assert update["ts"] == slack.messages[0]["ts"] and update["text"].startswith("RESOLVED")
    listing = featmon("alerts", "-c", str(config), "--all", env=ENV).stdout
    assert listing.startswith("resolved critical quality_mismatch 2026-02-03")
    logged = [json.loads(line) for line in resolving.stderr.splitlines() if line.startswith("{")]
    [entry] = [e for e in logged if e.get("kind") == "resolved"]
    assert entry["severity"] == "INFO" and "the check passes" in entry["message"]


def test_slack_down_for_three_runs_then_exactly_one_message(
    lab: Lab, slack: SlackStandIn, tmp_path: Path
) -> None:
    config = setup(lab, slack, tmp_path)
    slack.down = True
    stderrs = []
    for minutes in (0, 5, 10):
        proc = check(config, T0 + dt.timedelta(minutes=minutes))
        assert proc.returncode == 0 and "notifications: sent=0 pending=1" in proc.stdout
        stderrs.append(proc.stderr)
    assert "not delivered (kept pending)" in stderrs[0]
    assert all("not delivered" not in e for e in stderrs[1:])  # reported once
    assert "last firing via slack: pending" in featmon("alerts", "-c", str(config), env=ENV).stdout
    slack.down = False
    proc = check(config, T0 + dt.timedelta(minutes=15))
    assert "notifications: sent=1 pending=0" in proc.stdout
    check(config, T0 + dt.timedelta(minutes=20))
    assert slack.methods() == ["chat.postMessage"]


def test_a_crash_between_sending_and_recording_does_not_post_twice(
    lab: Lab, slack: SlackStandIn, tmp_path: Path
) -> None:
    config = setup(lab, slack, tmp_path)
    crashed = check(config, T0, FEATMON_FAULT_CRASH_AFTER_DELIVERY="1")
    assert crashed.returncode == 75
    assert slack.methods() == ["chat.postMessage"]
    after = check(config, T0 + dt.timedelta(minutes=5))
    assert "reconciled=1" in after.stdout
    assert slack.methods() == ["chat.postMessage"]  # found in history, not re-posted
    check(config, T0 + dt.timedelta(hours=5))  # and the recorded ts is used for the repeat
    assert slack.calls[-1]["body"]["thread_ts"] == slack.messages[0]["ts"]


def test_silence_from_the_cli_mutes_until_expired(
    lab: Lab, slack: SlackStandIn, tmp_path: Path
) -> None:
    config = setup(lab, slack, tmp_path)
    added = featmon(
        "silence",
        "add",
        "-c",
        str(config),
        "--match",
        "check=quality_mismatch",
        "--match",
        f"game_date={DAY}",
        "--for",
        "2h",
        "--reason",
        "regeneration running",
        env={**os.environ, "FEATMON_NOW": T0.isoformat(), "TEST_SLACK_TOKEN": "x"},
    )
    assert added.returncode == 0, added.stderr
    silence_id = added.stdout.split()[1]
    check(config, T0)
    assert slack.methods() == []
    assert (
        "muted (silenced: regeneration running)"
        in featmon("alerts", "-c", str(config), env=ENV).stdout
    )
    expired = featmon(
        "silence",
        "expire",
        "-c",
        str(config),
        silence_id,
        env=ENV,
    )
    assert expired.returncode == 0
    check(config, T0 + dt.timedelta(minutes=5))
    assert slack.methods() == ["chat.postMessage"]


def test_a_check_error_never_resolves_and_raises_its_own_alert(
    lab: Lab, slack: SlackStandIn, tmp_path: Path
) -> None:
    config = setup(lab, slack, tmp_path)
    check(config, T0)
    broken = yaml.safe_load(config.read_text())
    broken["predictions"]["quality"] = [{"column": "renamed_quality"}]
    broken_path = write_config(tmp_path / "broken.yaml", broken)
    proc = check(broken_path, T0 + dt.timedelta(minutes=5))
    assert proc.returncode == 3
    texts = [c["body"]["text"] for c in slack.calls if c["method"] == "chat.postMessage"]
    assert len(texts) == 2 and "cannot run" in json.dumps(slack.calls[-1]["body"]["blocks"])
    listing = featmon("alerts", "-c", str(config), env=ENV).stdout
    lines = listing.splitlines()
    assert [line.split()[0] for line in lines] == ["firing", "firing"]  # nothing resolved
    assert any("quality_mismatch (cannot run)" in line for line in lines)


def test_state_store_locked_by_another_process_is_loud_not_silent(
    lab: Lab, slack: SlackStandIn, tmp_path: Path
) -> None:
    import subprocess
    import sys
    import time

    config = setup(lab, slack, tmp_path)
    data = yaml.safe_load(config.read_text())
    data["state"] = {"wait_s": 1}
    write_config(config, data)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True); "
            "time.sleep(30)",
            str(lab.path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        proc = check(config, T0)
        assert proc.returncode == 3
        assert "alert state unavailable, nothing notified this run" in proc.stderr
        assert slack.methods() == []
    finally:
        holder.kill()
        holder.wait()
    time.sleep(0.2)
    assert check(config, T0 + dt.timedelta(minutes=1)).returncode == 0
    assert slack.methods() == ["chat.postMessage"]


def test_inhibition_from_config_across_processes(
    lab: Lab, slack: SlackStandIn, tmp_path: Path
) -> None:
    """missing_features firing on a date mutes stale_predictions on that date."""
    lab.add_store("a", created_at=utc("17:00"), written_at=utc("22:30"))
    lab.add_prediction("a", made_at=utc("19:00"))  # stale
    lab.add_prediction("ghost")  # no store row
    lab.flush()
    data = lab.config_data()
    data["checks"] = {
        "stale_predictions": {"severity": "critical"},
        "missing_features": {"severity": "warning"},
    }
    data["alerts"] = {
        "inhibit": [{"source": "missing_features", "target": "stale_predictions"}],
        "slack": {
            "token": "${TEST_SLACK_TOKEN}",
            "base_url": slack.base_url,
            "max_retries": 0,
        },
    }
    config = write_config(tmp_path / "featmon.yaml", data)
    assert check(config, T0).returncode == 0
    texts = [c["body"]["text"] for c in slack.calls if c["method"] == "chat.postMessage"]
    assert len(texts) == 1 and texts[0].startswith("WARNING missing_features 2026-02-03")
    listing = featmon("alerts", "-c", str(config), env=ENV).stdout
    assert "stale_predictions 2026-02-03 1/2" in listing
    assert "muted (inhibited by missing_features)" in listing


def test_dry_run_shows_what_would_be_notified_and_touches_nothing(
    lab: Lab, slack: SlackStandIn, tmp_path: Path
) -> None:
    config = setup(lab, slack, tmp_path)
    for minutes in (0, 1):
        proc = featmon(
            "check",
            "-c",
            str(config),
            "--dry-run",
            env={**ENV, "FEATMON_NOW": (T0 + dt.timedelta(minutes=minutes)).isoformat()},
        )
        assert proc.returncode == 0, proc.stderr
        assert "would notify: firing critical quality_mismatch 2026-02-03" in proc.stdout
    assert slack.methods() == []
    with DuckDBWarehouse(lab.path) as wh:  # neither alert state nor store history written
        tables = wh.con.execute(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'featmon_state'"
        ).fetchone()
    assert tables == (0,)
    assert check(config, T0 + dt.timedelta(minutes=2)).returncode == 0
    assert slack.methods() == ["chat.postMessage"]  # the dry runs recorded nothing
    after = featmon(
        "check",
        "-c",
        str(config),
        "--dry-run",
        env={**ENV, "FEATMON_NOW": (T0 + dt.timedelta(minutes=3)).isoformat()},
    )
    assert "would notify" not in after.stdout


def silence_add(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return featmon(
        "silence",
        "add",
        "-c",
        str(config),
        *args,
        "--for",
        "6h",
        "--reason",
        "on it",
        env={**ENV, "FEATMON_NOW": T0.isoformat()},
    )


@pytest.mark.parametrize(
    ("match", "valid"),
    [
        ("check=low_qualty", "low_quality"),
        ("feature=points_avg_last_50", "points_avg_last_5"),
        ("severity=urgent", "critical"),
        ("kind=fired", "firing"),
        ("game_date=2026-02-30", "YYYY-MM-DD"),
    ],
)
def test_silence_add_refuses_a_typo_naming_the_valid_values(
    lab: Lab, slack: SlackStandIn, tmp_path: Path, match: str, valid: str
) -> None:
    config = setup(lab, slack, tmp_path)
    proc = silence_add(config, "--match", match)
    assert proc.returncode == 2, proc.stdout
    assert match.split("=")[1] in proc.stderr and valid in proc.stderr
    assert "no silences" in featmon("silence", "list", "-c", str(config), env=ENV).stdout


def test_silence_by_fingerprint_mutes_exactly_that_alert(
    lab: Lab, slack: SlackStandIn, tmp_path: Path
) -> None:
    """Two alerts fire (one message: their date's group); the one silenced by the
    fingerprint the message shows for it is not repeated, the other is."""
    config = setup(lab, slack, tmp_path)
    data = yaml.safe_load(config.read_text())
    data["checks"]["low_quality"] = {"severity": "warning", "threshold": 90, "max_ratio": 0.0}
    write_config(config, data)
    check(config, T0)
    [post] = [c["body"] for c in slack.calls if c["method"] == "chat.postMessage"]
    [quality] = [
        b["text"]["text"] for b in post["blocks"] if "CRITICAL quality_mismatch" in json.dumps(b)
    ]
    [steps] = [
        b["text"]["text"]
        for b in post["blocks"]
        if "featmon sql quality_mismatch" in json.dumps(b) and "fingerprint" in json.dumps(b)
    ]
    fingerprint = re.search(r"fingerprint `(\w+)`", steps)
    assert fingerprint and quality
    assert silence_add(config, "--fingerprint", "0123456789abcdef").returncode == 2
    added = silence_add(config, "--fingerprint", fingerprint[1])
    assert added.returncode == 0, added.stderr
    assert "matches 1 firing alert: quality_mismatch 2026-02-03" in added.stdout
    at_t0 = {**ENV, "FEATMON_NOW": T0.isoformat()}
    listing = featmon("silence", "list", "-c", str(config), env=at_t0).stdout
    assert f"fingerprint={fingerprint[1]}" in listing and "{" not in listing
    calls = len(slack.calls)
    check(config, T0 + dt.timedelta(hours=4))
    [reply] = [c["body"] for c in slack.calls[calls:] if c["body"].get("thread_ts")]
    repeated = [b["text"]["text"] for b in reply["blocks"] if "still firing" in json.dumps(b)]
    assert repeated and all("low_quality" in t for t in repeated)
    alerts = featmon("alerts", "-c", str(config), env=ENV).stdout
    [muted] = [line for line in alerts.splitlines() if "muted" in line]
    assert "quality_mismatch" in muted


def test_a_configured_silence_with_a_typo_is_a_config_error(
    lab: Lab, slack: SlackStandIn, tmp_path: Path
) -> None:
    """A silence in the config is checked like `silence add --match`: a typo would mute
    nothing while on-call believes the noise is handled."""
    config = setup(lab, slack, tmp_path)
    data = yaml.safe_load(config.read_text())
    data["alerts"]["silences"] = [
        {"match": {"check": "quality_mismatch"}, "until": "2026-02-04 00:00"},
        {"match": {"check": "low_qualty"}, "until": "2026-02-04 00:00"},
    ]
    config.write_text(yaml.safe_dump(data))
    proc = featmon("validate", "-c", str(config), env=ENV)
    assert proc.returncode == 2, proc.stdout
    assert "alerts.silences[1].match.check: unknown check 'low_qualty'" in proc.stderr
    assert "low_quality" in proc.stderr  # the valid values are named
    assert "silences[0]" not in proc.stderr


def test_silence_list_all_tells_an_ended_silence_from_an_active_one(
    lab: Lab, slack: SlackStandIn, tmp_path: Path
) -> None:
    config = setup(lab, slack, tmp_path)
    env = {**ENV, "FEATMON_NOW": "2026-02-03T10:00:00Z"}
    added = featmon("silence", "add", "-c", str(config), "--match", "check=quality_mismatch",
                    "--for", "1h", "--reason", "r", env=env)  # fmt: skip
    assert added.returncode == 0, added.stderr
    listing = ["silence", "list", "-c", str(config), "--all", "--format", "json"]
    during = json.loads(featmon(*listing, env=env).stdout)["silences"]
    later = {**ENV, "FEATMON_NOW": "2026-02-03T12:00:00Z"}
    after = json.loads(featmon(*listing, env=later).stdout)["silences"]
    assert [s["state"] for s in during] == ["active"]
    assert [s["state"] for s in after] == ["ended"]
    assert (
        " ended until " in featmon("silence", "list", "-c", str(config), "--all", env=later).stdout
    )


def test_alerts_and_silences_as_json(lab: Lab, slack: SlackStandIn, tmp_path: Path) -> None:
    config = setup(lab, slack, tmp_path)
    check(config, T0)
    assert silence_add(config, "--match", "check=quality_mismatch").returncode == 0
    env = {**ENV, "FEATMON_NOW": T0.isoformat()}
    alerts = json.loads(featmon("alerts", "-c", str(config), "--format", "json", env=env).stdout)
    [alert] = alerts["alerts"]
    assert alert["labels"]["check"] == "quality_mismatch" and alert["status"] == "firing"
    assert alert["started_at"] == "2026-02-03T05:00:00Z"
    assert alert["last_notification"]["sink"] == "slack"
    assert alert["last_notification"]["at"].endswith("Z")
    silences = json.loads(
        featmon("silence", "list", "-c", str(config), "--format", "json", env=env).stdout
    )
    [entry] = silences["silences"]
    assert entry["match"] == {"check": "quality_mismatch"}
    assert entry["until"] == "2026-02-03T11:00:00Z" and entry["state"] == "active"


def test_an_unset_slack_token_keeps_the_alert_pending_until_it_is_set(
    lab: Lab, slack: SlackStandIn, tmp_path: Path
) -> None:
    """The run still checks and records the alert; only Slack waits, loudly, naming the
    variable. Once it is set the pending message goes out, and the token is never printed."""
    config = setup(lab, slack, tmp_path)
    unset = {k: v for k, v in ENV.items() if k != "TEST_SLACK_TOKEN"}
    proc = featmon("check", "-c", str(config), env={**unset, "FEATMON_NOW": T0.isoformat()})
    assert proc.returncode == 0, proc.stderr
    assert "notifications: sent=0 pending=1" in proc.stdout
    assert "not delivered (kept pending)" in proc.stderr
    assert "environment variable TEST_SLACK_TOKEN is not set" in proc.stderr
    assert slack.methods() == []
    delivered = check(config, T0 + dt.timedelta(minutes=5))
    assert "notifications: sent=1 pending=0" in delivered.stdout
    assert slack.methods() == ["chat.postMessage"]
    secret = ENV["TEST_SLACK_TOKEN"]
    listing = featmon("alerts", "-c", str(config), env=ENV)
    for out in (proc, delivered, listing):
        assert secret not in out.stdout + out.stderr
    assert [call["auth"] for call in slack.calls] == [f"Bearer {secret}"]  # only to Slack
    assert all(secret not in json.dumps(call["body"]) for call in slack.calls)
