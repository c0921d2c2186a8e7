"""Acting from the message: the commands a posted Slack message prints, run as printed (from
another directory, with the config the run used), and the regeneration request sent with
curl to a coordinator stand-in."""

from __future__ import annotations

import datetime as dt
import json
import re
import shlex
import subprocess
from pathlib import Path

import yaml

from tests.alerts.scenario import ENV, check, setup
from tests.lab import DAY, Lab, featmon, write_config
from tests.peers.coordinator import Coordinator
from tests.peers.slack import SlackStandIn

T0 = dt.datetime(2026, 2, 3, 5, 0, tzinfo=dt.UTC)  # midnight in New York: DAY not yet played


def posted_steps(slack: SlackStandIn) -> str:
    """The next-steps section of the first message posted."""
    post = next(c for c in slack.calls if c["method"] == "chat.postMessage")
    sections = [b["text"]["text"] for b in post["body"]["blocks"] if b["type"] == "section"]
    return next(s for s in sections if s.startswith("• "))


def spans(text: str, program: str) -> list[str]:
    return re.findall(rf"`({program} [^`]*)`", text)


def run_printed(command: str, cwd: Path, at: dt.datetime) -> subprocess.CompletedProcess[str]:
    """A printed `featmon ...` command, split as a shell would, run in a fresh process."""
    words = shlex.split(command)
    assert words[0] == "featmon"
    return featmon(*words[1:], cwd=cwd, env={**ENV, "FEATMON_NOW": at.isoformat()})


def test_the_printed_commands_work_as_printed(
    lab: Lab, slack: SlackStandIn, tmp_path: Path
) -> None:
    config = setup(lab, slack, tmp_path)
    check(config, T0)
    steps = posted_steps(slack)
    commands = spans(steps, "featmon")
    assert len(commands) >= 5
    # The run used a non-default config: every command names it, so it works from anywhere.
    assert all(shlex.split(c)[-2:] == ["--config", str(config)] for c in commands), commands
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    [silence] = [c for c in commands if c.startswith("featmon silence add")]
    muted = run_printed(silence, elsewhere, T0 + dt.timedelta(minutes=1))
    assert muted.returncode == 0, muted.stderr
    assert "matches 1 firing alert: quality_mismatch 2026-02-03" in muted.stdout
    for command in commands:
        if command.startswith(("featmon silence", "featmon timeline")):
            continue  # muted above; the timeline's PNG is drawn by its own tests
        proc = run_printed(command, elsewhere, T0 + dt.timedelta(minutes=2))
        assert proc.returncode == 0, (command, proc.stderr)


def test_the_regeneration_request_is_sent_as_printed(
    lab: Lab, slack: SlackStandIn, coordinator: Coordinator, tmp_path: Path
) -> None:
    config = setup(lab, slack, tmp_path)
    data = yaml.safe_load(config.read_text())
    data["remediation"] = {"coordinator_url": coordinator.url}
    write_config(config, data)
    check(config, T0)
    [request] = spans(posted_steps(slack), "curl")
    sent = subprocess.run(
        ["bash", "-c", request + " --silent --fail"],
        env={"PATH": "/usr/bin:/bin", "COORDINATOR_API_KEY": "k-123"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout)["status"] == "accepted"
    [got] = coordinator.requests
    assert got["key"] == "k-123"
    assert got["body"]["game_date"] == DAY.isoformat()
    assert got["body"]["reason"] == "featmon quality_mismatch"


def test_no_regeneration_once_the_date_is_played(
    lab: Lab, slack: SlackStandIn, tmp_path: Path
) -> None:
    config = setup(lab, slack, tmp_path)
    data = yaml.safe_load(config.read_text())
    data["remediation"] = {"coordinator_url": "https://coordinator.example"}
    write_config(config, data)
    check(config, T0 + dt.timedelta(days=1))  # 2026-02-04 in New York: DAY is played
    steps = posted_steps(slack)
    assert not spans(steps, "curl") and "regenerate" not in steps
    assert "games are played" in steps


def test_a_cannot_run_alert_names_the_config_key_and_validate(
    lab: Lab, slack: SlackStandIn, tmp_path: Path
) -> None:
    config = setup(lab, slack, tmp_path)
    broken = yaml.safe_load(config.read_text())
    broken["predictions"]["quality"] = [{"column": "renamed_quality"}]
    broken_path = write_config(tmp_path / "broken.yaml", broken)
    assert check(broken_path, T0).returncode == 3
    steps = posted_steps(slack)
    assert "`predictions.quality[0].column`" in steps
    assert "featmon impact" not in steps
    [validate] = [c for c in spans(steps, "featmon") if " validate" in c]
    assert shlex.split(validate) == ["featmon", "validate", "--config", str(broken_path)]
    assert run_printed(validate, tmp_path, T0).returncode == 0  # the config parses: the
    # warehouse lacks the column, which the message's key and the database error say


def test_the_coordinator_url_must_be_http(tmp_path: Path, lab: Lab) -> None:
    data = lab.config_data(remediation={"coordinator_url": "coordinator.internal"})
    proc = featmon("validate", "-c", str(write_config(tmp_path / "c.yaml", data)))
    assert proc.returncode == 2
    assert "remediation.coordinator_url" in proc.stderr
