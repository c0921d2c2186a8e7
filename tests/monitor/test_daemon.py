"""`featmon run` as a real process on a one-second schedule, with a local Slack stand-in."""

from __future__ import annotations

import datetime as dt
import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from monitor.demo.schema import PREDICTIONS_TABLE
from monitor.warehouse.duckdb import DuckDBWarehouse
from tests.alerts.scenario import ENV, check, incident_config
from tests.lab import ROOT, Lab, featmon, utc, write_config
from tests.peers import free_port
from tests.peers.slack import SlackStandIn

# Takes the warehouse's write lock (retrying while the daemon reads) and keeps it.
HOLD_LOCK = """
import duckdb, sys, time
while True:
    try:
        c = duckdb.connect(sys.argv[1])
        break
    except duckdb.IOException:
        time.sleep(0.02)
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


T0 = dt.datetime(2026, 2, 3, 5, 0, tzinfo=dt.UTC)


def slack_settings(slack: SlackStandIn) -> dict[str, Any]:
    return {"token": "${TEST_SLACK_TOKEN}", "base_url": slack.base_url, "max_retries": 0}


def config_for(lab: Lab, slack: SlackStandIn, tmp_path: Path, **extra: Any) -> Path:
    data = lab.config_data()
    data["schedule"] = {"every": "1s"}
    data["checks"] = {"quality_mismatch": {"severity": "critical", "tolerance": 0.5}}
    data["alerts"] = {"slack": slack_settings(slack)}
    data.update(extra)
    return write_config(tmp_path / "daemon.yaml", data)


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    out = (tmp_path / "daemon.out").open("w")
    err = (tmp_path / "daemon.err").open("w")

    def start(config: Path, *args: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "run", "-c", str(config), *args],
            cwd=ROOT,
            # A cache of its own: the daemon transpiles its statements (and could log about it).
            env={**ENV, "FEATMON_CACHE_DIR": str(tmp_path / "sql-cache")},
            stdout=out,
            stderr=err,
            text=True,
        )
        procs.append(proc)
        return proc

    yield start
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    out.close()
    err.close()


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def write(lab: Lab, sql: str) -> None:
    """Write to the warehouse between the daemon's cycles (retrying while it reads)."""
    for _ in range(200):
        try:
            con = duckdb.connect(str(lab.path))
        except duckdb.IOException:
            time.sleep(0.05)
            continue
        try:
            con.execute(sql)
        finally:
            con.close()
        return
    raise AssertionError("could not get the warehouse write lock")


def heartbeats(tmp_path: Path) -> int:
    """Cycles the daemon has finished so far (one heartbeat log line each)."""
    err = tmp_path / "daemon.err"
    return err.read_text().count("heartbeat: cycle ") if err.exists() else 0


def stop(proc: subprocess.Popen[str], tmp_path: Path) -> str:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=15) == 0
    return (tmp_path / "daemon.err").read_text()


def test_incident_appearing_mid_run_fires_once_then_resolves_and_stops_cleanly(
    lab: Lab,
    slack: SlackStandIn,
    tmp_path: Path,
    daemon: Callable[..., subprocess.Popen[str]],
) -> None:
    lab.add_store("a", quality=87.59, written_at=utc("22:30"))
    lab.add_prediction("a", quality=87.59, made_at=utc("23:12:42"))
    lab.flush()
    proc = daemon(config_for(lab, slack, tmp_path))
    err = tmp_path / "daemon.err"
    assert wait_for(lambda: err.exists() and err.read_text().count("heartbeat") >= 2)
    assert slack.methods() == []  # clean so far

    # The worker's stale cache serves a prediction while the daemon runs.
    injected = time.monotonic()
    write(lab, f"UPDATE {PREDICTIONS_TABLE} SET feature_quality_score = 65.46")
    assert wait_for(lambda: slack.methods() == ["chat.postMessage"])
    latency = time.monotonic() - injected
    print(f"detection latency: {latency:.2f}s")
    assert latency < 10
    # Three more cycles finish, each still seeing the alert: still one message.
    beats = heartbeats(tmp_path)
    assert wait_for(lambda: heartbeats(tmp_path) >= beats + 3)
    assert slack.methods() == ["chat.postMessage"]
    lines = (tmp_path / "daemon.out").read_text().splitlines()  # a report per cycle
    after = lines[lines.index("notifications: sent=1 pending=0 reconciled=0") + 1 :]
    notified = [line for line in after if line.startswith("notifications:")]
    statuses = [line.split()[:3] for line in after if line.startswith("status=")]
    assert len(notified) >= 2, lines  # later cycles ran the notify phase...
    assert set(notified) == {"notifications: sent=0 pending=0 reconciled=0"}  # ...sending nothing
    assert statuses == [["status=alert", "alerts=1", "errors=0"]] * len(statuses)  # still firing

    write(lab, f"UPDATE {PREDICTIONS_TABLE} SET feature_quality_score = 87.59")
    # resolved: the message edited, then a reply in its thread
    assert wait_for(lambda: slack.methods()[1:] == ["chat.update", "chat.postMessage"])
    assert "RESOLVED" in slack.calls[-2]["body"]["text"]
    assert slack.calls[-1]["body"]["thread_ts"] == slack.messages[0]["ts"]
    log = stop(proc, tmp_path)
    assert "stopped cleanly" in log
    assert (tmp_path / "sql-cache").exists()  # it did transpile...
    assert " sqlglot " not in log  # ...and library chatter stayed out of its log


def test_a_broken_check_does_not_stop_the_daemon(
    lab: Lab,
    slack: SlackStandIn,
    tmp_path: Path,
    daemon: Callable[..., subprocess.Popen[str]],
) -> None:
    lab.add_store("a")
    lab.add_prediction("a")
    lab.flush()
    config = config_for(lab, slack, tmp_path)
    data = yaml.safe_load(config.read_text())
    data["predictions"]["quality"] = [{"column": "renamed_quality"}]
    proc = daemon(write_config(config, data))
    err = tmp_path / "daemon.err"
    assert wait_for(lambda: err.exists() and err.read_text().count("heartbeat") >= 3)
    assert "exit code 3" in err.read_text()
    assert proc.poll() is None  # still running
    assert slack.methods() == ["chat.postMessage"]  # "cannot run" once, not every cycle
    assert "featmon cannot run quality_mismatch" in json.dumps(slack.calls[0]["body"]["blocks"])
    stop(proc, tmp_path)


def test_a_locked_warehouse_delays_cycles_without_overlap_and_health_reports_it(
    lab: Lab,
    slack: SlackStandIn,
    tmp_path: Path,
    daemon: Callable[..., subprocess.Popen[str]],
) -> None:
    lab.add_store("a")
    lab.add_prediction("a")
    lab.flush()
    port = free_port()
    proc = daemon(config_for(lab, slack, tmp_path), "--health-port", str(port))
    err = tmp_path / "daemon.err"

    def health() -> int:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                return int(r.status)
        except urllib.error.HTTPError as e:
            return int(e.code)
        except OSError:
            return 0

    assert wait_for(lambda: health() == 200)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            HOLD_LOCK,
            str(lab.path),
            "4",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    assert wait_for(lambda: health() == 503, timeout=8)  # no cycle finished for > 2 intervals
    holder.wait(timeout=10)
    assert wait_for(lambda: health() == 200, timeout=10)
    text = err.read_text()
    assert "warehouse is locked by another process; delaying the cycle" in text
    assert "maximum number of running instances reached" in text  # skipped, not overlapped
    stop(proc, tmp_path)


# `featmon check` with featmon's INFO log lines on stderr (the command configures no logging,
# so it prints only warnings): they show when a run waits for another.
CHECK_LOGGING_INFO = (
    "import logging, sys; logging.basicConfig(stream=sys.stderr); "
    "logging.getLogger('featmon').setLevel(logging.INFO); "
    "from monitor.cli import main; main()"
)


def test_two_checks_started_together_notify_once(
    lab: Lab, slack: SlackStandIn, tmp_path: Path
) -> None:
    """Two overlapping `featmon check` runs: the first to notify claims the notification
    and posts; while Slack keeps it waiting it holds neither the DuckDB file nor the lease,
    so the other run gets through the lifecycle, sees the notification in flight, leaves it
    to the poster (and says so) and finishes with 0, all while the post is still held."""
    lab.add_store("a", quality=87.59)
    lab.add_prediction("a", quality=65.46)
    lab.flush()
    config = config_for(lab, slack, tmp_path)
    env = {**ENV, "FEATMON_NOW": "2026-02-03T05:00:00+00:00"}
    errs = [tmp_path / f"check-{i}.err" for i in range(2)]
    procs = []
    # The token tells the two runs apart in Slack's records.
    with slack.holding_posts(), errs[0].open("w") as err0, errs[1].open("w") as err1:
        for i, err in enumerate((err0, err1)):
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-c", CHECK_LOGGING_INFO, "check", "-c", str(config)],
                    cwd=ROOT,
                    env={**env, "TEST_SLACK_TOKEN": f"xoxb-run-{i}"},
                    stdout=subprocess.PIPE,
                    stderr=err,
                    text=True,
                )
            )
        # One run posts and is held mid-delivery...
        assert wait_for(lambda: slack.methods() == ["chat.postMessage"], timeout=60)
        winner = [f"Bearer xoxb-run-{i}" for i in range(2)].index(slack.calls[0]["auth"])
        loser = 1 - winner
        # ...and the other is not stuck behind it: it finishes while the post is held.
        loser_out = procs[loser].communicate(timeout=30)[0]
        assert procs[winner].poll() is None  # still waiting on Slack
    winner_out = procs[winner].communicate(timeout=60)[0]
    logs = [e.read_text() for e in errs]
    assert [p.returncode for p in procs] == [0, 0], logs
    assert "notifications: sent=1 pending=0 reconciled=0" in winner_out, logs
    assert "notifications: sent=0 pending=1 reconciled=0" in loser_out, logs
    assert "being sent by another featmon run right now: left to it" in logs[loser]
    assert slack.methods() == ["chat.postMessage"]
    assert {c["auth"] for c in slack.calls} == {f"Bearer xoxb-run-{winner}"}
    # Both went through the lease and released it: free for whoever comes next.
    with DuckDBWarehouse(lab.path) as wh:
        [(expires,)] = wh.con.execute(
            "SELECT expires_at FROM featmon_state.leases WHERE name = 'notify'"
        ).fetchall()
    assert expires.year == 1970
    # A later run delivers anything the loser could not (and still no duplicate).
    later = featmon("check", "-c", str(config), env=env)
    assert later.returncode == 0
    assert "notifications: sent=0 pending=0 reconciled=0" in later.stdout
    assert slack.methods() == ["chat.postMessage"]


def test_sigterm_flushes_pending_notifications(
    lab: Lab,
    slack: SlackStandIn,
    tmp_path: Path,
    daemon: Callable[..., subprocess.Popen[str]],
) -> None:
    lab.add_store("a", quality=87.59)
    lab.add_prediction("a", quality=65.46)
    lab.flush()
    config = config_for(lab, slack, tmp_path, schedule={"every": "1h"})
    slack.down = True
    proc = daemon(config)
    err = tmp_path / "daemon.err"
    assert wait_for(lambda: err.exists() and "heartbeat" in err.read_text())
    assert slack.methods() == []  # the first cycle could not deliver: pending
    slack.down = False
    log = stop(proc, tmp_path)  # no further cycle within the hour: only the flush can send
    assert slack.methods() == ["chat.postMessage"]
    assert "flushed pending notifications: sent=1 still pending=0" in log


def test_a_schedule_group_resolves_left_window_alerts_of_its_own_checks_only(
    lab: Lab, slack: SlackStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With per-check schedules each cycle runs a subset of the checks over the configured
    window. The day after an alert fired, the window no longer holds its date: the cycle of
    another check leaves it alone, the cycle of its own check resolves it."""
    from monitor.config import load_config
    from monitor.pipeline.daemon import groups, scheduled_run

    config = incident_config(lab, tmp_path, {"slack": slack_settings(slack)})
    assert check(config, T0).returncode == 0
    assert slack.methods() == ["chat.postMessage"]
    data = yaml.safe_load(config.read_text())
    data["window"] = {"from": "2026-02-04", "to": "2026-02-04"}
    data["checks"]["stale_predictions"] = {"schedule": {"every": "1h"}}
    write_config(config, data)
    monkeypatch.setenv("TEST_SLACK_TOKEN", ENV["TEST_SLACK_TOKEN"])
    monkeypatch.setenv("FEATMON_NOW", (T0 + dt.timedelta(days=1)).isoformat())
    loaded, _ = load_config(str(config))
    plan = {checks[0]: checks for checks in groups(loaded).values()}
    assert set(plan) == {"stale_predictions", "quality_mismatch"}  # two cycles

    scheduled_run(loaded, plan["stale_predictions"], None)
    assert slack.methods() == ["chat.postMessage"]
    listing = featmon("alerts", "-c", str(config), env=ENV).stdout
    assert listing.startswith("firing   critical quality_mismatch 2026-02-03")

    scheduled_run(loaded, plan["quality_mismatch"], None)
    assert slack.methods() == ["chat.postMessage", "chat.update", "chat.postMessage"]
    assert "Resolved: the game date left the checked window" in json.dumps(slack.calls[-1])
    assert featmon("alerts", "-c", str(config), env=ENV).stdout == "no firing alerts\n"
