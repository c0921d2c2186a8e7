"""Hit rates from the grading table, the hit_rate_drop check, and store freshness around
its deadline (DST included)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from checks.store_freshness import StoreFreshness, StoreFreshnessSettings, deadline
from monitor.config import parse_config
from monitor.demo.schema import GRADING_TABLE, insert_rows
from monitor.pipeline.cycle import run_cycle
from monitor.pipeline.window import DateWindow
from monitor.warehouse.duckdb import DuckDBWarehouse
from tests.alerts.scenario import check, setup
from tests.lab import DAY, Lab, utc
from tests.peers.slack import SlackStandIn

NY = ZoneInfo("America/New_York")


def grade(lab: Lab, rows: list[tuple[str, bool | None, float]]) -> None:
    """(player, correct, edge) per prediction; line 20, predicted 20 + edge."""
    with DuckDBWarehouse(lab.path, read_only=False) as wh:
        insert_rows(
            wh,
            GRADING_TABLE,
            [
                {
                    "player_lookup": p,
                    "game_id": f"{DAY:%Y%m%d}_01",
                    "game_date": DAY,
                    "system_id": "catboost_v8",
                    "prediction_correct": correct,
                    "line_value": 20.0,
                    "predicted_points": 20.0 + edge,
                    "is_voided": i == 9,  # voided: ignored
                }
                for i, (p, correct, edge) in enumerate(rows)
            ],
        )


def test_hit_rates_of_affected_and_unaffected_predictions(lab: Lab) -> None:
    # Affected (logged 65.46 where the store has 87.59): a b c d. Unaffected: e..j.
    for i, p in enumerate("abcdefghij"):
        lab.add_store(p, written_at=utc("22:30:07"))
        lab.add_prediction(p, quality=65.46 if i < 4 else 87.59)
    lab.flush()
    grade(
        lab,
        [
            ("a", True, 6.0),  # affected, high edge, won
            ("b", False, -5.0),  # affected, high edge (exactly 5), lost
            ("c", False, 1.0),
            ("d", None, 0.0),  # a push: not graded
            ("e", True, 2.0),
            ("f", True, 7.0),  # unaffected, high edge, won
            ("g", False, 1.0),
            ("h", True, 3.0),
            ("i", False, 2.0),
            ("j", True, 9.0),  # voided: not counted
        ],
    )
    [row] = [r for r in lab.impact() if r.is_total]
    assert (row.hit_rate_affected, row.graded_affected) == (33.3, 3)  # 1 of a b c
    assert (row.hit_rate_unaffected, row.graded_unaffected) == (60.0, 5)  # 3 of e f g h i
    assert (row.high_edge_hit_rate_affected, row.high_edge_graded_affected) == (50.0, 2)
    assert (row.high_edge_hit_rate_unaffected, row.high_edge_graded_unaffected) == (100.0, 1)

    data = lab.config_data()
    data["checks"] = {
        "quality_mismatch": {},
        "hit_rate_drop": {"expected_hit_rate": 54, "margin": 3, "min_graded": 5},
    }
    [hit] = [
        r
        for r in run_cycle(parse_config(data), DateWindow(DAY, DAY)).results
        if r.check == "hit_rate_drop"
    ]
    assert hit.status == "alert"  # 4 of 8 = 50.0 % < 54 - 3
    assert (hit.total, hit.affected) == (8, 4)
    assert hit.details["hit_rate"] == 50.0
    assert hit.details["hit_rate_affected"] == 33.3
    assert "high-edge 2/3" in hit.message
    data["checks"]["hit_rate_drop"]["margin"] = 4.0  # floor 50.0: not below it
    [hit] = [
        r
        for r in run_cycle(parse_config(data), DateWindow(DAY, DAY)).results
        if r.check == "hit_rate_drop"
    ]
    assert hit.status == "ok"
    data["checks"]["hit_rate_drop"]["min_graded"] = 9
    [hit] = [
        r
        for r in run_cycle(parse_config(data), DateWindow(DAY, DAY)).results
        if r.check == "hit_rate_drop"
    ]
    assert hit.status == "ok" and "no verdict yet" in hit.message


def test_hit_rate_drop_needs_a_grading_table(lab: Lab) -> None:
    from monitor.config import ConfigError

    data = lab.config_data(grading=None)
    with pytest.raises(ConfigError) as e:
        parse_config(data)
    assert "checks.hit_rate_drop: needs `grading`" in str(e.value)


def freshness(row: dict[str, Any], day: dt.date, **settings: Any) -> Any:
    check = StoreFreshness(StoreFreshnessSettings(**settings), None)  # type: ignore[arg-type]
    [result] = check.results({"timezone": "America/New_York", **row}, day)
    return result


@pytest.mark.parametrize(
    ("day", "utc_deadline"),
    [
        (dt.date(2026, 3, 7), "2026-03-07T22:00:00+00:00"),  # EST
        (dt.date(2026, 3, 8), "2026-03-08T21:00:00+00:00"),  # DST began at 02:00 that day
        (dt.date(2026, 11, 1), "2026-11-01T22:00:00+00:00"),  # DST ended at 02:00 that day
        (dt.date(2026, 10, 31), "2026-10-31T21:00:00+00:00"),  # EDT
    ],
)
def test_the_deadline_is_local_time_on_game_day(day: dt.date, utc_deadline: str) -> None:
    assert deadline(day, "17:00", NY).isoformat() == utc_deadline


def test_freshness_around_the_deadline_across_dst() -> None:
    day = dt.date(2026, 3, 8)  # deadline 17:00 EDT = 21:00Z; max_age 6h: written after 15:00Z
    due = dt.datetime(2026, 3, 8, 21, 0, tzinfo=dt.UTC)
    minute = dt.timedelta(minutes=1)
    fresh = {"store_rows": 40, "last_written_at": due - dt.timedelta(hours=6)}
    old = {"store_rows": 40, "last_written_at": due - dt.timedelta(hours=6) - minute}
    assert freshness({**old, "checked_at": due - minute}, day).status == "ok"  # not due yet
    late = freshness({**old, "checked_at": due}, day)
    assert late.status == "alert"
    assert "6.0h before the deadline 17:00 EDT on 2026-03-08" in late.message
    assert freshness({**fresh, "checked_at": due + minute}, day).status == "ok"
    missing = freshness({"store_rows": 0, "last_written_at": None, "checked_at": due}, day)
    assert missing.status == "alert" and "no feature-store rows" in missing.message
    # The same wall-clock write a day earlier (EST): 17:00 local is then 22:00Z.
    prev = dt.date(2026, 3, 7)
    at_21z = {"store_rows": 40, "last_written_at": dt.datetime(2026, 3, 7, 15, 30, tzinfo=dt.UTC)}
    assert (
        freshness(
            {**at_21z, "checked_at": dt.datetime(2026, 3, 7, 21, 30, tzinfo=dt.UTC)}, prev
        ).status
        == "ok"
    )
    assert (
        freshness(
            {**at_21z, "checked_at": dt.datetime(2026, 3, 7, 22, 0, tzinfo=dt.UTC)}, prev
        ).status
        == "alert"
    )
    # Past game dates are not judged.
    assert freshness({**old, "checked_at": due + dt.timedelta(days=2)}, day).status == "ok"


def test_freshness_sees_dates_without_predictions(lab: Lab) -> None:
    tomorrow = DAY + dt.timedelta(days=1)
    lab.add_store("a", written_at=utc("10:00"), day=DAY)  # no store rows for tomorrow at all
    lab.flush()
    data = lab.config_data()
    data["checks"] = {"store_freshness": {"must_be_written_by": "17:00", "max_age": "6h"}}
    now = dt.datetime(2026, 2, 4, 23, 0, tzinfo=dt.UTC)  # 18:00 EST on Feb 4
    results = run_cycle(parse_config(data), DateWindow(DAY, tomorrow), now=now).results
    by_day = {r.game_date: r for r in results}
    assert by_day[DAY].message == "game date is over: not judged"
    assert by_day[tomorrow].status == "alert"
    assert "no feature-store rows for 2026-02-04" in by_day[tomorrow].message


def test_a_resolution_carries_the_graded_outcome(
    lab: Lab, slack: SlackStandIn, tmp_path: Path
) -> None:
    """An alert on a played date resolves when the date leaves the window; by then its
    games are graded, and the resolution says what the affected predictions cost."""
    config = setup(lab, slack, tmp_path)  # "a": 3 predictions logged 65.46 vs 87.59
    assert check(config, utc("23:30")).returncode == 0
    grade(lab, [("a", False, 6.0)])  # one graded row for the player's (game, system): lost
    text = config.read_text().replace("2026-02-03", "2026-02-04")  # the window moves on
    config.write_text(text)
    left = check(config, utc("23:40"))
    assert left.returncode == 0, left.stderr
    [reply] = [
        c["body"]
        for c in slack.calls
        if c["method"] == "chat.postMessage" and c["body"].get("thread_ts")
    ]
    assert reply["text"].startswith("RESOLVED quality_mismatch 2026-02-03")
    outcome = "graded hit rate 2026-02-03: affected 0.0% of 3 (high-edge 0.0% of 3), unaffected n/a"
    assert f"*Outcome:* {outcome}" in json.dumps(reply["blocks"], ensure_ascii=False)


def test_hit_rate_drop_message_counts_graded_outcomes_and_shows_its_own_misses(lab: Lab) -> None:
    """The headline is a hit rate over graded predictions (a loss is not an "affected
    prediction"), and the examples are graded misses, high-edge first, with their lines."""
    from alerts.model import alerts_from
    from alerts.sinks.slack_message import as_text
    from tests.alerts.scenario import message_of

    for i, p in enumerate("abcdefgh"):
        lab.add_store(p, written_at=utc("22:30:07"))
        lab.add_prediction(p, quality=65.46 if i < 2 else 87.59)  # a, b: quality mismatch
    lab.flush()
    # Misses: c, e (high edge: |27 - 20| >= 5), g. a and b are mismatched but won.
    grade(
        lab,
        [
            ("a", True, 1.0),
            ("b", True, 1.0),
            ("c", False, 1.0),
            ("d", True, 1.0),
            ("e", False, 7.0),
            ("f", True, 1.0),
            ("g", False, -2.0),
            ("h", None, 0.0),
        ],
    )
    data = lab.config_data()
    data["checks"] = {
        "quality_mismatch": {},
        "hit_rate_drop": {"expected_hit_rate": 80, "margin": 5, "min_graded": 5},
    }
    results = run_cycle(parse_config(data), DateWindow(DAY, DAY)).results
    [hit] = [a for a in alerts_from(results) if a.check == "hit_rate_drop"]
    assert [e["player_lookup"] for e in hit.examples] == ["e", "c", "g"]  # high edge first
    assert [(e["predicted"], e["line"], e["high_edge"]) for e in hit.examples] == [
        (27.0, 20.0, True),
        (21.0, 20.0, False),
        (18.0, 20.0, False),
    ]
    text = as_text(message_of(hit))
    assert "*hit rate 57.1% vs expected 80% over 7 graded*" in text  # 4 of 7
    assert "predictions (" not in text.splitlines()[1]  # no "3 / 7 predictions (42.9%)"
    header = next(line for line in text.splitlines() if line.startswith("player_lookup"))
    assert header.split()[-4:] == ["predicted", "line", "high", "edge"]
    assert "store" not in header and "65.46" not in text  # not quality-mismatch rows
