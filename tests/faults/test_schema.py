"""The config's JSON Schema (issue 12): `featmon schema` prints it from the validating
models, the committed docs/config.schema.json is that output, the shipped configs name it
on line 1 and satisfy it, and `--help` lists the exit codes."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
import yaml

from tests.lab import ROOT, featmon

SHIPPED = ["config.yaml", "config.bigquery.yaml"]
SCHEMA_FILE = ROOT / "docs" / "config.schema.json"


def test_featmon_schema_prints_the_committed_schema() -> None:
    proc = featmon("schema")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == SCHEMA_FILE.read_text(), (
        "docs/config.schema.json is out of date: run `featmon schema > docs/config.schema.json`"
    )
    schema = json.loads(proc.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert "from" in schema["$defs"]["Window"]["properties"]  # the YAML name, not from_
    assert "base_dir" not in schema["properties"]
    assert "prediction_volume" in schema["$defs"]["ChecksConfig"]["properties"]


@pytest.mark.parametrize("name", SHIPPED)
def test_the_shipped_configs_name_the_schema_and_satisfy_it(name: str) -> None:
    text = (ROOT / name).read_text()
    assert text.splitlines()[0] == "# yaml-language-server: $schema=./docs/config.schema.json"
    jsonschema.validate(yaml.safe_load(text), json.loads(SCHEMA_FILE.read_text()))


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("checks", "low_quality", "threshold"), True),
        (("checks", "low_quality", "colour"), "red"),
        (("window", "days_back"), "1"),
        (("alerts", "slack"), {"token": "x", "max_retries": 11}),
    ],
)
def test_the_schema_flags_what_validate_refuses(path: tuple[str, ...], value: Any) -> None:
    """An editor shows the mistake as it is typed (the schema holds the strict types)."""
    data = yaml.safe_load((ROOT / "config.yaml").read_text())
    node = data
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, json.loads(SCHEMA_FILE.read_text()))


def test_help_lists_the_exit_codes() -> None:
    proc = featmon("--help")
    assert proc.returncode == 0
    lines = [line.strip() for line in proc.stdout.splitlines()]
    for code in (
        "0  the run completed",
        "1  an alert fired",
        "2  usage or config error",
        "3  a check could not run",
    ):
        assert any(line.startswith(code) for line in lines), proc.stdout
    assert any(line.startswith("schema") for line in lines)
