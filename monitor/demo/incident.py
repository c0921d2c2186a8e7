"""A replay of the seed incident on the production schema, with dates relative to today.

Game dates (T = today in the config's time zone):
  T-2  clean: store written the evening before, predictions after it; a few superseded
       rows carrying bad values that must be ignored.
  T-1  "Feb 2": predictions at 19:40 from the 17:00 version (quality 65.46), then the
       store was rewritten at 22:30:07 (quality 87.59). The quality column was not yet
       filled and the snapshot was nested in critical_features as a JSON string (the
       two-day logging bug); three of those strings are truncated.
  T    "Feb 3": store written 18:05 (65.46) and rewritten 22:30:07 (87.59); at 23:12:42
       one worker served its cached 65.46 version to 102 of 147 predictions; the rest came
       from a fresh instance. Timestamps all look fine here: only the logged values show it.
       The worker logs the live prop line as vegas_points_line and the store's value as
       fs_vegas_points_line: for 3 fresh players the line moved after the store was
       written (a live input, not a stale feature). The last player's predictions come
       from an older worker revision that logs no store copy: a live line, "n/a" and a
       JSON null (no prop line).
  T+1  upcoming: clean except 2 players with no store row and 2 in the "poor" quality tier.

Models (`system_id`): as on the platform, a player has one prediction per model: 2 models on
T-2 and T+1, 3 on T (so the cache hit all three models of the same 34 players: 34 of 49 each,
102 of 147 in all), and on T-1 one per player spread over 7 models (13-14 each). With
`predictions.dimensions: [system_id]` the impact table and every alert show these per model.

T-2 and T-1 are graded (prediction_accuracy): T-2 hit 54.5 %, T-1 41.9 % with high-edge 0 of
7, the seed's Feb 2. With `history` configured, write_demo also replays featmon's own runs
the evening before (see write_demo).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
import zlib
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from monitor.config import Config
from monitor.demo.schema import (
    GRADING_TABLE,
    PREDICTIONS_TABLE,
    RUN_HISTORY_TABLE,
    STORE_TABLE,
    create_tables,
    insert_rows,
)
from monitor.progress import Step
from monitor.warehouse.duckdb import DuckDBWarehouse

FEATURE_NAMES = [
    "points_avg_last_5",
    "points_avg_last_10",
    "points_avg_season",
    "points_std_last_10",
    "minutes_avg_last_10",
    "ppm_avg_last_10",
    "usage_rate_last_10",
    "fg_pct_last_10",
    "three_pt_rate_last_10",
    "ft_rate_last_10",
    "rest_days",
    "back_to_back",
    "home_away",
    "opponent_def_rating",
    "opponent_pace",
    "team_pace",
    "team_off_rating",
    "team_win_pct",
    "vegas_points_line",
    "vegas_opening_line",
    "vegas_line_move",
    "implied_team_total",
    "spread",
    "over_under",
    "injury_risk",
    "games_played",
    "days_since_return",
    "starter_flag",
    "minutes_trend",
    "points_trend",
    "shot_zone_paint",
    "shot_zone_mid",
    "shot_zone_three",
    "matchup_history_pts",
    "fatigue_score",
    "travel_distance",
    "pace_adjusted_points",
]
FEATURE_VERSION = f"v2_{len(FEATURE_NAMES)}features"
CRITICAL = ("vegas_points_line", "ppm_avg_last_10", "team_win_pct", "opponent_def_rating")
SYSTEMS = [
    "catboost_v8",
    "xgboost_v3",
    "ensemble_v2",
    "moving_average",
    "similarity_v1",
    "zone_matchup_v1",
    "ridge_v4",
]
FIRST = [
    "lauri",
    "pete",
    "royce",
    "jalen",
    "tyrese",
    "devin",
    "anthony",
    "jaylen",
    "kevin",
    "luka",
    "nikola",
    "donovan",
    "trae",
    "darius",
    "scottie",
    "franz",
    "paolo",
    "cade",
]
LAST = [
    "markkanen",
    "nance",
    "oneale",
    "brunson",
    "maxey",
    "booker",
    "edwards",
    "brown",
    "durant",
    "doncic",
    "vucevic",
    "mitchell",
    "young",
    "garland",
    "barnes",
    "wagner",
    "banchero",
    "cunningham",
]

OLD_QUALITY = 65.46
NEW_QUALITY = 87.59
# On T, players (by index) whose live prop line moved after the store was written.
MOVED_LINE_PLAYERS = (40, 41, 42)
LINE_MOVE = 1.5


@dataclass
class DemoData:
    today: dt.date
    store: list[dict[str, Any]] = field(default_factory=list)
    predictions: list[dict[str, Any]] = field(default_factory=list)
    # nba_reference.processor_run_history: one row per feature-store write.
    runs: list[dict[str, Any]] = field(default_factory=list)
    # The first versions of the rewritten dates, as they were before the 22:30:07 rewrite.
    early_store: list[dict[str, Any]] = field(default_factory=list)
    # nba_predictions.prediction_accuracy for the dates whose games were played.
    grading: list[dict[str, Any]] = field(default_factory=list)


class _Builder:
    def __init__(self, today: dt.date, zone: ZoneInfo, seed: int = 20260203) -> None:
        self.today = today
        self.zone = zone
        self.rng = random.Random(seed)
        self.uuid_rng = random.Random(seed + 1)
        names = [f + last for last in LAST for f in FIRST]
        names.remove("laurimarkkanen")
        self.rng.shuffle(names)
        self.players = ["laurimarkkanen", "petenance", "royceoneale"] + [
            n for n in names if n not in ("petenance", "royceoneale")
        ]
        self.skill = {p: self.rng.uniform(6, 30) for p in self.players}
        self.data = DemoData(today)

    def at(self, day_offset: int, clock: str) -> dt.datetime:
        """A local wall-clock time on T+day_offset, as a UTC timestamp."""
        h, m, *s = (int(x) for x in clock.split(":"))
        local = dt.datetime.combine(
            self.today + dt.timedelta(days=day_offset),
            dt.time(h, m, s[0] if s else 0),
            tzinfo=self.zone,
        )
        return local.astimezone(dt.UTC)

    def vector(self, player: str, version: str) -> dict[str, float]:
        """Feature values for a player; the "old" version differs in the rolling averages."""
        base = self.skill[player]
        rng = random.Random(f"{player}:{version}")
        values = {name: round(rng.uniform(0, 1), 3) for name in FEATURE_NAMES}
        line_rng = random.Random(f"{player}:line")
        values["vegas_points_line"] = round(base * 2) / 2 + 0.5
        values["ppm_avg_last_10"] = round(base / 32, 3)
        values["team_win_pct"] = round(line_rng.uniform(0.3, 0.7), 3)
        if version == "old":
            values["points_avg_last_5"] = round(base * 0.53, 1)
            values["points_avg_last_10"] = round(base * 0.61, 1)
        else:
            values["points_avg_last_5"] = round(base, 1)
            values["points_avg_last_10"] = round(base * 0.97, 1)
        if player == "laurimarkkanen":
            values["points_avg_last_5"] = 12.8 if version == "old" else 24.2
        return values

    def store_row(
        self,
        player: str,
        day: int,
        created: dt.datetime,
        updated: dt.datetime | None,
        quality: float,
        version: str = "new",
    ) -> dict[str, Any]:
        values = self.vector(player, version)
        return {
            "player_lookup": player,
            "game_date": self.today + dt.timedelta(days=day),
            "game_id": self.game_id(player, day),
            "features": [values[n] for n in FEATURE_NAMES],
            "feature_names": FEATURE_NAMES,
            "feature_count": len(FEATURE_NAMES),
            "feature_version": FEATURE_VERSION,
            "feature_quality_score": round(quality, 2),
            "is_quality_ready": quality >= 70,
            "created_at": created,
            "updated_at": updated,
        }

    def game_id(self, player: str, day: int) -> str:
        d = self.today + dt.timedelta(days=day)
        return f"{d:%Y%m%d}_{zlib.crc32(player.encode()) % 15:02d}"

    def prediction(
        self,
        player: str,
        day: int,
        system: str,
        made: dt.datetime,
        quality: float,
        version: str,
        *,
        column_quality: bool = True,
        nested_snapshot: bool = False,
        active: bool = True,
        overrides: dict[str, Any] | None = None,
        store_copy: bool = True,
    ) -> dict[str, Any]:
        """One prediction row as the worker logs it: `overrides` are the live inputs it
        wrote over the store's values (in both JSON columns); `store_copy` is whether
        this worker revision also logs the store's line as fs_vegas_points_line."""
        values = self.vector(player, version)
        snapshot: dict[str, Any] = {
            **values,
            "feature_version": FEATURE_VERSION,
            "feature_quality_score": quality,
        }
        critical: dict[str, Any] = {k: values[k] for k in CRITICAL}
        if store_copy:
            critical["fs_vegas_points_line"] = values["vegas_points_line"]
        for key, value in (overrides or {}).items():
            critical[key] = value
            snapshot[key] = value
        live = (overrides or {}).get("vegas_points_line")
        line = live if isinstance(live, float) else values["vegas_points_line"]
        predicted = round(values["points_avg_last_5"] * self.rng.uniform(0.85, 1.2), 1)
        row: dict[str, Any] = {
            "prediction_id": str(uuid.UUID(int=self.uuid_rng.getrandbits(128), version=4)),
            "system_id": system,
            "player_lookup": player,
            "game_date": self.today + dt.timedelta(days=day),
            "game_id": self.game_id(player, day),
            "predicted_points": predicted,
            "current_points_line": line,
            "recommendation": "OVER" if predicted > line else "UNDER",
            "confidence_score": round(self.rng.uniform(50, 90), 2),
            "is_active": active,
            "superseded": not active,
            "superseded_by": None,
            "created_at": made,
            "updated_at": made,
            "predicted_at": made,
            "feature_quality_score": quality if column_quality else None,
        }
        if nested_snapshot:
            critical["features_snapshot"] = json.dumps(snapshot)
            row["critical_features"] = critical
            row["features_snapshot"] = None
        else:
            row["critical_features"] = critical
            row["features_snapshot"] = snapshot
        return row

    def logged_write(self, day: int, finished: dt.datetime, records: int) -> None:
        self.data.runs.append(
            {
                "processor_name": "MLFeatureStoreProcessor",
                "data_date": self.today + dt.timedelta(days=day),
                "status": "success",
                "started_at": finished - dt.timedelta(minutes=4),
                "processed_at": finished,
                "records_processed": records,
            }
        )

    def clean_day(self, day: int, players: list[str], systems: int) -> None:
        written = self.at(day - 1, "21:00")
        self.logged_write(day, written, len(players))
        for p in players:
            quality = self.rng.uniform(88, 97)
            self.data.store.append(self.store_row(p, day, written, written, quality))
            for s in SYSTEMS[:systems]:
                made = self.at(day - 1, "22:05") + dt.timedelta(seconds=self.rng.randint(0, 600))
                self.data.predictions.append(
                    self.prediction(p, day, s, made, round(quality, 2), "new")
                )
        for p in players[:5]:  # superseded by the run above: stale, and must be ignored
            made = self.at(day - 1, "18:00")
            self.data.predictions.append(
                self.prediction(p, day, SYSTEMS[0], made, OLD_QUALITY, "old", active=False)
            )

    def predictions_before_rewrite(self, day: int, players: list[str]) -> None:
        first, rewrite = self.at(day - 1, "17:00"), self.at(day - 1, "22:30:07")
        made = self.at(day - 1, "19:40")
        self.logged_write(day, first, len(players))
        self.logged_write(day, rewrite, len(players))
        for i, p in enumerate(players):
            self.data.store.append(self.store_row(p, day, first, rewrite, NEW_QUALITY))
            self.data.early_store.append(self.store_row(p, day, first, None, OLD_QUALITY, "old"))
            row = self.prediction(
                p,
                day,
                SYSTEMS[i % len(SYSTEMS)],
                made,
                OLD_QUALITY,
                "old",
                column_quality=False,
                nested_snapshot=True,
            )
            if i < 3:  # truncated nested JSON string
                crit = row["critical_features"]
                crit["features_snapshot"] = crit["features_snapshot"][:40]
            self.data.predictions.append(row)

    def stale_cache(self, day: int, players: list[str], cached: int, systems: int) -> None:
        first, rewrite = self.at(day - 1, "18:05"), self.at(day - 1, "22:30:07")
        self.logged_write(day, first, len(players))
        self.logged_write(day, rewrite, len(players))
        for p in players:
            self.data.store.append(self.store_row(p, day, first, rewrite, NEW_QUALITY))
            self.data.early_store.append(self.store_row(p, day, first, None, OLD_QUALITY, "old"))
        for i, p in enumerate(players):
            stale = i < cached
            made = self.at(day - 1, "23:12:42" if stale else "23:12:50")
            older_worker = i == len(players) - 1
            for j, s in enumerate(SYSTEMS[:systems]):
                overrides: dict[str, Any] = {}
                if i in MOVED_LINE_PLAYERS:
                    moved = self.vector(p, "new")["vegas_points_line"] + LINE_MOVE
                    overrides = {"vegas_points_line": moved}
                if older_worker and j == 0:
                    overrides = {"vegas_points_line": "n/a"}
                if older_worker and j == 1:
                    overrides = {"vegas_points_line": None}
                self.data.predictions.append(
                    self.prediction(
                        p,
                        day,
                        s,
                        made,
                        OLD_QUALITY if stale else NEW_QUALITY,
                        "old" if stale else "new",
                        column_quality=not stale,
                        overrides=overrides,
                        store_copy=not older_worker,
                    )
                )
            # The earlier run the regeneration superseded.
            self.data.predictions.append(
                self.prediction(
                    p,
                    day,
                    SYSTEMS[0],
                    self.at(day - 1, "19:00"),
                    OLD_QUALITY,
                    "old",
                    active=False,
                )
            )

    def upcoming(self, day: int, players: list[str], unwritten: list[str], poor: set[str]) -> None:
        written = self.at(day - 1, "06:00")
        self.logged_write(day, written, len(players))
        # A failed run: a log table source must skip it (`where: status = 'success'`).
        self.data.runs.append(
            {**self.data.runs[-1], "status": "failed", "processed_at": self.at(day - 1, "07:00")}
        )
        for p in players:
            quality = 62.5 if p in poor else self.rng.uniform(86, 96)
            self.data.store.append(self.store_row(p, day, written, None, quality))
            for s in SYSTEMS[:2]:
                made = self.at(day - 1, "06:30")
                self.data.predictions.append(
                    self.prediction(p, day, s, made, round(quality, 2), "new")
                )
        for p in unwritten:
            for s in SYSTEMS[:2]:
                made = self.at(day - 1, "06:30")
                row = self.prediction(p, day, s, made, 90.0, "new")
                self.data.predictions.append(row)

    def grade(self, day: int, graded: int, correct: int, high_edge: int, he_correct: int) -> None:
        """Outcomes for a played date, shaped like the seed's (Feb 2: 41.9 %, high-edge 0 of
        7). Edges are set on the predictions so |predicted - line| >= 5 marks high edge."""
        rows = [
            r
            for r in self.data.predictions
            if r["game_date"] == self.today + dt.timedelta(days=day) and r["is_active"]
        ]
        self.rng.shuffle(rows)
        normal_correct = correct - he_correct
        for i, row in enumerate(rows):
            line = float(row["current_points_line"])
            high = i < high_edge
            edge = self.rng.uniform(5.5, 8) if high else self.rng.uniform(0.5, 4.5)
            row["predicted_points"] = round(line + edge * self.rng.choice((-1, 1)), 1)
            row["recommendation"] = "OVER" if row["predicted_points"] > line else "UNDER"
            if i >= graded:
                outcome = None  # a push or no line: not graded
            elif high:
                outcome = i < he_correct
            else:
                outcome = i - high_edge < normal_correct
            self.data.grading.append(
                {
                    "player_lookup": row["player_lookup"],
                    "game_id": row["game_id"],
                    "game_date": row["game_date"],
                    "system_id": row["system_id"],
                    "prediction_correct": outcome,
                    "actual_points": round(line + self.rng.uniform(-8, 8)),
                    "line_value": line,
                    "predicted_points": row["predicted_points"],
                    "is_voided": False,
                }
            )


def build_demo_data(today: dt.date, zone: ZoneInfo) -> DemoData:
    b = _Builder(today, zone)
    players = b.players
    b.clean_day(-2, players[3:63], systems=2)
    b.predictions_before_rewrite(-1, players[:97])
    b.stale_cache(0, players[:49], cached=34, systems=3)
    b.upcoming(1, players[5:45], unwritten=players[200:202], poor={players[10], players[11]})
    b.grade(-2, graded=110, correct=60, high_edge=9, he_correct=5)  # 54.5 %
    b.grade(-1, graded=86, correct=36, high_edge=7, he_correct=0)  # 41.9 %, 0 of 7
    return b.data


def write_demo(
    path: str,
    today: dt.date,
    zone: ZoneInfo,
    config: Config | None = None,
    step: Step | None = None,
) -> DemoData:
    """Rebuild the demo warehouse file from scratch.

    With a config that keeps `history`, the incident is replayed as featmon would have
    lived it: the tables are loaded as they stood at 21:00, 22:35 and 23:15 the evening
    before today (local time), and featmon runs at each moment: it records the 18:05
    version before the 22:30:07 rewrite destroys it, records the rewrite, and at 23:15
    fires on the batch served at 23:12:42. Then everything else is loaded. `step` hears
    each stage (the CLI shows it on a terminal).
    """
    from pathlib import Path

    step = step or (lambda _: None)

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", ".wal"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    step("building the demo's rows")
    data = build_demo_data(today, zone)
    step("creating the tables")
    wh = DuckDBWarehouse(target, read_only=False)
    try:
        create_tables(wh)
    finally:
        wh.close()
    if config is not None and config.history is not None:
        evening = today - dt.timedelta(days=1)
        for clock, check in (("21:00", False), ("22:35", False), ("23:15", True)):
            moment = dt.datetime.combine(
                evening, dt.time.fromisoformat(clock), tzinfo=zone
            ).astimezone(dt.UTC)
            step(f"replaying featmon at {clock} the evening before")
            _load(target, data, moment)
            _replay(config, moment, check)
    step("loading the rest of the season's rows")
    _load(target, data, None)
    return data


def _written(row: dict[str, Any]) -> dt.datetime:
    return row["updated_at"] or row["created_at"]  # type: ignore[no-any-return]


def _load(target: Any, data: DemoData, moment: dt.datetime | None) -> None:
    """The tables as they stood at `moment` (None: now, grading included)."""
    store: dict[tuple[str, dt.date], dict[str, Any]] = {}
    for row in [*data.early_store, *data.store] if moment else data.store:
        if moment and _written(row) > moment:
            continue
        key = (row["player_lookup"], row["game_date"])
        if key not in store or _written(row) >= _written(store[key]):
            store[key] = row
    tables = {
        STORE_TABLE: list(store.values()),
        PREDICTIONS_TABLE: [r for r in data.predictions if not moment or r["created_at"] <= moment],
        RUN_HISTORY_TABLE: [r for r in data.runs if not moment or r["processed_at"] <= moment],
        GRADING_TABLE: [] if moment else data.grading,
    }
    wh = DuckDBWarehouse(target, read_only=False)
    try:
        for table, rows in tables.items():
            wh.execute(f"DELETE FROM {table}")
            insert_rows(wh, table, rows)
    finally:
        wh.close()


def _replay(config: Config, moment: dt.datetime, check: bool) -> None:
    """One featmon run at `moment`: history always, checks and alert state if `check`."""
    from checks.times import for_people
    from monitor.pipeline.cycle import record_history, run_cycle
    from monitor.pipeline.notify import notify
    from monitor.pipeline.window import resolve_window

    window = resolve_window(config, now=moment)
    if not check:
        problems = record_history(config, window, moment)
    else:
        report = run_cycle(config, window, now=moment)
        notify(config, report, moment, report.scope(configured_window=True, scheduled=True))
        problems = report.problems
    if problems:  # a demo that silently lost its history would tell the wrong story
        at = for_people(moment, config.zone())
        raise RuntimeError(f"demo replay at {at}: {'; '.join(problems)}")
