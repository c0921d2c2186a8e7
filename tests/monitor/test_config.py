"""Config loading: every problem names its field, exits 2, and never shows a traceback."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.config import ConfigError, load_config, parse_config
from tests.lab import ROOT, default_config_data, featmon


def problems(data: Any, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as e:
        parse_config(data, env=env or {})
    return e.value.problems


def with_(path: str, value: Any) -> dict[str, Any]:
    data = default_config_data()
    node = data
    keys = path.split(".")
    for key in keys[:-1]:
        node = node[int(key)] if isinstance(node, list) else node[key]
    last = keys[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return data


def test_the_shipped_config_is_valid() -> None:
    config = parse_config(default_config_data())
    assert list(config.enabled_checks()) == [
        "stale_predictions",
        "quality_mismatch",
        "feature_mismatch",
        "missing_quality",
        "low_quality",
        "missing_features",
        "store_freshness",
        "prediction_volume",
        "hit_rate_drop",
    ]
    assert config.history is not None and config.history.log_table is not None
    assert config.grading is not None and config.grading.high_edge == 5
    assert config.predictions.quality[3].path == ["$.features_snapshot", "$.feature_quality_score"]


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("colour", "red", "colour: Extra inputs are not permitted"),
        (
            "checks.stale_predictions.severity",
            "loud",
            "checks.stale_predictions.severity: Input should be",
        ),
        (
            "checks.quality_mismatch.tolerance",
            -1,
            "checks.quality_mismatch.tolerance: Input should be greater than or equal to 0",
        ),
        ("checks.no_such_check", {}, "checks.no_such_check: Extra inputs are not permitted"),
        ("feature_store.table", "x; DROP TABLE y", "feature_store.table: "),
        (
            "predictions.id_column",
            "id-col",
            "predictions.id_column: 'id-col' is not a plain identifier",
        ),
        (
            "predictions.quality.1.path",
            "features_snapshot",
            "predictions.quality[1].path[0]: 'features_snapshot' is not a supported JSONPath",
        ),
        (
            "predictions.quality.0",
            {"column": "q", "json_column": "c", "path": "$.q"},
            "predictions.quality[0]: give exactly one of `column` or `json_column`",
        ),
        (
            "predictions.quality.0",
            {"json_column": "c"},
            "predictions.quality[0]: `json_column` needs a `path`",
        ),
        (
            "predictions.where",
            "prediction_id IN (SELECT id FROM other)",
            "predictions.where: must be a scalar expression over columns",
        ),
        (
            "predictions.where",
            "is_active; DROP TABLE x",
            "predictions.where: must be a single expression",
        ),
        (
            "predictions.where",
            "COUNT(*) > 1",
            "predictions.where: must be a scalar expression over columns",
        ),
        ("predictions.made_at", "p.predicted_at", "predictions.made_at: use bare column names"),
        ("predictions.made_at", "COALESCE(predicted_at,", "predictions.made_at: not valid SQL"),
        (
            "feature_store.written_at",
            "@now",
            "feature_store.written_at: must be a scalar expression over columns, found a parameter",
        ),
        ("timezone", "Mars/Olympus", "timezone: unknown time zone 'Mars/Olympus'"),
        (
            "window",
            {"from": "2026-02-05", "to": "2026-02-01"},
            "window: `from` (2026-02-05) is after `to`",
        ),
        ("window", {"from": "2026-02-05"}, "window: give both `from` and `to`"),
        (
            "predictions.keys",
            ["player_lookup"],
            "predictions.keys: must pair one-to-one with feature_store.keys",
        ),
        ("predictions.features", {}, "checks.feature_mismatch: needs predictions.features"),
        (
            "alerts",
            {"slack": {"token": "x", "webhook_url": "y"}},
            "alerts.slack: give exactly one of `token` or `webhook_url`",
        ),
        (
            "alerts",
            {"inhibit": [{"source": "nope", "target": "stale_predictions"}]},
            "alerts.inhibit[0].source: unknown check 'nope'",
        ),
        (
            "alerts",
            {"repeat_interval": "4 hours"},
            "alerts.repeat_interval: '4 hours' is not a duration",
        ),
    ],
)
def test_each_problem_names_its_field(path: str, value: Any, expected: str) -> None:
    found = problems(with_(path, value))
    assert any(p.startswith(expected) for p in found), found


def test_several_problems_are_all_reported() -> None:
    data = with_("colour", "red")
    data["predictions"]["id_column"] = "1bad"
    found = problems(data)
    assert len(found) == 2
    assert {p.split(":")[0] for p in found} == {"colour", "predictions.id_column"}


def test_listed_check_without_settings_is_enabled() -> None:
    data = default_config_data()
    data["checks"] = {"stale_predictions": None, "missing_features": {"enabled": False}}
    assert list(parse_config(data).enabled_checks()) == ["stale_predictions"]


def test_interpolation_with_default_and_env() -> None:
    data = with_("warehouse", {"backend": "duckdb", "path": "${WH_PATH:-fallback.duckdb}"})
    assert parse_config(data, env={}).warehouse.path == "fallback.duckdb"
    assert parse_config(data, env={"WH_PATH": "x.duckdb"}).warehouse.path == "x.duckdb"
    data = with_("warehouse", {"backend": "duckdb", "path": "${WH_PATH}"})
    assert problems(data) == ["warehouse.path: environment variable WH_PATH is not set"]


def test_dollar_dollar_is_a_literal_dollar_and_json_paths_are_untouched() -> None:
    data = with_("warehouse", {"backend": "duckdb", "path": "a$$b.duckdb"})
    config = parse_config(data, env={})
    assert config.warehouse.path == "a$b.duckdb"
    assert config.predictions.quality[1].path == ["$.feature_quality_score"]


def test_file_lookup_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def write(name: str, tz: str) -> Path:
        data = default_config_data()
        data["timezone"] = tz
        path = tmp_path / name
        path.write_text(yaml.safe_dump(data))
        return path

    write("config.yaml", "UTC")
    env_file = write("env.yaml", "Europe/Paris")
    explicit = write("explicit.yaml", "Asia/Tokyo")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FEATMON_CONFIG", raising=False)
    assert load_config()[0].timezone == "UTC"
    monkeypatch.setenv("FEATMON_CONFIG", str(env_file))
    assert load_config()[0].timezone == "Europe/Paris"
    assert load_config(str(explicit))[0].timezone == "Asia/Tokyo"


def test_relative_warehouse_path_is_resolved_from_the_config_folder(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "c.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(default_config_data()))
    config, _ = load_config(str(path))
    assert config.warehouse_path() == path.parent / ".featmon" / "demo.duckdb"


def test_yaml_syntax_error_points_at_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("warehouse:\n  backend: duckdb\n  path: [unclosed\n")
    with pytest.raises(ConfigError) as e:
        load_config(str(path))
    assert e.value.problems[0].startswith(f"{path}:")
    assert "invalid YAML" in e.value.problems[0]


def test_bad_config_exits_2_with_one_line_per_problem_and_no_traceback(tmp_path: Path) -> None:
    data = default_config_data()
    data["predictions"]["quality"][1]["path"] = "nope"
    data["checks"]["low_quality"]["threshold"] = "high"
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data))
    for command in ("check", "validate", "impact"):
        proc = featmon(command, "-c", str(path))
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert lines == [
            "featmon: config error: predictions.quality[1].path[0]: 'nope' is not a supported "
            "JSONPath (use $.key, $.key.sub or $.key[0])",
            "featmon: config error: checks.low_quality.threshold: Input should be a valid number "
            "(got a string)",
        ]
        assert proc.stdout == ""


def test_missing_config_file_exits_2(tmp_path: Path) -> None:
    proc = featmon("validate", "-c", str(tmp_path / "nope.yaml"))
    assert proc.returncode == 2
    assert "config file not found" in proc.stderr and "Traceback" not in proc.stderr


def test_validate_ok() -> None:
    proc = featmon("validate", "-c", str(ROOT / "config.yaml"))
    assert proc.returncode == 0, proc.stderr
    assert "ok" in proc.stdout and "stale_predictions" in proc.stdout


LINE = "predictions.features.vegas_points_line"
STORE_COPY = {"json_column": "critical_features", "path": "$.fs_vegas_points_line"}
LIVE = {"json_column": "critical_features", "path": "$.vegas_points_line", "live": True}


def test_the_shipped_configs_compare_the_store_copy_of_the_line_and_not_the_live_one() -> None:
    for name in ("config.yaml", "config.bigquery.yaml"):
        data = yaml.safe_load((ROOT / name).read_text())
        line = parse_config(data, env={}).predictions.features["vegas_points_line"]
        assert [(loc.path, loc.live) for loc in line] == [
            (["$.fs_vegas_points_line"], False),
            (["$.fs_vegas_points_line"], False),
            (["$.vegas_points_line"], True),
            (["$.vegas_points_line"], True),
        ], name
        assert [loc.json_column for loc in line[::2]] == ["critical_features"] * 2, name


@pytest.mark.parametrize(
    ("locations", "expected"),
    [
        (
            [STORE_COPY, {**LIVE, "live": "sometimes"}],
            f"{LINE}[1].live: Input should be a valid boolean (got a string)",
        ),
        (
            [STORE_COPY, {**LIVE, "live": 1}],
            f"{LINE}[1].live: Input should be a valid boolean (got a number)",
        ),
        (
            [LIVE, STORE_COPY],
            f"{LINE}: [1] is store-side but comes after live [0]: the first location holding "
            "a number wins, so list the store-side locations first and the live ones after",
        ),
        (
            [LIVE, {**LIVE, "path": "$.line"}],
            f"{LINE}: every location is live, so nothing would be compared with the store: "
            "list a store-side copy first (such as $.fs_vegas_points_line) or leave the "
            "feature out",
        ),
    ],
    ids=["not-a-bool", "an-int", "live-first", "all-live"],
)
def test_live_locations_are_validated(locations: list[dict[str, Any]], expected: str) -> None:
    data = default_config_data()
    data["predictions"]["features"]["vegas_points_line"] = locations
    assert problems(data) == [expected]


def test_quality_is_never_a_live_input() -> None:
    data = default_config_data()
    data["predictions"]["quality"][1]["live"] = True
    assert problems(data) == [
        "predictions.quality[1].live: the feature quality is never a live input "
        "(`live` applies to predictions.features locations)"
    ]


def test_a_live_location_first_exits_2_naming_the_feature(tmp_path: Path) -> None:
    data = default_config_data()
    data["predictions"]["features"]["vegas_points_line"] = [LIVE, STORE_COPY]
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data))
    proc = featmon("validate", "-c", str(path))
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"featmon: config error: {LINE}: [1] is store-side")


def secret_config(tmp_path: Path, alerts: dict[str, Any]) -> Path:
    data = default_config_data()
    data["alerts"] = alerts
    path = tmp_path / "secret.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def without(*names: str) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in names}


def test_validate_warns_about_an_unset_secret_and_strict_refuses_it(tmp_path: Path) -> None:
    path = secret_config(tmp_path, {"slack": {"token": "${SLACK_BOT_TOKEN}"}})
    proc = featmon("validate", "-c", str(path), env=without("SLACK_BOT_TOKEN"))
    assert proc.returncode == 0, proc.stderr
    assert "ok" in proc.stdout
    assert (
        "featmon: warning: alerts.slack.token: environment variable SLACK_BOT_TOKEN is not set"
        in proc.stderr
    )
    strict = featmon("validate", "--strict", "-c", str(path), env=without("SLACK_BOT_TOKEN"))
    assert strict.returncode == 2
    assert "SLACK_BOT_TOKEN" in strict.stderr and "Traceback" not in strict.stderr


def test_validate_with_the_secret_set_is_quiet_and_never_prints_it(tmp_path: Path) -> None:
    secret = "xoxb-never-printed-4242"
    path = secret_config(
        tmp_path,
        {
            "slack": {"token": "${SLACK_BOT_TOKEN}"},
            "webhook": {"url": "${HOOK_URL}", "headers": {"Authorization": "${HOOK_AUTH}"}},
        },
    )
    env = {**os.environ, "SLACK_BOT_TOKEN": secret, "HOOK_URL": f"https://h.example/{secret}"}
    env["HOOK_AUTH"] = f"Bearer {secret}"
    proc = featmon("validate", "--strict", "-c", str(path), env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert secret not in proc.stdout + proc.stderr


def test_validate_warns_when_no_notifier_is_configured(tmp_path: Path) -> None:
    path = secret_config(tmp_path, {"console": {}})
    proc = featmon("validate", "-c", str(path))
    assert proc.returncode == 0, proc.stderr
    assert "warning: no notifier configured" in proc.stderr
    assert featmon("validate", "--strict", "-c", str(path)).returncode == 2


def test_a_secret_keeps_its_reference_and_other_fields_still_fail_at_load() -> None:
    data = default_config_data()
    data["alerts"] = {
        "slack": {"token": "${SLACK_BOT_TOKEN}"},
        "webhook": {"url": "${HOOK_URL}", "headers": {"X-Token": "${HOOK_TOKEN}"}},
    }
    config = parse_config(data, env={})
    assert config.alerts.slack is not None and config.alerts.slack.token is not None
    assert config.alerts.slack.token.get_secret_value() == "${SLACK_BOT_TOKEN}"
    assert config.alerts.webhook is not None
    assert config.alerts.webhook.headers["X-Token"].get_secret_value() == "${HOOK_TOKEN}"
    data["alerts"]["runbook_url"] = "${RUNBOOK}"
    with pytest.raises(ConfigError, match="runbook_url: environment variable RUNBOOK"):
        parse_config(data, env={})


def test_every_secret_field_of_the_models_is_resolved_only_when_sending() -> None:
    """SECRET_FIELDS (kept unresolved at load) lists exactly the models' SecretStr fields: a
    new secret field cannot be forgotten there, nor a listed one stop being secret."""
    import types
    import typing

    from pydantic import BaseModel, SecretStr

    from monitor.config import Config
    from monitor.config.loading import SECRET_FIELDS

    def secret_paths(model: type[BaseModel], prefix: str) -> set[str]:
        found: set[str] = set()
        for name, field in model.model_fields.items():
            path = f"{prefix}{name}"
            annotation = field.annotation
            union = isinstance(annotation, types.UnionType) or (
                typing.get_origin(annotation) is typing.Union
            )
            for arg in typing.get_args(annotation) if union else (annotation,):
                if arg is SecretStr:
                    found.add(path)
                elif typing.get_origin(arg) is dict and typing.get_args(arg)[1] is SecretStr:
                    found.add(f"{path}.*")
                elif isinstance(arg, type) and issubclass(arg, BaseModel):
                    found |= secret_paths(arg, f"{path}.")
        return found

    assert secret_paths(Config, "") == set(SECRET_FIELDS)


def test_dimensions_are_plain_identifiers_listed_once(tmp_path: Path) -> None:
    data = default_config_data()
    data["predictions"]["dimensions"] = ["system_id", "system_id"]
    assert problems(data) == ["predictions.dimensions: system_id listed more than once"]
    data["predictions"]["dimensions"] = ["system_id; DROP TABLE x"]
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data))
    proc = featmon("validate", "-c", str(path))
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("featmon: config error: predictions.dimensions[0]: ")
    assert "is not a plain identifier" in proc.stderr
