"""Each check on hand-built data with known answers, through the real DuckDB path."""

from __future__ import annotations

import json

import pytest

from checks.registry import CHECKS
from tests.lab import DAY, Lab, utc


def snap(quality: float | None = 87.59, **values: object) -> dict[str, object]:
    base: dict[str, object] = {
        "points_avg_last_5": 24.2,
        "points_avg_last_10": 22.0,
        "vegas_points_line": 22.5,
        "feature_quality_score": quality,
    }
    base.update(values)
    return base


# --- stale_predictions -------------------------------------------------------------------


def test_stale_counts_predictions_made_before_the_latest_write(lab: Lab) -> None:
    lab.add_store("a", created_at=utc("17:00"), written_at=utc("22:30:07"))
    lab.add_store("b", created_at=utc("17:00"), written_at=utc("22:30:07"))
    lab.add_store("c", created_at=utc("17:00"), written_at=None)  # never rewritten
    early = lab.add_prediction("a", made_at=utc("19:40"))
    lab.add_prediction("b", made_at=utc("22:30:07"))  # exactly at the write: not stale
    lab.add_prediction("b", made_at=utc("22:40"))
    lab.add_prediction("c", made_at=utc("19:40"))  # after created_at, updated_at NULL
    r = lab.result("stale_predictions")
    assert (r.status, r.affected, r.total) == ("alert", 1, 4)
    assert r.details["max_lag_s"] == pytest.approx(2 * 3600 + 50 * 60 + 7)
    assert [e["prediction_id"] for e in r.examples] == [early]
    assert r.examples[0]["lag_s"] == pytest.approx(10207)
    assert r.severity == "critical"


def test_stale_ignores_superseded_predictions(lab: Lab) -> None:
    lab.add_store("a", written_at=utc("22:30"))
    lab.add_prediction("a", made_at=utc("19:00"), active=False)
    lab.add_prediction("a", made_at=utc("23:00"))
    r = lab.result("stale_predictions")
    assert (r.status, r.affected, r.total) == ("ok", 0, 1)


def test_stale_falls_back_to_created_at_when_predicted_at_is_null(lab: Lab) -> None:
    lab.add_store("a", written_at=utc("22:30"))
    lab.add_prediction("a", made_at=utc("21:00"), predicted_at=False)
    assert lab.result("stale_predictions").affected == 1


def test_stale_median_lag(lab: Lab) -> None:
    lab.add_store("a", written_at=utc("22:00"))
    for clock in ("21:00", "21:30", "21:50"):
        lab.add_prediction("a", made_at=utc(clock))
    r = lab.result("stale_predictions")
    assert r.details["max_lag_s"] == 3600
    assert r.details["median_lag_s"] == pytest.approx(1800, abs=1)


# --- quality_mismatch --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("logged", "flagged"),
    [(87.09, False), (88.09, False), (87.08, True), (88.10, True), (87.59, False)],
)
def test_quality_mismatch_tolerance_edges(lab: Lab, logged: float, flagged: bool) -> None:
    lab.add_store("a", quality=87.59)
    lab.add_prediction("a", quality=logged)
    r = lab.result("quality_mismatch")  # tolerance 0.5: a difference of exactly 0.5 passes
    assert r.affected == int(flagged)
    assert r.status == ("alert" if flagged else "ok")


def test_quality_found_only_in_json_when_the_column_is_null(lab: Lab) -> None:
    lab.add_store("a", quality=87.59)
    lab.add_store("b", quality=87.59)
    lab.add_prediction("a", quality=None, snapshot=snap(65.46))
    lab.add_prediction("b", quality=None, critical={"feature_quality_score": 87.6})
    r = lab.result("quality_mismatch")
    assert (r.affected, r.total, r.details["compared"]) == (1, 2, 2)
    assert r.details["logged_quality_avg"] == 65.46
    assert r.details["store_quality_avg"] == 87.59


def test_quality_in_snapshot_nested_as_a_json_string(lab: Lab) -> None:
    lab.add_store("a", quality=87.59)
    nested = {"vegas_points_line": 22.5, "features_snapshot": json.dumps(snap(65.46))}
    lab.add_prediction("a", quality=None, critical=nested, snapshot=None)
    r = lab.result("quality_mismatch")
    assert r.affected == 1
    assert r.examples[0]["logged_quality"] == 65.46


def test_first_non_null_location_wins(lab: Lab) -> None:
    lab.add_store("a", quality=87.59)
    # The column says 87.59; the (older) JSON says 65.46: the column is listed first.
    lab.add_prediction("a", quality=87.59, snapshot=snap(65.46))
    assert lab.result("quality_mismatch").affected == 0


# --- feature_mismatch --------------------------------------------------------------------


def test_feature_mismatch_one_result_per_feature(lab: Lab) -> None:
    lab.add_store("a", values={"points_avg_last_5": 24.2, "points_avg_last_10": 22.0})
    lab.add_prediction("a", snapshot=snap(points_avg_last_5=12.8, points_avg_last_10=22.04))
    results = {r.feature: r for r in lab.run() if r.check == "feature_mismatch"}
    assert set(results) == {"points_avg_last_5", "points_avg_last_10", "vegas_points_line"}
    assert results["points_avg_last_5"].affected == 1
    assert results["points_avg_last_5"].details["max_abs_diff"] == pytest.approx(11.4)
    assert results["points_avg_last_5"].examples[0]["logged_value"] == 12.8
    assert results["points_avg_last_5"].examples[0]["store_value"] == 24.2
    assert results["points_avg_last_10"].affected == 0  # 0.04 <= abs_tolerance 0.05


def test_feature_values_found_by_name_whatever_the_array_order(lab: Lab) -> None:
    lab.add_store(
        "a",
        names=list(
            reversed(
                ["points_avg_last_5", "points_avg_last_10", "vegas_points_line", "team_win_pct"]
            )
        ),
    )
    # The worker's copy of the store's line (the live line beside it is never compared).
    lab.add_prediction("a", snapshot=snap(), critical={"fs_vegas_points_line": 22.5})
    results = [r for r in lab.run() if r.check == "feature_mismatch"]
    assert all(r.affected == 0 for r in results)
    assert all(r.details["compared"] == 1 for r in results)


def test_feature_missing_from_the_store_vector_is_counted_not_compared(lab: Lab) -> None:
    lab.add_store("a", names=["points_avg_last_10", "vegas_points_line"])
    lab.add_prediction("a", snapshot=snap(points_avg_last_5=1.0))
    r = lab.result("feature_mismatch", feature="points_avg_last_5")
    assert (r.affected, r.details["missing_in_store"], r.details["compared"]) == (0, 1, 0)


def test_feature_relative_tolerance(lab: Lab) -> None:
    data = lab.config_data()
    data["checks"]["feature_mismatch"] = {"abs_tolerance": 0.0, "rel_tolerance": 0.1}
    config = lab.config(checks=data["checks"])
    lab.add_store("a", values={"points_avg_last_5": 20.0})
    lab.add_store("b", values={"points_avg_last_5": 20.0})
    lab.add_prediction("a", snapshot=snap(points_avg_last_5=22.0))  # exactly 10%: passes
    lab.add_prediction("b", snapshot=snap(points_avg_last_5=22.5))
    r = lab.result("feature_mismatch", feature="points_avg_last_5", config=config)
    assert r.affected == 1


def test_feature_nested_snapshot_location(lab: Lab) -> None:
    lab.add_store("a", values={"points_avg_last_5": 24.2})
    nested = {
        "vegas_points_line": 22.5,
        "features_snapshot": json.dumps(snap(points_avg_last_5=12.8)),
    }
    lab.add_prediction("a", critical=nested, snapshot=None)
    r = lab.result("feature_mismatch", feature="points_avg_last_5")
    assert r.affected == 1


# --- malformed JSON: counted, never fatal ------------------------------------------------


def test_malformed_json_is_counted_and_never_fails_the_query(lab: Lab) -> None:
    for p in "abcdef":
        lab.add_store(p)
    truncated = json.dumps(snap(65.46))[:30]
    lab.add_prediction("a", quality=None, critical={"features_snapshot": truncated})
    lab.add_prediction("b", quality=None, critical={"feature_quality_score": "n/a"})
    lab.add_prediction("c", quality=None, critical={"feature_quality_score": None})
    lab.add_prediction("d", quality=None, critical={"vegas_points_line": 22.5})  # absent
    lab.add_prediction(
        "e",
        quality=None,
        snapshot=snap(65.46, vegas_points_line="n/a"),
        critical={"vegas_points_line": "n/a"},
    )
    lab.add_prediction("f", quality=None, critical={"features_snapshot": "null"})
    results = lab.run()
    missing = next(r for r in results if r.check == "missing_quality")
    assert (missing.affected, missing.total) == (5, 6)
    # truncated string and "n/a" are malformed; JSON null and an absent key are just missing.
    assert missing.details["unparseable"] == 2
    line = next(r for r in results if r.feature == "vegas_points_line")
    assert line.details["unparseable"] == 1
    assert all(r.status != "error" for r in results)


def test_missing_quality_ratio_threshold(lab: Lab) -> None:
    data = lab.config_data()
    data["checks"]["missing_quality"] = {"max_ratio": 0.5}
    lab.add_store("a")
    lab.add_prediction("a", quality=None)
    lab.add_prediction("a", quality=80.0)
    r = lab.result("missing_quality", config=lab.config(checks=data["checks"]))
    assert (r.affected, r.status) == (1, "ok")  # 1/2 is not above 0.5
    lab.add_prediction("a", quality=None)
    r = lab.result("missing_quality", config=lab.config(checks=data["checks"]))
    assert (r.affected, r.status) == (2, "alert")


def test_missing_quality_reports_where_quality_was_found(lab: Lab) -> None:
    lab.add_store("a")
    lab.add_prediction("a", quality=80.0, snapshot=snap(80.0))
    lab.add_prediction("a", quality=None, snapshot=snap(80.0))
    lab.add_prediction("a", quality=None)
    found = lab.result("missing_quality").details["found_by_location"]
    assert found["feature_quality_score"] == 1
    assert found["features_snapshot:$.feature_quality_score"] == 2
    assert found["critical_features:$.features_snapshot -> $.feature_quality_score"] == 0


# --- low_quality -------------------------------------------------------------------------


def test_low_quality_threshold(lab: Lab) -> None:
    lab.add_store("a", quality=65.46)
    lab.add_prediction("a", quality=65.46)
    lab.add_prediction("a", quality=70.0)  # not below 70
    lab.add_prediction("a", quality=None)  # unknown is missing_quality's business
    r = lab.result("low_quality")
    assert (r.affected, r.total, r.status) == (1, 3, "alert")
    assert r.details["min_quality"] == 65.46


# --- missing_features --------------------------------------------------------------------


def test_missing_features_partial(lab: Lab) -> None:
    lab.add_store("a")
    lab.add_prediction("a")
    lab.add_prediction("ghost")
    lab.add_prediction("ghost")
    r = lab.result("missing_features")
    assert (r.affected, r.total, r.details["entities"]) == (2, 3, 1)
    assert r.details["whole_date_missing"] is False


def test_missing_features_examples_are_one_row_per_entity(lab: Lab) -> None:
    """Several systems' predictions for one player without a store row are one example
    (with how many it stands for), not identical rows repeated."""
    lab.add_store("a")
    lab.add_prediction("a")
    for player, n in (("ghost", 3), ("phantom", 2), ("spectre", 1)):
        for _ in range(n):
            lab.add_prediction(player)
    r = lab.result("missing_features")
    assert r.affected == 6
    assert [(e["player_lookup"], e["predictions"]) for e in r.examples] == [
        ("ghost", 3),
        ("phantom", 2),
        ("spectre", 1),
    ]


def test_date_with_predictions_but_no_store_rows(lab: Lab) -> None:
    lab.add_prediction("a")
    lab.add_prediction("b")
    results = lab.run()
    missing = next(r for r in results if r.check == "missing_features")
    assert (missing.affected, missing.status) == (2, "alert")
    assert missing.details["whole_date_missing"] is True
    stale = next(r for r in results if r.check == "stale_predictions")
    assert stale.affected == 0  # nothing to be stale against


def test_store_rows_outside_the_window_do_not_match(lab: Lab) -> None:
    lab.add_store("a", day=DAY.replace(day=2))
    lab.add_prediction("a")
    assert lab.result("missing_features").affected == 1


# --- shared join -------------------------------------------------------------------------


def test_duplicate_store_rows_do_not_double_count(lab: Lab) -> None:
    lab.add_store("a", written_at=utc("18:00"), quality=65.46)
    lab.add_store("a", written_at=utc("22:30"), quality=87.59)  # latest write wins
    lab.add_prediction("a", made_at=utc("23:00"), quality=87.59)
    results = [r for r in lab.run() if CHECKS[r.check].problem]
    assert all(r.total == 1 for r in results)
    assert next(r for r in results if r.check == "quality_mismatch").affected == 0


def test_date_without_predictions_is_ok_with_zero_total(lab: Lab) -> None:
    from monitor.pipeline.window import DateWindow

    lab.add_store("a")
    lab.add_prediction("a")
    next_day = DAY.replace(day=4)
    results = lab.run(window=DateWindow(DAY, next_day))
    empty = [r for r in results if r.game_date == next_day]
    assert empty and all(r.status == "ok" and r.total == 0 for r in empty)


def test_impact_counts_distinct_predictions(lab: Lab) -> None:
    lab.add_store("a", created_at=utc("17:00"), written_at=utc("22:30"), quality=87.59)
    # stale AND quality mismatch AND feature mismatch AND low quality: counted once.
    lab.add_prediction(
        "a", made_at=utc("19:00"), quality=65.46, snapshot=snap(65.46, points_avg_last_5=12.8)
    )
    lab.add_prediction("a", made_at=utc("23:00"))
    lab.add_prediction("ghost")
    [row] = [r for r in lab.impact() if r.is_total]
    assert (row.total, row.stale, row.quality_mismatch, row.feature_mismatch) == (3, 1, 1, 1)
    assert (row.low_quality, row.missing_features, row.missing_quality) == (1, 1, 0)
    assert (row.affected, row.affected_pct) == (2, 66.7)


def test_examples_come_worst_first(lab: Lab) -> None:
    lab.add_store("a", quality=87.59)
    for logged in (80.0, 50.0, 70.0, 60.0, 86.0, 40.0):
        lab.add_prediction("a", quality=logged)
    result = lab.result("quality_mismatch")
    # The five largest differences from 87.59, largest first (ranked and ordered in SQL).
    assert [e["logged_quality"] for e in result.examples] == [40.0, 50.0, 60.0, 70.0, 80.0]


# --- live inputs and JSON nulls: the platform's real worker shapes -----------------------


def line_logged(
    live: float | str | None, store_copy: float | str | None = None, *, copy: bool = True
) -> dict[str, object]:
    """What the worker logs in critical_features: the live prop line under the store's
    name and, from later worker revisions on (`copy`), the store's own value as
    `fs_vegas_points_line`. `None` is a JSON null (a player without a line)."""
    logged: dict[str, object] = {"vegas_points_line": live}
    if copy:
        logged["fs_vegas_points_line"] = store_copy
    return logged


def test_live_lines_and_json_null_lines_are_not_alarms_on_a_clean_day(lab: Lab) -> None:
    for p in "abcd":
        lab.add_store(p, written_at=utc("21:00"))
    lab.add_store("e", written_at=utc("21:00"), values={"vegas_points_line": 0.0})
    # a: the line moved after the store was written; the worker's copy of the store agrees.
    lab.add_prediction("a", snapshot=snap(vegas_points_line=24.5), critical=line_logged(24.5, 22.5))
    # b: an older worker revision: only the (moved) live line is logged.
    lab.add_prediction(
        "b", snapshot=snap(vegas_points_line=24.5), critical=line_logged(24.5, copy=False)
    )
    # c: an older worker, a player without a prop line: JSON null everywhere.
    lab.add_prediction(
        "c", snapshot=snap(vegas_points_line=None), critical=line_logged(None, copy=False)
    )
    # d: the same without a line, logged by a later worker: the store's value was 22.5.
    lab.add_prediction("d", snapshot=snap(vegas_points_line=None), critical=line_logged(None, 22.5))
    # e: the store holds 0.0 for a player without a line, and the worker copied it.
    lab.add_prediction("e", snapshot=snap(vegas_points_line=None), critical=line_logged(None, 0.0))
    results = lab.run()
    assert [r for r in results if r.status != "ok"] == []
    line = next(r for r in results if r.feature == "vegas_points_line")
    assert (line.affected, line.total) == (0, 5)
    assert line.details["compared"] == 3  # a, d, e: through the store-side copy
    assert line.details["live_overrides"] == 1  # b: read from a live location, not compared
    assert line.details["missing_logged"] == 1  # c: JSON null is "not logged"
    assert line.details["unparseable"] == 0
    assert line.message == "logged values match the store (3 compared)"


def test_a_stale_cache_still_alerts_through_the_store_side_copy(lab: Lab) -> None:
    lab.add_store("a", written_at=utc("21:00"))
    lab.add_store("b", written_at=utc("21:00"))
    # The worker's cache still held 20.5 for the store's line; the live line is 22.5.
    stale = lab.add_prediction(
        "a", snapshot=snap(vegas_points_line=22.5), critical=line_logged(22.5, 20.5)
    )
    lab.add_prediction("b", snapshot=snap(vegas_points_line=22.5), critical=line_logged(22.5, 22.5))
    line = lab.result("feature_mismatch", feature="vegas_points_line")
    assert (line.status, line.affected, line.total) == ("alert", 1, 2)
    assert (line.details["compared"], line.details["live_overrides"]) == (2, 0)
    assert [(e["prediction_id"], e["logged_value"], e["store_value"]) for e in line.examples] == [
        (stale, 20.5, 22.5)
    ]


def test_a_live_value_is_never_compared_even_far_from_the_store(lab: Lab) -> None:
    data = lab.config_data()
    locations = data["predictions"]["features"]["points_avg_last_5"]
    locations.append({"json_column": "critical_features", "path": "$.points_live", "live": True})
    config = lab.config(predictions=data["predictions"])
    lab.add_store("a", values={"points_avg_last_5": 24.2})
    lab.add_store("b", values={"points_avg_last_5": 24.2})
    lab.add_prediction("a", snapshot={}, critical={"points_live": 99.0})  # live only
    lab.add_prediction("b", snapshot=snap(points_avg_last_5=12.8), critical={"points_live": 24.2})
    r = lab.result("feature_mismatch", feature="points_avg_last_5", config=config)
    # b's snapshot (store-side, listed first) wins over its live value and is compared.
    assert (r.affected, r.details["compared"], r.details["live_overrides"]) == (1, 1, 1)
    assert r.examples[0]["logged_value"] == 12.8


def test_json_null_is_not_logged_but_a_string_is_unparseable(lab: Lab) -> None:
    for p in "abcd":
        lab.add_store(p)
    lab.add_prediction("a", quality=None, critical={"feature_quality_score": None})
    lab.add_prediction("b", quality=None, snapshot={"feature_quality_score": None})
    nested_null = json.dumps({"feature_quality_score": None})
    lab.add_prediction("c", quality=None, critical={"features_snapshot": nested_null})
    lab.add_prediction("d", quality=None, critical={"feature_quality_score": "n/a"})
    missing = lab.result("missing_quality")
    assert (missing.affected, missing.total) == (4, 4)
    assert missing.details["unparseable"] == 1  # only d's "n/a"
    assert missing.message.endswith("(1 unparseable)")


# --- dimensions: per-model counts from the same query ------------------------------------


def test_every_result_and_the_impact_table_count_per_model(lab: Lab) -> None:
    """Two players, three models: player a's catboost and ensemble predictions logged the
    old quality, the ghost (no store row) has only an xgboost prediction."""
    lab.add_store("a", quality=87.59)
    lab.add_store("b", quality=87.59)
    for system in ("catboost_v9", "ensemble_v2"):
        lab.add_prediction("a", system_id=system, quality=65.46, snapshot=snap(65.46))
        lab.add_prediction("b", system_id=system)
    lab.add_prediction("b", system_id="xgboost_v3")
    lab.add_prediction("ghost", system_id="xgboost_v3")
    mismatch = lab.result("quality_mismatch")
    assert (mismatch.affected, mismatch.total) == (2, 6)
    assert mismatch.details["dimensions"] == ["system_id"]
    # Worst first (affected, then size, then name); the untouched model is listed too.
    # Grading is configured (nothing graded yet): each model's hit rate is not known.
    ungraded = {"graded": 0, "hit_rate": None}
    assert mismatch.details["by_dimension"] == [
        {"system_id": "catboost_v9", "affected": 1, "total": 2, **ungraded},
        {"system_id": "ensemble_v2", "affected": 1, "total": 2, **ungraded},
        {"system_id": "xgboost_v3", "affected": 0, "total": 2, **ungraded},
    ]
    missing = lab.result("missing_features")
    assert missing.details["by_dimension"][0] == {
        "system_id": "xgboost_v3",
        "affected": 1,
        "total": 2,
        **ungraded,
    }
    rows = lab.impact()
    assert [r.dimensions for r in rows] == [
        {},
        {"system_id": "catboost_v9"},
        {"system_id": "ensemble_v2"},
        {"system_id": "xgboost_v3"},
    ]
    assert [(r.total, r.quality_mismatch, r.missing_features, r.affected) for r in rows] == [
        (6, 2, 1, 3),
        (2, 1, 0, 1),
        (2, 1, 0, 1),
        (2, 0, 1, 1),
    ]


def test_without_dimensions_there_is_one_row_per_date_and_no_breakdown(lab: Lab) -> None:
    data = lab.config_data()
    data["predictions"]["dimensions"] = []
    config = lab.config(predictions=data["predictions"])
    lab.add_store("a")
    lab.add_prediction("a", system_id="catboost_v9")
    lab.add_prediction("a", system_id="ensemble_v2")
    result = lab.result("quality_mismatch", config=config)
    assert "by_dimension" not in result.details
    [row] = lab.impact(config)
    assert (row.total, row.dimensions) == (2, {})
