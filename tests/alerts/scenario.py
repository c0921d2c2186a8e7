"""The alerting scenario several tests share: one player whose three predictions logged
quality 65.46 while the store has 87.59 (a critical quality_mismatch), alerting to the
Slack stand-in, checked by separate `featmon check` processes at chosen clock times."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path
from typing import Any

from alerts.model import Alert
from alerts.sinks.slack_message import SlackMessage, group_message, preview_group
from alerts.steps import StepContext
from monitor.demo.schema import PREDICTIONS_TABLE
from monitor.warehouse.duckdb import DuckDBWarehouse
from tests.lab import Lab, featmon, utc, write_config
from tests.peers.slack import SlackStandIn

TOKEN = "xoxb-test-token"
# The environment of a featmon process whose config reads the token from TEST_SLACK_TOKEN.
ENV = {**os.environ, "TEST_SLACK_TOKEN": TOKEN}


def message_of(
    alert: Alert,
    zone: dt.tzinfo = dt.UTC,
    runbook_url: str | None = None,
    steps: StepContext | None = None,
) -> SlackMessage:
    """One alert's Slack message: the first message of a group it is alone in."""
    return group_message(preview_group([alert], ["game_date"]), runbook_url, None, steps, zone=zone)


def incident_config(lab: Lab, tmp_path: Path, alerts: dict[str, Any]) -> Path:
    """The incident's rows in the lab warehouse, and a config that alerts through `alerts`."""
    lab.add_store("a", quality=87.59, written_at=utc("22:30"))
    for _ in range(3):
        lab.add_prediction("a", quality=65.46, made_at=utc("23:12:42"))
    lab.flush()
    data = lab.config_data()
    data["checks"] = {"quality_mismatch": {"severity": "critical", "tolerance": 0.5}}
    data["alerts"] = {
        "repeat_interval": "4h",
        "runbook_url": "https://runbooks.example/featmon",
        **alerts,
    }
    return write_config(tmp_path / "featmon.yaml", data)


def setup(lab: Lab, slack: SlackStandIn, tmp_path: Path, **alerts: Any) -> Path:
    """The incident alerting to the Slack stand-in (plus console and JSON log lines)."""
    return incident_config(
        lab,
        tmp_path,
        {
            "console": {},
            "cloud_logging": {"format": "json"},
            "slack": {
                "token": "${TEST_SLACK_TOKEN}",
                "base_url": slack.base_url,
                "channels": {"critical": "#nba-alerts", "warning": "#nba-alerts"},
                "max_retries": 0,
            },
            **alerts,
        },
    )


def fix_predictions(lab: Lab) -> None:
    """The fix: every prediction now logs the store's quality."""
    wh = DuckDBWarehouse(lab.path, read_only=False)
    wh.execute(f"UPDATE {PREDICTIONS_TABLE} SET feature_quality_score = 87.59")
    wh.close()


def check(config: Path, at: dt.datetime, **env: str) -> subprocess.CompletedProcess[str]:
    return featmon(
        "check",
        "-c",
        str(config),
        env={**ENV, "FEATMON_NOW": at.isoformat(), **env},
    )
