"""Runs change only what they looked at: separate `featmon check` processes over one DuckDB
state, alerting to the Slack stand-in. A scheduled-equivalent run (`featmon check` with no
window flags and no `--only`, as the Cloud Run job runs) fires; an engineer's narrow runs
(`--only`, `--date`, `--from/--to`) must not resolve, repeat or update it behind the
schedule's back; only what a run evaluated and found passing resolves."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

import pytest
import yaml

from monitor.demo.schema import PREDICTIONS_TABLE
from monitor.warehouse.duckdb import DuckDBWarehouse
from tests.alerts.scenario import ENV, check, fix_predictions, setup
from tests.lab import DAY, Lab, featmon, utc, write_config
from tests.peers.slack import SlackStandIn

T0 = dt.datetime(2026, 2, 3, 5, 0, tzinfo=dt.UTC)
NEXT_DAY = (DAY + dt.timedelta(days=1)).isoformat()


def narrow(config: Path, at: dt.datetime, *args: str) -> subprocess.CompletedProcess[str]:
    """`featmon check` with the engineer's flags, at clock time `at`."""
    proc = featmon("check", "-c", str(config), *args, env={**ENV, "FEATMON_NOW": at.isoformat()})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def alerts(config: Path, *args: str) -> list[str]:
    """`featmon alerts` as lines: status, severity, check, game date, affected/total."""
    listing = featmon("alerts", "-c", str(config), *args, env=ENV).stdout
    return [" ".join(line.split()[:5]) for line in listing.splitlines()]


def resolutions(slack: SlackStandIn) -> list[str]:
    """The resolution replies Slack got (each resolution is a reply plus an edit)."""
    return [
        json.dumps(c["body"])
        for c in slack.calls
        if c["method"] == "chat.postMessage" and "Resolved:" in json.dumps(c["body"])
    ]


NARROW = {
    # The command: another check on another date.
    "only-another-check-another-date": ["--only", "stale_predictions", "--date", NEXT_DAY],
    "another-date": ["--date", NEXT_DAY],
    "another-range": ["--from", "2026-01-30", "--to", "2026-02-02"],
}


@pytest.mark.parametrize("args", list(NARROW.values()), ids=list(NARROW))
def test_a_narrow_run_leaves_the_schedules_alert_alone(
    lab: Lab, slack: SlackStandIn, tmp_path: Path, args: list[str]
) -> None:
    config = setup(lab, slack, tmp_path)
    assert check(config, T0).returncode == 0
    assert slack.methods() == ["chat.postMessage"]

    preview = narrow(config, T0 + dt.timedelta(minutes=5), "--dry-run", *args)
    assert "would notify" not in preview.stdout  # --dry-run previews with the same rule
    narrow(config, T0 + dt.timedelta(minutes=10), *args)
    assert slack.methods() == ["chat.postMessage"]  # nothing posted
    assert alerts(config) == ["firing critical quality_mismatch 2026-02-03 3/3"]

    fix_predictions(lab)
    assert check(config, T0 + dt.timedelta(minutes=15)).returncode == 0
    [reply] = resolutions(slack)  # one RESOLVED, from the schedule
    assert "Resolved: the check passes" in reply
    assert slack.methods()[1:] == ["chat.update", "chat.postMessage"]  # edit, then reply
    assert alerts(config, "--all") == ["resolved critical quality_mismatch 2026-02-03 3/3"]


def test_only_another_check_over_the_moved_window_leaves_the_alert_to_its_own_check(
    lab: Lab, slack: SlackStandIn, tmp_path: Path
) -> None:
    """The next day the configured window no longer holds the alert's date. A run of
    another check over that window did not evaluate the alert's check, so it does not
    resolve it; the next run that evaluates the check does ("left the window")."""
    config = setup(lab, slack, tmp_path)
    assert check(config, T0).returncode == 0
    data = yaml.safe_load(config.read_text())
    data["window"] = {"from": NEXT_DAY, "to": NEXT_DAY}
    write_config(config, data)

    narrow(config, T0 + dt.timedelta(days=1), "--only", "stale_predictions")
    assert slack.methods() == ["chat.postMessage"]
    assert alerts(config) == ["firing critical quality_mismatch 2026-02-03 3/3"]

    assert check(config, T0 + dt.timedelta(days=1, minutes=5)).returncode == 0
    [reply] = resolutions(slack)
    assert "Resolved: the game date left the checked window" in reply
    assert alerts(config) == ["no firing alerts"]


def test_a_narrow_run_over_the_alert_never_rebroadcasts_it(
    lab: Lab, slack: SlackStandIn, tmp_path: Path
) -> None:
    """Narrow runs that evaluate the firing alert and find it still failing neither repeat
    it nor post its growth; they refresh what `featmon alerts` shows, and leave both
    notifications to the schedule, on the schedule's clock."""
    config = setup(lab, slack, tmp_path)
    assert check(config, T0).returncode == 0

    at = T0 + dt.timedelta(hours=4)  # the repeat is due
    narrow(config, at, "--only", "quality_mismatch")
    assert slack.methods() == ["chat.postMessage"]
    for _ in range(2):  # and it grows: 5 of 5
        lab.add_prediction("a", quality=65.46, made_at=utc("23:20"))
    lab.flush()
    narrow(config, at + dt.timedelta(minutes=1), "--date", DAY.isoformat())
    assert slack.methods() == ["chat.postMessage"]
    assert alerts(config) == ["firing critical quality_mismatch 2026-02-03 5/5"]  # refreshed

    assert check(config, at + dt.timedelta(minutes=2)).returncode == 0
    # The schedule posts the growth and the repeat due: one edit, one reply in the thread.
    assert slack.methods()[1:] == ["chat.update", "chat.postMessage"]
    assert "*5 / 5 predictions (100.0%)*" in json.dumps(slack.calls[-2]["body"]["blocks"])
    reply = slack.calls[-1]["body"]
    assert reply["thread_ts"] == slack.messages[0]["ts"] and reply["reply_broadcast"] is True
    assert "grew: 5 / 5 predictions" in json.dumps(reply["blocks"])
    assert check(config, at + dt.timedelta(minutes=3)).returncode == 0
    assert slack.methods()[3:] == []  # the repeat went out with the growth


def test_a_narrow_run_resolves_exactly_what_it_looked_at(
    lab: Lab, slack: SlackStandIn, tmp_path: Path
) -> None:
    """Alerts on two dates; the first date is fixed. `--date` of that date evaluates the
    alert's check, date and feature and finds it passing: it resolves that alert (it looked
    at it), and leaves the other date's alert firing (it did not)."""
    tomorrow = DAY + dt.timedelta(days=1)
    lab.add_store("b", quality=87.59, written_at=utc("22:30", tomorrow), day=tomorrow)
    lab.add_prediction("b", quality=65.46, made_at=utc("23:12:42", tomorrow), day=tomorrow)
    config = setup(lab, slack, tmp_path)
    data = yaml.safe_load(config.read_text())
    data["window"] = {"from": DAY.isoformat(), "to": NEXT_DAY}
    write_config(config, data)
    assert check(config, T0).returncode == 0
    assert slack.methods() == ["chat.postMessage", "chat.postMessage"]

    with DuckDBWarehouse(lab.path, read_only=False) as wh:  # the fix, for DAY only
        wh.execute(
            f"UPDATE {PREDICTIONS_TABLE} SET feature_quality_score = 87.59 "
            f"WHERE game_date = DATE '{DAY}'"
        )
    narrow(config, T0 + dt.timedelta(minutes=5), "--only", "quality_mismatch", "--date", str(DAY))
    [reply] = resolutions(slack)
    assert "Resolved: the check passes" in reply and "2026-02-03" in reply
    assert alerts(config) == ["firing critical quality_mismatch 2026-02-04 1/1"]
