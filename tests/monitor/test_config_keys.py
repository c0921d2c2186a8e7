"""Which config key a "cannot run" error is about, from the errors DuckDB and BigQuery give
(the end-to-end message is tested in tests/alerts/test_acting.py)."""

from __future__ import annotations

from typing import Any

import pytest

from monitor.config import Config, parse_config
from monitor.config.keys import config_keys
from tests.lab import Lab


@pytest.mark.parametrize(
    ("change", "error", "keys"),
    [
        (
            {"predictions": {"quality": [{"column": "feature_quality_scor"}]}},
            'Binder Error: Referenced column "feature_quality_scor" not found in FROM clause!\n'
            'Candidate bindings: "feature_quality_score", "created_at"',
            ["predictions.quality[0].column"],
        ),
        (
            {"predictions": {"quality": [{"column": "feature_quality_scor"}]}},
            "Unrecognized name: feature_quality_scor; Did you mean feature_quality_score? "
            "at [12:5]",
            ["predictions.quality[0].column"],
        ),
        (
            {"feature_store": {"table": "nba_predictions.ml_feature_store_v3"}},
            "Not found: Table test-proj:nba_predictions.ml_feature_store_v3 was not found in "
            "location US",
            ["feature_store.table"],
        ),
        (
            {"feature_store": {"table": "nba_predictions.ml_feature_store_v3"}},
            "Catalog Error: Table with name ml_feature_store_v3 does not exist!\n"
            'Did you mean "nba_predictions.ml_feature_store_v2"?',
            ["feature_store.table"],
        ),
        (
            {"feature_store": {"written_at": "COALESCE(updatd_at, created_at)"}},
            "Binder Error: Referenced column updatd_at not found in FROM clause and can't find "
            "in alias map.",
            ["feature_store.written_at"],
        ),
    ],
)
def test_the_key_whose_configured_name_the_error_quotes(
    lab: Lab, change: dict[str, dict[str, object]], error: str, keys: list[str]
) -> None:
    data = lab.config_data()
    for section, values in change.items():
        data[section] = {**data[section], **values}
    config = lab_config(lab, data)
    assert config_keys(config, "low_quality", f"featmon cannot run check low_quality: {error}") == (
        keys
    )


def test_an_error_naming_nothing_configured_names_the_keys_the_check_reads(lab: Lab) -> None:
    config = lab.config()
    assert config_keys(config, "stale_predictions", "Out of Memory Error: failed to allocate") == [
        "predictions.made_at",
        "feature_store.written_at",
    ]
    assert config_keys(config, "hit_rate_drop", "Out of Memory Error") == ["grading"]


def lab_config(lab: Lab, data: dict[str, Any]) -> Config:
    return parse_config(data, base_dir=lab.path.parent)
