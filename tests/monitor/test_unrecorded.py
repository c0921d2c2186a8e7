"""Investigating after the fact: `timeline` and `explain` on a warehouse featmon never ran
on (only the production tables), and `snapshot` of dates older than the retention."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from monitor.pipeline.attribution import UNRECORDED
from monitor.warehouse.duckdb import DuckDBWarehouse
from tests.lab import DAY, Lab, featmon, utc, write_config

OLD = {"points_avg_last_5": 12.8, "points_avg_last_10": 12.1}
NEW = {"points_avg_last_5": 24.2, "points_avg_last_10": 22.0}


def never_ran(lab: Lab, tmp_path: Path) -> Path:
    """The seed's Feb 3 as the production tables hold it afterwards: the store's current
    rows (rewritten 22:30:07), the run log's two writes, a batch built from the first."""
    for p in ("a", "b", "c"):
        lab.add_store(p, written_at=utc("22:30:07"), quality=87.59, values=NEW)
    lab.add_run(utc("18:05"))
    lab.add_run(utc("22:30:07"))
    bad = [lab.add_prediction(p, made_at=utc("23:12:42"), quality=65.46, snapshot=OLD)
           for p in ("a", "b")]  # fmt: skip
    lab.add_prediction("c", made_at=utc("23:12:50"), quality=87.59, snapshot=NEW)
    lab.flush()
    (tmp_path / "bad_id").write_text(bad[0])
    return write_config(tmp_path / "featmon.yaml", lab.config_data())


def schemas(lab: Lab) -> set[str]:
    with DuckDBWarehouse(lab.path, read_only=True) as wh:
        return {
            r[0]
            for r in wh.con.execute(
                "SELECT schema_name FROM information_schema.schemata"
            ).fetchall()
        }


def test_timeline_without_featmon_records_says_what_is_unknown(lab: Lab, tmp_path: Path) -> None:
    config = never_ran(lab, tmp_path)
    before = schemas(lab)
    assert "featmon_state" not in before
    proc = featmon("timeline", "-c", str(config), "--date", DAY.isoformat())
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Catalog Error" not in out + proc.stderr
    assert UNRECORDED in out
    lines = out.splitlines()
    # 18:05 UTC is 13:05 EST: a write known only from the run log.
    assert any("13:05:00 EST" in line and "store write, values unknown (log_table: " in line
               for line in lines)  # fmt: skip
    assert any("17:30:07 EST" in line and "store version A: 3 rows, quality 87.59" in line
               for line in lines)  # fmt: skip
    assert any("2 predictions, logged quality 65.46 -> not the store's current version" in line
               for line in lines)  # fmt: skip
    assert any("1 prediction, logged quality 87.59 -> version A" in line for line in lines)
    assert "writes featmon did not see (values unknown): 2026-02-03 13:05:00 EST" in out
    assert schemas(lab) == before  # a read-only investigation created nothing


def test_explain_without_featmon_records_names_the_write_before_them(
    lab: Lab, tmp_path: Path
) -> None:
    config = never_ran(lab, tmp_path)
    before = schemas(lab)
    proc = featmon("explain", "-c", str(config), "--date", DAY.isoformat())
    assert proc.returncode == 0, proc.stderr
    assert UNRECORDED in proc.stdout
    assert (
        "2 predictions made 2026-02-03 18:12:42 EST: no recorded store version matches what "
        "they logged; the store was written at 13:05:00 EST before them (log_table: "
    ) in proc.stdout
    one = featmon("explain", "-c", str(config), "--date", DAY.isoformat(),
                  "--prediction", (tmp_path / "bad_id").read_text())  # fmt: skip
    assert one.returncode == 0, one.stderr
    assert "-     version written 2026-02-03 17:30:07 EST quality 87.59" in one.stdout
    assert schemas(lab) == before


def test_snapshot_of_dates_outside_the_retention_says_so(lab: Lab, tmp_path: Path) -> None:
    config = never_ran(lab, tmp_path)
    # 90 days after the date: the date is the oldest one retention_days (90) keeps.
    now = dt.datetime.combine(DAY + dt.timedelta(days=90), dt.time(12), tzinfo=dt.UTC)
    env = {**os.environ, "FEATMON_NOW": now.isoformat()}
    day_before = (DAY - dt.timedelta(days=1)).isoformat()
    old = featmon("snapshot", "-c", str(config), "--date", day_before, env=env)
    assert old.returncode == 2
    assert f"game dates before {DAY} are outside history.retention_days (90 days)" in old.stderr
    assert "0 new" not in old.stdout
    both = featmon("snapshot", "-c", str(config), "--from", day_before, "--to", DAY.isoformat(),
                   env=env)  # fmt: skip
    assert both.returncode == 0, both.stderr
    lines = both.stdout.splitlines()
    assert lines[0] == (
        f"{day_before} .. {day_before}: game dates before {DAY} are outside "
        "history.retention_days (90 days): not recorded"
    )
    assert lines[1].startswith(f"recorded store versions for game dates {DAY} .. {DAY}: 3 new")
