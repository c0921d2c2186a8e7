"""Version history, attribution, explain and the timeline, on real DuckDB.

The scenario is the seed's, with one more twist: the store for the game date is written
at 18:05 (quality 65.46), rewritten at 22:30:07 (87.59), a cached worker serves the
18:05 values at 23:12:42, and at 23:40 a rerun reverts the store to the 18:05 values.
featmon runs at 20:00, 22:35, 23:15 and 23:45 (times UTC; the config's zone is UTC).
"""

from __future__ import annotations

import datetime as dt
import os
import struct
from pathlib import Path
from typing import Any

import pytest

from monitor.config import Config
from monitor.demo.schema import STORE_TABLE
from monitor.pipeline.attribution import attribution_batches
from monitor.pipeline.cycle import record_history, run_cycle
from monitor.pipeline.notify import notify
from monitor.pipeline.window import DateWindow
from monitor.reports.timeline import as_text, build_timeline
from monitor.reports.timeline_plot import html_page, png
from monitor.warehouse.duckdb import DuckDBWarehouse
from tests.lab import DAY, Lab, featmon, utc, write_config

WINDOW = DateWindow(DAY, DAY)
OLD = {"points_avg_last_5": 12.8, "points_avg_last_10": 14.0}
NEW = {"points_avg_last_5": 24.2, "points_avg_last_10": 22.0}
PLAYERS = ["laurimarkkanen", "petenance", "royceoneale"]


def config(lab: Lab, **overrides: Any) -> Config:
    data = lab.config_data(timezone="UTC", **overrides)
    data["checks"] = {"stale_predictions": {}, "quality_mismatch": {}, "feature_mismatch": {}}
    return lab_config(lab, data)


def lab_config(lab: Lab, data: dict[str, Any]) -> Config:
    from monitor.config import parse_config

    return parse_config(data, base_dir=lab.path.parent)


def write_store(
    lab: Lab, written_at: dt.datetime, quality: float, values: dict[str, float]
) -> None:
    """A rewrite of the date: the old rows are gone (the store keeps no history)."""
    lab.flush()
    with DuckDBWarehouse(lab.path, read_only=False) as wh:
        wh.execute(f"DELETE FROM {STORE_TABLE}")
    for p in PLAYERS:
        lab.add_store(
            p, created_at=utc("18:05"), written_at=written_at, quality=quality, values=values
        )
    lab.flush()


def snapshot(cfg: Config, clock: str) -> None:
    assert record_history(cfg, WINDOW, utc(clock)) == []


def snap(values: dict[str, float], quality: float) -> dict[str, Any]:
    return {**values, "feature_quality_score": quality, "vegas_points_line": 22.5}


def incident(lab: Lab, cfg: Config, *, revert: bool) -> None:
    write_store(lab, utc("18:05"), 65.46, OLD)
    snapshot(cfg, "20:00")
    write_store(lab, utc("22:30:07"), 87.59, NEW)
    snapshot(cfg, "22:35")
    for p in PLAYERS[:2]:  # the cached worker
        lab.add_prediction(p, made_at=utc("23:12:42"), quality=65.46, snapshot=snap(OLD, 65.46))
    lab.add_prediction(
        PLAYERS[2], made_at=utc("23:12:50"), quality=87.59, snapshot=snap(NEW, 87.59)
    )
    lab.flush()
    report = run_cycle(cfg, WINDOW, now=utc("23:15"))
    notify(cfg, report, utc("23:15"), report.scope(configured_window=True, scheduled=True))
    if revert:
        write_store(lab, utc("23:40"), 65.46, OLD)
        report = run_cycle(cfg, WINDOW, now=utc("23:45"))
        notify(cfg, report, utc("23:45"), report.scope(configured_window=True, scheduled=True))


def test_stale_predictions_are_attributed_to_the_version_they_used(lab: Lab) -> None:
    cfg = config(lab)
    incident(lab, cfg, revert=False)
    [result] = [
        r for r in run_cycle(cfg, WINDOW, now=utc("23:20")).results if r.check == "quality_mismatch"
    ]
    assert result.status == "alert" and result.affected == 2
    assert result.details["attribution"] == [
        {
            "count": 2,
            "made_at_min": "2026-02-03T23:12:42Z",
            "made_at_max": "2026-02-03T23:12:42Z",
            "version_written_at": "2026-02-03T18:05:00Z",
            "version_quality": 65.46,
            "superseded_at": "2026-02-03T22:30:07Z",
            "current_quality": 87.59,
        }
    ]
    assert result.details["attribution_summary"] == (
        "2 predictions made 2026-02-03 23:12:42 UTC used the version written 18:05 UTC "
        "(quality 65.46), which the rewrite at 22:30:07 UTC (quality 87.59) had replaced "
        "43 min earlier"
    )


def test_a_later_revert_does_not_claim_earlier_predictions(lab: Lab) -> None:
    cfg = config(lab)
    incident(lab, cfg, revert=True)
    with DuckDBWarehouse(lab.path) as wh:
        batches = attribution_batches(cfg, wh, [], DAY, DAY, "all")
    used = {(b.count, b.version_written_at) for b in batches}
    # The two cached predictions used 18:05 (not the identical 23:40 revert, written
    # after them); the fresh one used 22:30:07, which the revert then replaced.
    assert used == {(2, utc("18:05")), (1, utc("22:30:07"))}
    [fresh] = [b for b in batches if b.count == 1]
    assert fresh.superseded_at == utc("23:40") and fresh.superseded_by_quality == 65.46
    # After the revert the store holds 65.46 again: now the fresh prediction mismatches.
    [result] = [
        r for r in run_cycle(cfg, WINDOW, now=utc("23:50")).results if r.check == "quality_mismatch"
    ]
    assert result.affected == 1
    # The date's list covers every flagged prediction (stale_predictions flags all three
    # now, as the 23:40 write is newer than each).
    by_count = {a["count"]: a for a in result.details["attribution"]}
    assert by_count[1]["version_written_at"] == "2026-02-03T22:30:07Z"
    assert by_count[1]["superseded_at"] == "2026-02-03T23:40:00Z"
    assert by_count[2]["version_written_at"] == "2026-02-03T18:05:00Z"


def test_history_stores_only_changed_versions(lab: Lab) -> None:
    cfg = config(lab)
    write_store(lab, utc("18:05"), 65.46, OLD)
    for clock in ("19:00", "19:05", "19:10"):
        snapshot(cfg, clock)
    write_store(lab, utc("22:30:07"), 87.59, NEW)
    snapshot(cfg, "22:35")
    with DuckDBWarehouse(lab.path) as wh:
        fingerprints = wh.con.execute(
            "SELECT written_at, quality, named_values, vector_hash "
            "FROM featmon_state.store_fingerprints ORDER BY written_at, entity"
        ).fetchall()
        versions = wh.con.execute(
            "SELECT written_at, source, row_count, quality_avg, feature_versions "
            "FROM featmon_state.store_versions ORDER BY written_at"
        ).fetchall()
    assert len(fingerprints) == 6  # 3 entities x 2 writes, however many snapshots
    assert {f[0] for f in fingerprints} == {utc("18:05"), utc("22:30:07")}
    assert '"points_avg_last_5":12.8' in fingerprints[0][2]
    assert fingerprints[0][3] != fingerprints[-1][3]  # the vector hash changed
    assert versions == [
        (utc("18:05"), "featmon", 3, pytest.approx(65.46), "v2_test"),
        (utc("22:30:07"), "featmon", 3, pytest.approx(87.59), "v2_test"),
    ]


def test_retention_drops_old_dates(lab: Lab) -> None:
    data = lab.config_data(timezone="UTC")
    data["history"]["retention_days"] = 1
    cfg = lab_config(lab, data)
    write_store(lab, utc("18:05"), 65.46, OLD)
    snapshot(cfg, "20:00")
    assert record_history(cfg, WINDOW, utc("20:00") + dt.timedelta(days=3)) == []
    with DuckDBWarehouse(lab.path) as wh:
        left = wh.con.execute("SELECT COUNT(*) FROM featmon_state.store_fingerprints").fetchone()
    assert left == (0,)


def test_a_write_featmon_missed_is_known_from_the_run_log(lab: Lab) -> None:
    cfg = config(lab)
    lab.add_run(utc("18:05"))
    lab.add_run(utc("19:00"), status="failed")  # filtered by the config's `where`
    lab.add_run(utc("22:30:07"))
    write_store(lab, utc("22:30:07"), 87.59, NEW)  # featmon starts after the rewrite
    for p in PLAYERS:
        lab.add_prediction(p, made_at=utc("23:12:42"), quality=65.46, snapshot=snap(OLD, 65.46))
    lab.flush()
    results = run_cycle(cfg, WINDOW, now=utc("23:15")).results
    [qm] = [r for r in results if r.check == "quality_mismatch"]
    assert qm.details["attribution"][0]["version_written_at"] is None
    assert qm.details["attribution_summary"] == (
        "3 predictions made 2026-02-03 23:12:42 UTC: no recorded store version matches what "
        "they logged; the store was written at 18:05:00 UTC before them (log_table: "
        "nba_reference.processor_run_history), values unknown: featmon was not recording yet"
    )
    with DuckDBWarehouse(lab.path) as wh:
        story = as_text(build_timeline(cfg, wh, DAY))
    assert "18:05:00 UTC  write          store write, values unknown (log_table:" in story
    assert "19:00" not in story
    assert "writes featmon did not see (values unknown): 2026-02-03 18:05:00 UTC" in story


GOLDEN = """\
featmon timeline: game date 2026-02-03 (times UTC)
  2026-02-03 18:05:00 UTC  write          store version A: 3 rows, quality 65.46, v2_test
  2026-02-03 22:30:07 UTC  write          store version B: 3 rows, quality 87.59, v2_test
  2026-02-03 23:12:42 UTC  predictions    2 predictions, logged quality 65.46 -> version A (written 18:05:00 UTC), already replaced at 22:30:07 UTC
  2026-02-03 23:12:50 UTC  predictions    1 prediction, logged quality 87.59 -> version B (written 22:30:07 UTC)
  2026-02-03 23:15:00 UTC  alert fired    critical quality_mismatch (latest 1/3)
  2026-02-03 23:15:00 UTC  alert fired    warning feature_mismatch[points_avg_last_10] (latest 1/3)
  2026-02-03 23:15:00 UTC  alert fired    warning feature_mismatch[points_avg_last_5] (latest 1/3)
  2026-02-03 23:40:00 UTC  write          store version C: 3 rows, quality 65.46, v2_test
  2026-02-03 23:45:00 UTC  alert fired    critical stale_predictions (latest 3/3)
summary:
  2 predictions made 2026-02-03 23:12:42 UTC used the version written 18:05 UTC (quality 65.46), which the rewrite at 22:30:07 UTC (quality 87.59) had replaced 43 min earlier"""


def test_timeline_tells_the_story(lab: Lab, tmp_path: Path) -> None:
    cfg = config(lab)
    incident(lab, cfg, revert=True)
    with DuckDBWarehouse(lab.path) as wh:
        story = build_timeline(cfg, wh, DAY)
    assert as_text(story) == GOLDEN
    image = png(story)
    assert image[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", image[16:24])
    assert (width, height) == (1100, 500)
    assert len(image) > 20_000  # lines, markers and labels, not an empty canvas
    page = html_page(story)
    assert "<svg" in page and "version A (written 18:05:00 UTC)" in page


def test_timeline_and_explain_commands(lab: Lab, tmp_path: Path) -> None:
    cfg = config(lab)
    incident(lab, cfg, revert=False)
    pid = lab.predictions[0]["prediction_id"] if lab.predictions else None
    assert pid is None  # flushed; read the id back below
    with DuckDBWarehouse(lab.path) as wh:
        [(pid,)] = wh.con.execute(
            "SELECT prediction_id FROM nba_predictions.player_prop_predictions "
            "WHERE player_lookup = 'laurimarkkanen'"
        ).fetchall()
    path = write_config(
        tmp_path / "c.yaml", cfg.model_dump(mode="json", by_alias=True, exclude_none=True)
    )
    out = featmon(
        "timeline", "-c", str(path), "--date", "2026-02-03", "--png", str(tmp_path / "t.png")
    )
    assert out.returncode == 0, out.stderr
    assert "store version A: 3 rows, quality 65.46" in out.stdout
    assert (tmp_path / "t.png").stat().st_size > 20_000
    out = featmon("explain", "-c", str(path), "--date", "2026-02-03")
    assert out.returncode == 0, out.stderr
    assert "2 predictions made 2026-02-03 23:12:42 UTC used the version written 18:05 UTC" in (
        out.stdout
    )
    out = featmon("explain", "-c", str(path), "--date", "2026-02-03", "--prediction", pid)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "logged quality 65.46; the store now has 87.59" in lines[0]
    assert '"points_avg_last_5":12.8' in lines[1] and lines[1].startswith("  logged features")
    assert lines[2].startswith("  USED  version written 2026-02-03 18:05:00 UTC quality 65.46")
    assert '"points_avg_last_5":12.8' in lines[2]
    assert lines[3].startswith("  -     version written 2026-02-03 22:30:07 UTC quality 87.59")


def test_snapshot_command_records_and_needs_history(lab: Lab, tmp_path: Path) -> None:
    write_store(lab, utc("18:05"), 65.46, OLD)
    data = lab.config_data(timezone="UTC")
    path = write_config(tmp_path / "c.yaml", data)
    # FEATMON_NOW near the data: retention (90 days before now) would drop February.
    env = {**os.environ, "FEATMON_NOW": utc("20:00").isoformat()}
    out = featmon("snapshot", "-c", str(path), "--date", "2026-02-03", env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == (
        "recorded store versions for game dates 2026-02-03 .. 2026-02-03: 3 new row "
        "fingerprints, 1 new versions, 0 writes from outside records"
    )
    with DuckDBWarehouse(lab.path) as wh:
        count = wh.con.execute("SELECT COUNT(*) FROM featmon_state.store_fingerprints").fetchone()
    assert count == (3,)
    del data["history"]
    out = featmon(
        "timeline", "-c", str(write_config(tmp_path / "n.yaml", data)), "--date", "2026-02-03"
    )
    assert out.returncode == 2
    assert "needs `history:` in the config" in out.stderr
