"""The fault suite's incident: the alerting scenario's quality mismatch on several game
dates (one alert each), so a run has several notifications to deliver and the tests can
see whether a broken sink costs one call or one per alert."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import yaml

from tests.alerts.scenario import incident_config
from tests.lab import DAY, Lab, utc, write_config
from tests.peers.slack import SlackStandIn

ALERTS = 5
T0 = dt.datetime(2026, 2, 8, 5, 0, tzinfo=dt.UTC)


def several_alerts(lab: Lab, tmp_path: Path, alerts: dict[str, Any], n: int = ALERTS) -> Path:
    """`n` firing alerts (game dates DAY .. DAY+n-1) alerting through `alerts`."""
    for i in range(1, n):
        day = DAY + dt.timedelta(days=i)
        lab.add_store("a", quality=87.59, written_at=utc("22:30", day), day=day)
        for _ in range(3):
            lab.add_prediction("a", quality=65.46, made_at=utc("23:12:42", day), day=day)
    path = incident_config(lab, tmp_path, alerts)
    data = yaml.safe_load(path.read_text())
    last = DAY + dt.timedelta(days=n - 1)
    data["window"] = {"from": DAY.isoformat(), "to": last.isoformat()}
    return write_config(path, data)


def slack_at(base_url: str, **alerts: Any) -> dict[str, Any]:
    """An `alerts` section: Slack at `base_url` with a 1 s call timeout and a 5 s delivery
    deadline (short, so a hung peer shows in seconds)."""
    return {
        "slack": {
            "token": "${TEST_SLACK_TOKEN}",
            "base_url": base_url,
            "channels": {"critical": "#nba-alerts", "warning": "#nba-alerts"},
            "max_retries": 0,
            "timeout": "1s",
        },
        "delivery_deadline": "5s",
        **alerts,
    }


def repoint(config: Path, base_url: str) -> Path:
    """The same config (and so the same state) with Slack somewhere else: Slack is back."""
    data = yaml.safe_load(config.read_text())
    data["alerts"]["slack"]["base_url"] = base_url
    return write_config(config, data)


def posted_fingerprints(slack: SlackStandIn) -> list[str]:
    """The alerts the top-level messages announced (from their metadata), in order: one
    message per group, here one alert per group (each on its own game date)."""
    return [
        str(fingerprint)
        for m in slack.messages
        if (m.get("metadata") or {}).get("event_type") == "featmon_alert"
        for fingerprint in m["metadata"]["event_payload"]["fingerprints"]
    ]


def blocks_text(call: dict[str, Any]) -> str:
    return json.dumps(call["body"].get("blocks"))
