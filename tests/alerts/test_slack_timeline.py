"""The timeline PNG in a new alert's Slack thread (files_upload_v2 against the local Slack
stand-in), and the alert still going out when the bot may not upload files."""

from __future__ import annotations

import struct
from pathlib import Path

from tests.alerts.scenario import check, setup
from tests.lab import Lab, utc
from tests.peers.slack import SlackStandIn

T0 = utc("23:30")


def attaching(lab: Lab, slack: SlackStandIn, tmp_path: Path) -> Path:
    path = setup(lab, slack, tmp_path)
    text = path.read_text().replace("max_retries: 0", "max_retries: 0\n    attach_timeline: true")
    path.write_text(text)
    return path


def test_a_new_alert_gets_the_timeline_png_in_its_thread(
    lab: Lab, slack: SlackStandIn, tmp_path: Path
) -> None:
    config = attaching(lab, slack, tmp_path)
    run = check(config, T0)
    assert run.returncode == 0, run.stderr
    post = next(c["body"] for c in slack.calls if c["method"] == "chat.postMessage")
    assert "featmon timeline --date 2026-02-03" in str(post["blocks"])  # the link stays
    [complete] = [c["body"] for c in slack.calls if c["method"] == "files.completeUploadExternal"]
    assert complete["channel_id"] == "C1"
    assert complete["thread_ts"] == slack.messages[0]["ts"]
    [image] = slack.uploads
    assert image[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", image[16:24]) == (1100, 500)
    # Only new alerts carry it: a rerun uploads nothing more.
    assert check(config, T0.replace(minute=35)).returncode == 0
    assert len(slack.uploads) == 1


def test_without_files_write_the_alert_still_goes_out(
    lab: Lab, slack: SlackStandIn, tmp_path: Path
) -> None:
    slack.upload_error = "missing_scope"
    config = attaching(lab, slack, tmp_path)
    run = check(config, T0)
    assert run.returncode == 0, run.stderr
    assert "notifications: sent=1 pending=0" in run.stdout
    assert slack.uploads == []
    assert "timeline not attached: missing_scope (the bot needs files:write)" in run.stderr
