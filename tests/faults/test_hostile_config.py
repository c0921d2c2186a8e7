"""Hostile config (issue 12, findings 1 and 7): a config that monitors nothing, or holds a
value that only looks valid, is refused at load with exit 2 naming the field, never run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.config import ConfigError, parse_config
from tests.lab import default_config_data, featmon


def problems(data: Any) -> list[str]:
    with pytest.raises(ConfigError) as e:
        parse_config(data, env={})
    return e.value.problems


def with_(path: str, value: Any) -> dict[str, Any]:
    data = default_config_data()
    node = data
    *parents, last = path.split(".")
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    return data


NOTHING = "no check is enabled, so featmon would monitor nothing"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "(root): the config is empty: nothing to monitor"),
        ("# only a comment\n\n# and another\n", "(root): the config is empty: nothing to monitor"),
        ("timezone: America/New_York\n", f"checks: {NOTHING}"),
        (
            "checks:\n  stale_predictions: {enabled: false}\n  low_quality: {enabled: false}\n",
            f"checks: {NOTHING}",
        ),
        ("checks: {}\n", f"checks: {NOTHING}"),
    ],
    ids=["empty", "comment-only", "no-checks", "all-disabled", "empty-checks"],
)
def test_a_config_that_monitors_nothing_exits_2_for_validate_and_check(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "featmon.yaml"
    path.write_text(text)
    for command in ("validate", "check"):
        proc = featmon(command, "-c", str(path))
        assert proc.returncode == 2, (command, proc.stdout, proc.stderr)
        assert f"featmon: config error: {expected}" in proc.stderr
        assert "Traceback" not in proc.stderr
        assert proc.stdout == ""


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("checks.low_quality.threshold", True, "Input should be a valid number (got a boolean)"),
        ("checks.low_quality.threshold", "1e400", "Input should be a valid number (got a string)"),
        ("checks.low_quality.threshold", float("inf"), "Input should be a finite number"),
        ("checks.quality_mismatch.tolerance", float("nan"), "Input should be a finite number"),
        ("checks.feature_mismatch.abs_tolerance", "0.05", "Input should be a valid number"),
        ("checks.missing_quality.max_ratio", -float("inf"), "Input should be a finite number"),
        ("checks.hit_rate_drop.min_graded", 20.5, "Input should be a valid integer"),
        ("max_examples", True, "Input should be a valid integer (got a boolean)"),
        ("budget.usd_per_tib", float("inf"), "Input should be a finite number"),
        ("checks.stale_predictions.enabled", "yes", "Input should be a valid boolean"),
        ("schedule", {"every": "0s"}, "`every` must be longer than 0"),
        ("checks.stale_predictions.schedule", {"every": "0m"}, "`every` must be longer than 0"),
        ("warehouse.memory_limit", "lots", "'lots' is not a memory size like 4GB"),
        ("warehouse.memory_limit", "0GB", "'0GB' is not a memory size"),
        ("warehouse.memory_limit", "100", "'100' is not a memory size"),
        ("warehouse.threads", "4", "Input should be a valid integer (got a string)"),
        ("alerts.runbook_url", "javascript:alert(1)", "`runbook_url` must be an http"),
        (
            "checks.store_freshness.must_be_written_by",
            1020,  # YAML reads an unquoted 17:00 as the sexagesimal integer 1020
            "Input should be a valid string (got a number)",
        ),
    ],
)
def test_a_bad_value_names_its_field(path: str, value: Any, expected: str) -> None:
    field = "warehouse.duckdb." + path.split(".", 1)[1] if path.startswith("warehouse.") else path
    found = problems(with_(path, value))
    assert any(p.startswith(f"{field}: {expected}") for p in found), found


SLACK = {"token": "${SLACK_BOT_TOKEN}"}


@pytest.mark.parametrize(
    ("alerts", "expected"),
    [
        (
            {"slack": {**SLACK, "channels": {}}},
            "alerts.slack.channels: give at least one channel, e.g. {critical: '#alerts'}",
        ),
        (
            {"slack": {**SLACK, "channels": {"critical": "#a", "warning": "#a", "info": " "}}},
            "alerts.slack.channels: channel name is blank for: info",
        ),
        (
            {"slack": {**SLACK, "base_url": "ftp://slack.example/api/"}},
            "alerts.slack.base_url: `base_url` must be an http:// or https:// URL",
        ),
        (
            {"webhook": {"url": "ftp://hooks.example/x"}},
            "alerts.webhook.url: `url` must be an http:// or https:// URL",
        ),
        (
            {"webhook": {"url": "https://ok.example", "external_url": "file:///etc"}},
            "alerts.webhook.external_url: `external_url` must be an http:// or https:// URL",
        ),
    ],
    ids=["no-channels", "blank-channel", "slack-ftp", "webhook-ftp", "external-file"],
)
def test_sinks_that_cannot_deliver_are_refused(alerts: dict[str, Any], expected: str) -> None:
    data = default_config_data()
    data["alerts"].update(alerts)
    assert expected in problems(data)


def test_a_bad_value_exits_2_from_the_command_line_naming_the_field(tmp_path: Path) -> None:
    data = default_config_data()
    data["checks"]["low_quality"]["threshold"] = True
    data["warehouse"]["memory_limit"] = "lots"
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data))
    proc = featmon("validate", "-c", str(path))
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines() == [
        "featmon: config error: warehouse.duckdb.memory_limit: 'lots' is not a memory size "
        "like 4GB, 512MiB or 80%",
        "featmon: config error: checks.low_quality.threshold: Input should be a valid number "
        "(got a boolean)",
    ]


def test_a_memory_limit_duckdb_accepts_is_accepted() -> None:
    for value in ("4GB", "512MiB", "1.5 GB", "80%"):
        assert parse_config(with_("warehouse.memory_limit", value), env={}).warehouse
