"""The lab: a real DuckDB warehouse file with the production table shapes, and the real
`featmon` command line.

`Lab` writes hand-built rows whose expected answers the tests state explicitly, and runs
featmon's real query path (BigQuery SQL -> sqlglot -> DuckDB) over them.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from checks.base import CheckResult
from monitor.config import Config, parse_config
from monitor.demo.schema import (
    PREDICTIONS_TABLE,
    RUN_HISTORY_TABLE,
    STORE_TABLE,
    create_tables,
    insert_rows,
)
from monitor.pipeline.cycle import run_cycle
from monitor.pipeline.impact import run_impact
from monitor.pipeline.window import DateWindow
from monitor.warehouse.duckdb import DuckDBWarehouse

ROOT = Path(__file__).resolve().parent.parent
DAY = dt.date(2026, 2, 3)
NAMES = ["points_avg_last_5", "points_avg_last_10", "vegas_points_line", "team_win_pct"]


def utc(clock: str, day: dt.date = DAY) -> dt.datetime:
    """A UTC timestamp on `day` (the evening before a game date, in practice)."""
    h, m, *s = (int(x) for x in clock.split(":"))
    return dt.datetime.combine(day, dt.time(h, m, s[0] if s else 0), tzinfo=dt.UTC)


class Clock:
    """A monotonic clock moved by hand (the guard's `clock=`): a TTL without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def featmon(
    *args: str, cwd: Path = ROOT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real `featmon` command line of this checkout in a fresh process.

    This checkout goes first on PYTHONPATH: from a `cwd` outside it, `-m monitor` would
    otherwise import whichever checkout the virtualenv's editable install points at.
    """
    child = dict(os.environ if env is None else env)
    child["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), child.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=child,
        timeout=300,
    )


def rewrite_store(
    path: Path, written_at: dt.datetime, quality: float | None, day: dt.date = DAY
) -> None:
    """The pipeline's MERGE rewriting every store row of `day` in the DuckDB file at `path`
    (updated_at moves): `Lab.rewrite_store`, and for warehouses the lab did not build (the
    demo's)."""
    wh = DuckDBWarehouse(path, read_only=False)
    try:
        wh.execute(
            f"UPDATE {STORE_TABLE} SET updated_at = $written_at, "
            "feature_quality_score = $quality WHERE game_date = $day",
            {"written_at": written_at, "quality": quality, "day": day},
        )
    finally:
        wh.close()


def write_config(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def default_config_data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "config.yaml").read_text())
    return data


class Lab:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.ids = itertools.count(1)
        wh = DuckDBWarehouse(path, read_only=False)
        create_tables(wh)
        wh.close()
        self.store: list[dict[str, Any]] = []
        self.predictions: list[dict[str, Any]] = []
        self.runs: list[dict[str, Any]] = []

    def config_data(self, **overrides: Any) -> dict[str, Any]:
        data = copy.deepcopy(default_config_data())
        data["warehouse"] = {"backend": "duckdb", "path": str(self.path)}
        data["window"] = {"from": DAY.isoformat(), "to": DAY.isoformat()}
        data.update(overrides)
        return data

    def config(self, **overrides: Any) -> Config:
        return parse_config(self.config_data(**overrides), base_dir=self.path.parent)

    def add_store(
        self,
        player: str,
        *,
        written_at: dt.datetime | None = None,
        created_at: dt.datetime | None = None,
        quality: float | None = 87.59,
        values: dict[str, float] | None = None,
        names: list[str] | None = None,
        day: dt.date = DAY,
    ) -> None:
        values = {
            "points_avg_last_5": 24.2,
            "points_avg_last_10": 22.0,
            "vegas_points_line": 22.5,
            "team_win_pct": 0.5,
            **(values or {}),
        }
        names = names or NAMES
        self.store.append(
            {
                "player_lookup": player,
                "game_date": day,
                "game_id": f"{day:%Y%m%d}_01",
                "features": [values.get(n) for n in names],
                "feature_names": names,
                "feature_count": len(names),
                "feature_version": "v2_test",
                "feature_quality_score": quality,
                "created_at": created_at or written_at or utc("18:05"),
                "updated_at": written_at,
            }
        )

    def add_prediction(
        self,
        player: str,
        *,
        made_at: dt.datetime | None = None,
        quality: float | None = 87.59,
        snapshot: dict[str, Any] | str | None = None,
        critical: dict[str, Any] | str | None = None,
        active: bool = True,
        day: dt.date = DAY,
        predicted_at: bool = True,
        system_id: str = "catboost_v8",
    ) -> str:
        pid = f"p{next(self.ids):04d}"
        made = made_at or utc("23:12:42")
        self.predictions.append(
            {
                "prediction_id": pid,
                "system_id": system_id,
                "player_lookup": player,
                "game_date": day,
                "game_id": f"{day:%Y%m%d}_01",
                "is_active": active,
                "superseded": not active,
                "created_at": made,
                "predicted_at": made if predicted_at else None,
                "feature_quality_score": quality,
                "critical_features": critical,
                "features_snapshot": snapshot,
            }
        )
        return pid

    def add_run(
        self, processed_at: dt.datetime, status: str = "success", day: dt.date = DAY
    ) -> None:
        """A row of nba_reference.processor_run_history (a logged feature-store write)."""
        self.runs.append(
            {
                "processor_name": "MLFeatureStoreProcessor",
                "data_date": day,
                "status": status,
                "started_at": processed_at,
                "processed_at": processed_at,
                "records_processed": 1,
            }
        )

    def rewrite_store(
        self, written_at: dt.datetime, quality: float | None, day: dt.date = DAY
    ) -> None:
        """The pipeline's MERGE rewriting every store row of `day` (updated_at moves)."""
        self.flush()
        rewrite_store(self.path, written_at, quality, day)

    def flush(self) -> None:
        wh = DuckDBWarehouse(self.path, read_only=False)
        try:
            insert_rows(wh, STORE_TABLE, self.store)
            insert_rows(wh, PREDICTIONS_TABLE, self.predictions)
            insert_rows(wh, RUN_HISTORY_TABLE, self.runs)
        finally:
            wh.close()
        self.store, self.predictions, self.runs = [], [], []

    def run(
        self,
        config: Config | None = None,
        only: list[str] | None = None,
        window: DateWindow | None = None,
    ) -> list[CheckResult]:
        self.flush()
        config = config or self.config()
        return run_cycle(config, window or DateWindow(DAY, DAY), only).results

    def result(self, check: str, feature: str | None = None, **kwargs: Any) -> CheckResult:
        results = [r for r in self.run(**kwargs) if r.check == check and r.feature == feature]
        assert len(results) == 1, results
        return results[0]

    def impact(self, config: Config | None = None) -> list[Any]:
        self.flush()
        config = config or self.config()
        with DuckDBWarehouse(self.path) as wh:
            return run_impact(config, wh, DateWindow(DAY, DAY))
