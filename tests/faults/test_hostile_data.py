"""Hostile data (issue 12, findings 5 and 6, and duplicate ids from 7): values that are not
finite numbers, logged JSON kept in text columns, and ids written twice. None of them may
fail a check, be compared as a number, or be printed as something strict JSON rejects."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from checks.base import CheckResult
from checks.registry import CHECKS
from monitor.config import parse_config
from monitor.pipeline.cycle import RunReport, run_cycle
from monitor.pipeline.window import DateWindow
from monitor.reports.output import report_json
from monitor.warehouse.duckdb import DuckDBWarehouse
from tests.lab import DAY, Lab, featmon, utc
from tests.monitor.test_bigquery import bq_config_data, comparable, emulator_python
from tests.peers import bigquery as bq_peer

FEATURE = "points_avg_last_5"
PREDICTIONS = "nba_predictions.player_prop_predictions"


def one(results: list[CheckResult], check: str, feature: str | None = None) -> CheckResult:
    [r] = [r for r in results if r.check == check and r.feature == feature]
    return r


def strict_json(text: str) -> Any:
    """Parse as a strict parser would: NaN, Infinity and -Infinity are errors."""

    def refuse(token: str) -> None:
        raise ValueError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=refuse)


def logged(value: Any) -> dict[str, Any]:
    return {FEATURE: value, "feature_quality_score": 87.59}


@pytest.mark.parametrize("store_value", [float("inf"), float("-inf"), float("nan")])
def test_a_non_finite_store_value_is_counted_and_never_compared(
    lab: Lab, store_value: float
) -> None:
    """Before: `abs + rel * inf` is NaN, every comparison false: "0 affected", max_abs_diff
    inf (and NaN made DuckDB flag a row that matched nothing)."""
    lab.add_store("a", values={FEATURE: store_value})
    lab.add_store("b", values={FEATURE: 30.0})
    lab.add_prediction("a", snapshot=logged(10.0))
    lab.add_prediction("b", snapshot=logged(24.2))
    r = lab.result("feature_mismatch", FEATURE)
    assert (r.status, r.affected, r.total) == ("alert", 1, 2)  # b, and only b
    assert r.details["non_finite_in_store"] == 1
    assert r.details["compared"] == 1
    assert r.details["missing_in_store"] == 0  # the store holds a value: just not a number
    assert r.details["max_abs_diff"] == pytest.approx(5.8)
    assert "1 store values not finite (inf/NaN)" in r.message


@pytest.mark.parametrize("text", ['"NaN"', '"Infinity"', '"-Infinity"', "1e400", '"inf"'])
def test_logged_non_finite_numbers_are_unusable_not_numbers(lab: Lab, text: str) -> None:
    lab.add_store("a")
    lab.add_store("b")
    lab.add_prediction("a", quality=None, snapshot=f'{{"{FEATURE}": {text}}}')
    lab.add_prediction(
        "b", quality=None, snapshot=f'{{"{FEATURE}": 24.2, "feature_quality_score": {text}}}'
    )
    results = lab.run()
    feature = one(results, "feature_mismatch", FEATURE)
    assert (feature.status, feature.affected, feature.details["unparseable"]) == ("ok", 0, 1)
    assert feature.details["compared"] == 1
    missing = one(results, "missing_quality")
    assert (missing.affected, missing.details["unparseable"]) == (2, 1)
    low = one(results, "low_quality")  # -Infinity is not "below the threshold": it is unusable
    assert low.affected == 0 and low.details["min_quality"] is None


def test_check_json_output_is_strict_json(lab: Lab, tmp_path: Path) -> None:
    lab.add_store("a", values={FEATURE: float("inf")})
    lab.add_store("b", values={FEATURE: float("nan")})
    lab.add_prediction("a", snapshot=logged(10.0))
    lab.add_prediction("b", snapshot='{"points_avg_last_5": "NaN", "feature_quality_score": 1e400}')
    lab.flush()
    path = tmp_path / "featmon.yaml"
    path.write_text(yaml.safe_dump(lab.config_data()))
    proc = featmon("check", "-c", str(path), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc = strict_json(proc.stdout)
    [r] = [
        r for r in doc["results"] if r["check"] == "feature_mismatch" and r["feature"] == FEATURE
    ]
    assert r["details"]["max_abs_diff"] is None
    assert (r["details"]["non_finite_in_store"], r["details"]["unparseable"]) == (2, 1)
    assert doc["non_finite_values"] == 0  # the checks counted them; nothing left to null


def test_a_non_finite_figure_that_reaches_the_report_is_null_and_counted() -> None:
    """Belt and braces: whatever a check puts in details, the JSON stays strict."""
    result = CheckResult(
        check="feature_mismatch",
        game_date=DAY,
        status="ok",
        severity="warning",
        details={"max_abs_diff": float("inf"), "spread": [float("nan"), 1.5]},
    )
    doc = strict_json(report_json(RunReport(window=DateWindow(DAY, DAY), results=[result])))
    assert doc["results"][0]["details"] == {"max_abs_diff": None, "spread": [None, 1.5]}
    assert doc["non_finite_values"] == 2


def text_columns(lab: Lab) -> None:
    """The logged JSON columns as STRING (VARCHAR), as many BigQuery tables keep them."""
    wh = DuckDBWarehouse(lab.path, read_only=False)
    try:
        for column in ("critical_features", "features_snapshot"):
            wh.execute(f"ALTER TABLE {PREDICTIONS} ALTER {column} TYPE VARCHAR")
    finally:
        wh.close()


def declared(data: dict[str, Any]) -> dict[str, Any]:
    data["predictions"]["json_text_columns"] = ["critical_features", "features_snapshot"]
    return data


def malformed_rows(lab: Lab) -> None:
    for p in "abc":
        lab.add_store(p, written_at=utc("18:00"))
    lab.add_prediction("a", quality=None, snapshot=logged(24.2))
    lab.add_prediction("b", quality=None, snapshot="hello world", critical="hello world")
    nested = {"features_snapshot": json.dumps({FEATURE: 30.0})}
    lab.add_prediction("c", quality=None, snapshot='{"points_avg_last_5": 30', critical=nested)


def test_json_in_text_columns_is_parsed_safely(lab: Lab) -> None:
    """Before: one `hello world` row made every prediction check `error` ("Malformed
    JSON") for every date. Now that row is counted, and the others are checked."""
    text_columns(lab)
    malformed_rows(lab)
    results = lab.run(parse_config(declared(lab.config_data())))
    assert {r.status for r in results} <= {"ok", "alert"}, [r.message for r in results]
    feature = one(results, "feature_mismatch", FEATURE)
    # a matches; c's snapshot is truncated, but critical_features (listed second) logged 30.
    assert (feature.total, feature.affected, feature.details["compared"]) == (3, 1, 2)
    assert feature.details["unparseable"] == 1  # b: no location yields a number
    missing = one(results, "missing_quality")
    # b, and c (its snapshot is truncated and its critical_features logged no quality).
    assert (missing.affected, missing.details["unparseable"]) == (2, 2)


def test_json_in_text_columns_never_fails_a_check_even_undeclared(lab: Lab) -> None:
    """Without `json_text_columns` the embedded warehouse still reads such a row as
    "nothing logged" instead of failing every check."""
    text_columns(lab)
    malformed_rows(lab)
    results = lab.run()
    assert {r.status for r in results} <= {"ok", "alert"}, [r.message for r in results]
    feature = one(results, "feature_mismatch", FEATURE)
    assert (feature.total, feature.details["compared"]) == (3, 2)


def test_duplicate_prediction_ids_count_once_and_are_reported(lab: Lab) -> None:
    lab.add_store("a", written_at=utc("23:59"))
    lab.add_store("b", written_at=utc("18:00"))
    lab.add_prediction("a")  # made 23:12, before the 23:59 write: stale
    lab.add_prediction("b")
    lab.predictions += [dict(lab.predictions[0]), dict(lab.predictions[0])]
    results = lab.run()
    stale = one(results, "stale_predictions")
    assert (stale.total, stale.affected) == (2, 1)
    per_prediction = [r for r in results if CHECKS[r.check].scope == "join"]
    assert all(r.details["duplicate_prediction_rows"] == 2 for r in per_prediction), results
    assert len(stale.examples) == 1


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[bq_peer.Emulator]:
    python = emulator_python()
    if python is None:
        pytest.skip("bqemulator not installed: run `make test` (builds .venv-bqemulator)")
    emu = bq_peer.Emulator(python, tmp_path_factory.mktemp("bqemu") / "emulator.log")
    try:
        yield emu
    finally:
        emu.stop()


def test_text_columns_and_non_finite_strings_give_the_same_counts_on_bigquery(
    emulator: bq_peer.Emulator, lab: Lab
) -> None:
    """The generated BigQuery SQL (SAFE.JSON_VALUE, IS_NAN/IS_INF) on the REST peer, with
    STRING logging columns, row for row against DuckDB."""
    text_columns(lab)
    malformed_rows(lab)
    lab.add_store("d")
    lab.add_prediction("d", quality=None, snapshot='{"points_avg_last_5": "NaN"}')
    lab.add_prediction("d", quality=None, snapshot='{"feature_quality_score": "Infinity"}')
    schema = [
        bq_peer.S(f.name, "STRING") if f.field_type == "JSON" else f
        for f in bq_peer.PREDICTION_SCHEMA
    ]
    client = bq_peer.client_for(emulator.endpoint)
    client.create_dataset("text_lab", exists_ok=True)
    store, preds = "text_lab.ml_feature_store_v2", "text_lab.player_prop_predictions"
    bq_peer.create_table(client, store, bq_peer.STORE_SCHEMA, "game_date")
    bq_peer.create_table(client, preds, schema, "game_date")
    bq_peer.load_rows(client, store, bq_peer.STORE_SCHEMA, lab.store)
    bq_peer.load_rows(client, preds, schema, lab.predictions)
    only = ["feature_mismatch", "missing_quality", "quality_mismatch", "low_quality"]
    duck = declared(lab.config_data())
    del duck["history"]
    expected = lab.run(parse_config(duck), only=only)
    data = declared(bq_config_data(emulator.endpoint))
    data["feature_store"]["table"], data["predictions"]["table"] = store, preds
    actual = run_cycle(parse_config(data), DateWindow(DAY, DAY), only).results
    assert {r.status for r in actual} <= {"ok", "alert"}, [r.message for r in actual]
    assert comparable(actual) == comparable(expected)
    feature = one(actual, "feature_mismatch", FEATURE)
    assert (feature.total, feature.details["unparseable"]) == (5, 2)  # b, and d's "NaN"


def test_a_date_outside_the_data_still_reads_as_no_predictions(lab: Lab) -> None:
    lab.add_store("a")
    lab.add_prediction("a")
    later = DAY + dt.timedelta(days=1)
    results = lab.run(window=DateWindow(later, later), only=["stale_predictions"])
    assert [r.message for r in results] == ["no predictions for this date"]


# prediction_volume: "nothing arrived" is not green (finding 7).

YESTERDAY, BEFORE = DAY - dt.timedelta(days=1), DAY - dt.timedelta(days=2)
THREE_DAYS = DateWindow(BEFORE, DAY)
# 19:00 in New York on DAY is 00:00Z the next day.
AFTER_DUE = utc("01:00", DAY + dt.timedelta(days=1))
BEFORE_DUE = utc("23:00", DAY)


def volume(lab: Lab, now: dt.datetime, window: DateWindow = THREE_DAYS) -> list[CheckResult]:
    lab.flush()
    report = run_cycle(lab.config(), window, ["prediction_volume"], now=now)
    assert report.queries == 2  # the join's totals and the store summary: nothing more
    return report.results


def games(lab: Lab, day: dt.date, predictions_each: int, players: str = "abc") -> None:
    for p in players:
        lab.add_store(p, day=day)
        for _ in range(predictions_each):
            lab.add_prediction(p, day=day)


def test_a_date_with_store_rows_and_no_predictions_alerts_once_due(lab: Lab) -> None:
    """Before: an emptied predictions table gave every check "no predictions", all green."""
    games(lab, BEFORE, 0)
    games(lab, YESTERDAY, 0)
    games(lab, DAY, 0)
    by_date = {r.game_date: r for r in volume(lab, AFTER_DUE)}
    assert [by_date[d].status for d in THREE_DAYS.dates()] == ["alert"] * 3
    r = by_date[DAY]
    assert (r.severity, r.total, r.details["predictions"], r.details["store_rows"]) == (
        "critical",
        3,
        0,
        3,
    )
    assert r.message == (
        "0 predictions for 2026-02-03 by 19:00 EST on 2026-02-03, though the feature store has "
        "3 rows for it (expected at least 1)"
    )
    assert r.details["expected_by"] == "2026-02-04T00:00:00Z"


def test_before_the_expected_time_a_date_is_not_due_and_without_games_not_judged(
    lab: Lab,
) -> None:
    games(lab, YESTERDAY, 3)
    games(lab, DAY, 0)
    by_date = {r.game_date: r for r in volume(lab, BEFORE_DUE)}
    assert by_date[DAY].status == "ok"
    assert by_date[DAY].message == (
        "0 predictions so far; not due yet (expected by 19:00 EST on 2026-02-03)"
    )
    assert by_date[BEFORE].message == "no feature-store rows for this date (no games): not judged"
    assert by_date[YESTERDAY].status == "ok"


def test_far_fewer_than_the_recent_days_alerts(lab: Lab) -> None:
    games(lab, BEFORE, 4)  # 12
    games(lab, YESTERDAY, 3)  # 9
    games(lab, DAY, 1, players="ab")  # 2 < 0.5 * median(12, 9)
    by_date = {r.game_date: r for r in volume(lab, AFTER_DUE)}
    assert [by_date[d].status for d in THREE_DAYS.dates()] == ["ok", "ok", "alert"]
    assert by_date[DAY].details["recent_median"] == 10.5
    assert "far fewer than the recent median of 10.5" in by_date[DAY].message
    assert by_date[YESTERDAY].details["recent_median"] == 12  # 9 is not below half of 12


def test_prediction_volume_adds_no_query_to_a_cycle(lab: Lab) -> None:
    """One scan per cycle: the join and the store summary answer it along with the rest."""
    games(lab, DAY, 1)
    lab.flush()
    config = lab.config()
    with_volume = run_cycle(config, DateWindow(DAY, DAY), now=AFTER_DUE)
    assert "prediction_volume" in with_volume.checks
    names = [n for n in config.enabled_checks() if n != "prediction_volume"]
    without = run_cycle(config, DateWindow(DAY, DAY), names, now=AFTER_DUE)
    assert with_volume.queries == without.queries == 2
