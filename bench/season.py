"""Season benchmark: featmon's one-pass impact query vs the hand-written limit vs pandas.

Generates a season on the embedded warehouse (production table shapes; 210 game dates x
~1,800 predictions over 350 players with 7-16 systems each; `--scale N` multiplies the
predictions per date, the store keeps its size), then in one run times:
  (a) `featmon impact` over the whole season, end to end in-process (config, SQL
      generation, transpile, query, rows),
  (b) the same answer from one hand-written DuckDB query (the limit),
  (c) pandas: pull both tables, merge, parse the JSON in Python (the naive baseline),
checks that all three agree, and measures featmon's peak RSS (a fresh `featmon impact`
process) at 1x and at --big-scale. Then, on a season with exactly 10 systems per player:
  (d) `featmon impact` with `predictions.dimensions: [system_id]` (per date and model, and
      the date's total, from the same one query),
  (e) the hand-written query grouped by (game_date, system_id),
checking they agree (model rows, and totals as their sums). The last line is
machine-readable.

Usage: python bench/season.py [--dates 210] [--per-date 1800] [--big-scale 10] [--quick]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.config import Config, parse_config  # noqa: E402
from monitor.demo.incident import FEATURE_NAMES, FEATURE_VERSION  # noqa: E402
from monitor.demo.schema import create_tables  # noqa: E402
from monitor.pipeline.impact import run_impact  # noqa: E402
from monitor.pipeline.window import DateWindow  # noqa: E402
from monitor.warehouse.duckdb import DuckDBWarehouse  # noqa: E402

FIRST_DATE = dt.date(2025, 10, 21)
PLAYERS = 350


def bench_config(
    path: Path, memory_limit: str | None, dimensions: list[str] | None = None
) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "config.yaml").read_text())
    data["warehouse"] = {"backend": "duckdb", "path": str(path)}
    data["predictions"]["dimensions"] = dimensions or []
    # The generated season has no grading table, and the hand-written baseline is the
    # prediction-to-store impact table: compare exactly that.
    data.pop("grading", None)
    data.pop("history", None)
    data["checks"].pop("hit_rate_drop", None)
    if memory_limit:
        data["warehouse"]["memory_limit"] = memory_limit
    return data


def generate(
    path: Path, dates: int, per_date: int, scale: int, systems: int | None = None
) -> tuple[int, int]:
    """A season in native DuckDB SQL (fast to build). Per date, every player has a store row
    (rewritten once on a third of the dates); ~per_date predictions spread over the players
    with 7-16 systems each; 1 in 20 prediction dates predate the rewrite, 1 in 8 rows come
    from a stale cache, 2 dates carry the nested-snapshot logging bug, and a few rows are
    malformed or superseded. As the platform's worker does, critical_features logs the live
    prop line as vegas_points_line (moved from the store's on 1 row in 10) and the store's
    value it used as fs_vegas_points_line. `systems`: exactly that many systems per player."""
    path.unlink(missing_ok=True)
    wh = DuckDBWarehouse(path, read_only=False)
    create_tables(wh)
    names_sql = "[" + ", ".join(f"'{n}'" for n in FEATURE_NAMES) + "]"
    feature_exprs = ", ".join(
        f"round(((hash(p.i, d.i, {k}) % 1000) / 40.0)::DOUBLE + "
        f"CASE WHEN {k} < 2 THEN (p.i % 30) ELSE 0 END, 2)"
        for k in range(len(FEATURE_NAMES))
    )
    wh.execute(f"""
        INSERT INTO nba_predictions.ml_feature_store_v2
        SELECT
          'player' || p.i, DATE '{FIRST_DATE}' + d.i::INTEGER, 'g' || d.i || '_' || (p.i % 15),
          [{feature_exprs}], {names_sql}, {len(FEATURE_NAMES)}, '{FEATURE_VERSION}',
          (85 + (hash(p.i, d.i) % 1000) / 100.0)::DECIMAL(5,2), TRUE,
          TIMESTAMPTZ '{FIRST_DATE} 20:00:00+00' + INTERVAL (d.i - 1) DAY,
          CASE WHEN d.i % 3 = 0
               THEN TIMESTAMPTZ '{FIRST_DATE} 22:30:07+00' + INTERVAL (d.i - 1) DAY END
        FROM range({dates}) d(i), range({PLAYERS}) p(i)
    """)
    # Systems per player 7..16; a player plays on a date when it falls in the date's share.
    avg_systems = systems or 11.5
    per_player = str(systems) if systems else "7 + (p.i % 10)"
    share = min(1.0, per_date / (PLAYERS * avg_systems))
    snapshot_pairs = ", ".join(f"'{n}', f[{k + 1}]" for k, n in enumerate(FEATURE_NAMES))
    wh.execute(f"""
        INSERT INTO nba_predictions.player_prop_predictions
        WITH base AS (
          SELECT d.i AS di, p.i AS pi, s.i AS si, r.i AS ri, st.features AS f,
                 st.feature_quality_score::DOUBLE AS q,
                 COALESCE(st.updated_at, st.created_at) AS w, st.created_at AS c
          FROM range({dates}) d(i)
          JOIN range({PLAYERS}) p(i) ON (hash(p.i, d.i, 'plays') % 10000) < {int(share * 10000)}
          JOIN range(16) s(i) ON s.i < {per_player}
          JOIN range({scale}) r(i) ON TRUE
          JOIN nba_predictions.ml_feature_store_v2 st
            ON st.player_lookup = 'player' || p.i
           AND st.game_date = DATE '{FIRST_DATE}' + d.i::INTEGER
        ), shaped AS (
          SELECT *,
            (di % 20 = 7) AS early,
            (hash(pi, di, si, ri) % 8 = 0) AS cached,
            (di IN (40, 41)) AS nested_bug,
            (hash(pi, di, si, ri, 'bad') % 500 = 0) AS malformed,
            (hash(pi, di, si, ri, 'line') % 10 = 0) AS line_moved,
            (hash(pi, di, si, ri, 'sup') % 50 = 0) AS superseded
          FROM base
        ), logged AS (
          SELECT *,
            CASE WHEN cached THEN q - 22.1 ELSE q END AS lq,
            CASE WHEN cached THEN list_transform(f, lambda x: x * 0.53) ELSE f END AS lf,
            CASE WHEN early THEN c + INTERVAL 90 MINUTE ELSE w + INTERVAL 40 MINUTE END AS made
          FROM shaped
        ), json_built AS (
          SELECT *,
            json_object({snapshot_pairs.replace("f[", "lf[")},
                        'feature_version', '{FEATURE_VERSION}',
                        'feature_quality_score',
                        CASE WHEN malformed THEN to_json('n/a') ELSE to_json(lq) END
                       )::VARCHAR AS snap,
            lf[19] + CASE WHEN line_moved THEN 1.5 ELSE 0 END AS live_line
          FROM logged
        )
        SELECT
          uuid()::VARCHAR, 'system_' || si, 'player' || pi, DATE '{FIRST_DATE}' + di::INTEGER,
          'g' || di || '_' || (pi % 15), 20.5, 19.5, 'OVER', 70.0,
          NOT superseded, superseded, NULL,
          made, made, CASE WHEN di % 11 = 0 THEN NULL ELSE made END,
          CASE WHEN nested_bug OR malformed OR di < 60 THEN NULL ELSE lq END,
          CASE WHEN nested_bug
               THEN json_object('vegas_points_line', live_line, 'fs_vegas_points_line', lf[19],
                                'features_snapshot',
                                CASE WHEN malformed THEN left(snap, 40) ELSE snap END)
               ELSE json_object('vegas_points_line', live_line, 'fs_vegas_points_line', lf[19],
                                'team_win_pct', lf[18]) END,
          CASE WHEN nested_bug THEN NULL ELSE snap::JSON END
        FROM json_built
    """)
    stores = wh.con.execute("SELECT count(*) FROM nba_predictions.ml_feature_store_v2").fetchone()
    preds = wh.con.execute(
        "SELECT count(*) FROM nba_predictions.player_prop_predictions"
    ).fetchone()
    wh.close()
    assert stores and preds
    return int(stores[0]), int(preds[0])


def featmon_impact(config: Config, window: DateWindow) -> list[dict[str, Any]]:
    with DuckDBWarehouse(config.warehouse_path(), memory_limit=config.warehouse.memory_limit) as wh:
        return [r.as_dict() for r in run_impact(config, wh, window)]


def hand_written(
    path: Path, window: DateWindow, memory_limit: str | None, by_model: bool = False
) -> list[dict[str, Any]]:
    """The limit: what a person would write in DuckDB for exactly the default config,
    knowing DuckDB's tricks (one multi-path json_extract_string per JSON column,
    list_position for the store's feature vector). `by_model`: grouped by (game_date,
    system_id), the date totals left to the reader (the counts add up)."""
    import duckdb

    snap_keys = [
        "feature_quality_score",
        "points_avg_last_5",
        "points_avg_last_10",
        "fs_vegas_points_line",
    ]
    # The live vegas_points_line is never compared: only the store's copy is read.
    crit_keys = ["feature_quality_score", "fs_vegas_points_line", "features_snapshot"]

    def loc(col: str, key: str) -> str:
        keys, alias = (snap_keys, "sv") if col == "features_snapshot" else (crit_keys, "cv")
        return f"TRY_CAST({alias}[{keys.index(key) + 1}] AS DOUBLE)"

    def nested(key: str) -> str:
        nested_at = crit_keys.index("features_snapshot") + 1
        return f"TRY_CAST(TRY_CAST(cv[{nested_at}] AS JSON) ->> '$.{key}' AS DOUBLE)"

    def feature(key: str) -> str:
        return f"COALESCE({loc('features_snapshot', key)}, {nested(key)})"

    def paths(keys: list[str]) -> str:
        return "[" + ", ".join(f"'$.{k}'" for k in keys) + "]"

    keys = "game_date, system_id" if by_model else "game_date"
    sql = f"""
    WITH s AS (
      SELECT player_lookup, game_date, COALESCE(updated_at, created_at) AS w,
             feature_quality_score::DOUBLE AS q,
             features[list_position(feature_names, 'points_avg_last_5')] AS s0,
             features[list_position(feature_names, 'points_avg_last_10')] AS s1,
             features[list_position(feature_names, 'vegas_points_line')] AS s2
      FROM nba_predictions.ml_feature_store_v2
      WHERE game_date BETWEEN $from AND $to
      QUALIFY row_number() OVER (PARTITION BY player_lookup, game_date ORDER BY w DESC) = 1
    ), p AS (
      SELECT game_date, system_id, player_lookup, COALESCE(predicted_at, created_at) AS m,
             COALESCE(feature_quality_score, {loc("features_snapshot", "feature_quality_score")},
                      {loc("critical_features", "feature_quality_score")},
                      {nested("feature_quality_score")}) AS lq,
             {feature("points_avg_last_5")} AS l0, {feature("points_avg_last_10")} AS l1,
             COALESCE({loc("critical_features", "fs_vegas_points_line")},
                      {loc("features_snapshot", "fs_vegas_points_line")}) AS l2
      FROM (SELECT *,
                   json_extract_string(features_snapshot, {paths(snap_keys)}) AS sv,
                   json_extract_string(critical_features, {paths(crit_keys)}) AS cv
            FROM nba_predictions.player_prop_predictions)
      WHERE game_date BETWEEN $from AND $to AND is_active
    ), j AS (
      SELECT p.*, s.w, s.q, s.s0, s.s1, s.s2, s.player_lookup IS NOT NULL AS present,
        lq IS NULL AS f_mq,
        COALESCE(lq < 70, FALSE) AS f_lq,
        COALESCE(s.player_lookup IS NOT NULL AND m < s.w, FALSE) AS f_st,
        COALESCE(abs(lq - s.q) > 0.5 + 1e-9, FALSE) AS f_qm,
        COALESCE(abs(l0 - s0) > 0.05 + 1e-9, FALSE) OR COALESCE(abs(l1 - s1) > 0.05 + 1e-9, FALSE)
          OR COALESCE(abs(l2 - s2) > 0.05 + 1e-9, FALSE) AS f_fm,
        s.player_lookup IS NULL AS f_mf
      FROM p LEFT JOIN s ON p.player_lookup = s.player_lookup AND p.game_date = s.game_date
    )
    SELECT {keys}, count(*) AS total, count_if(f_mq) AS missing_quality,
           count_if(f_lq) AS low_quality, count_if(f_st) AS stale,
           count_if(f_qm) AS quality_mismatch, count_if(f_fm) AS feature_mismatch,
           count_if(f_mf) AS missing_features,
           count_if(f_mq OR f_lq OR f_st OR f_qm OR f_fm OR f_mf) AS affected
    FROM j GROUP BY {keys} ORDER BY {keys}
    """
    settings = {"memory_limit": memory_limit} if memory_limit else {}
    con = duckdb.connect(str(path), read_only=True, config=settings)
    try:
        cur = con.execute(sql, {"from": window.start, "to": window.end})
        names = [d[0] for d in cur.description or []]
        rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    finally:
        con.close()
    for r in rows:
        r["affected_pct"] = round(100.0 * r["affected"] / r["total"], 1) if r["total"] else 0.0
    return rows


def pandas_baseline(path: Path, window: DateWindow) -> list[dict[str, Any]]:
    """Pull both tables (partition-filtered) into pandas, merge, and parse JSON in Python."""
    import duckdb
    import pandas as pd

    con = duckdb.connect(str(path), read_only=True)
    params = {"from": window.start, "to": window.end}
    try:
        store = con.execute(
            "SELECT * FROM nba_predictions.ml_feature_store_v2 "
            "WHERE game_date BETWEEN $from AND $to",
            params,
        ).fetchdf()
        preds = con.execute(
            "SELECT * FROM nba_predictions.player_prop_predictions "
            "WHERE game_date BETWEEN $from AND $to",
            params,
        ).fetchdf()
    finally:
        con.close()
    preds = preds[preds["is_active"].fillna(False).astype(bool)]
    store["w"] = store["updated_at"].fillna(store["created_at"])
    store = store.sort_values("w").drop_duplicates(["player_lookup", "game_date"], keep="last")
    for k, name in enumerate(("points_avg_last_5", "points_avg_last_10", "vegas_points_line")):
        store[f"s{k}"] = [
            float(v[list(n).index(name)]) if name in list(n) else math.nan
            for n, v in zip(store["feature_names"], store["features"], strict=True)
        ]
    store["q"] = store["feature_quality_score"].astype(float)

    def parse(text: Any) -> Any:
        if text is None or (isinstance(text, float) and math.isnan(text)):
            return None
        try:
            return json.loads(text) if isinstance(text, str) else text
        except ValueError:
            return None

    def num(doc: Any, key: str) -> float | None:
        if not isinstance(doc, dict) or doc.get(key) is None:
            return None
        try:
            return float(doc[key])
        except (TypeError, ValueError):
            return None

    snaps = [parse(t) for t in preds["features_snapshot"]]
    crits = [parse(t) for t in preds["critical_features"]]
    nested = [parse(c.get("features_snapshot")) if isinstance(c, dict) else None for c in crits]

    def first(*values: float | None) -> float:
        for v in values:
            if v is not None and not (isinstance(v, float) and math.isnan(v)):
                return float(v)
        return math.nan

    col_q = preds["feature_quality_score"].tolist()
    preds = preds.assign(
        lq=[
            first(
                c,
                num(s, "feature_quality_score"),
                num(k, "feature_quality_score"),
                num(n, "feature_quality_score"),
            )
            for c, s, k, n in zip(col_q, snaps, crits, nested, strict=True)
        ],
        l0=[
            first(num(s, "points_avg_last_5"), num(n, "points_avg_last_5"))
            for s, n in zip(snaps, nested, strict=True)
        ],
        l1=[
            first(num(s, "points_avg_last_10"), num(n, "points_avg_last_10"))
            for s, n in zip(snaps, nested, strict=True)
        ],
        l2=[
            first(num(k, "fs_vegas_points_line"), num(s, "fs_vegas_points_line"))
            for k, s in zip(crits, snaps, strict=True)
        ],
        m=preds["predicted_at"].fillna(preds["created_at"]),
    )
    j = preds.merge(
        store[["player_lookup", "game_date", "w", "q", "s0", "s1", "s2"]],
        on=["player_lookup", "game_date"],
        how="left",
        indicator=True,
    )
    present = j["_merge"] == "both"
    eps = 1e-9
    j["f_mq"] = j["lq"].isna()
    j["f_lq"] = j["lq"] < 70
    j["f_st"] = present & (j["m"] < j["w"])
    j["f_qm"] = (j["lq"] - j["q"]).abs() > 0.5 + eps
    j["f_fm"] = (
        ((j["l0"] - j["s0"]).abs() > 0.05 + eps)
        | ((j["l1"] - j["s1"]).abs() > 0.05 + eps)
        | ((j["l2"] - j["s2"]).abs() > 0.05 + eps)
    )
    j["f_mf"] = ~present
    flags = ["f_mq", "f_lq", "f_st", "f_qm", "f_fm", "f_mf"]
    j["affected"] = j[flags].any(axis=1)
    g = j.groupby("game_date")
    out = pd.DataFrame(
        {
            "total": g.size(),
            "missing_quality": g["f_mq"].sum(),
            "low_quality": g["f_lq"].sum(),
            "stale": g["f_st"].sum(),
            "quality_mismatch": g["f_qm"].sum(),
            "feature_mismatch": g["f_fm"].sum(),
            "missing_features": g["f_mf"].sum(),
            "affected": g["affected"].sum(),
        }
    ).reset_index()
    rows = []
    for rec in out.to_dict("records"):
        row = {k: (int(v) if k != "game_date" else v) for k, v in rec.items()}
        row["game_date"] = pd.Timestamp(row["game_date"]).date()
        row["affected_pct"] = round(100.0 * row["affected"] / row["total"], 1)
        rows.append(row)
    return rows


def timed(fn: Any, *args: Any, repeat: int = 3) -> tuple[float, Any]:
    best, result = math.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn(*args)
        best = min(best, time.perf_counter() - start)
    return best, result


def peak_rss_mb(config_file: Path, window: DateWindow) -> float:
    """Peak RSS of a fresh `featmon impact` process (the whole process, DuckDB included)."""
    probe = (
        "import resource, subprocess, sys\n"
        "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            probe,
            sys.executable,
            "-m",
            "monitor",
            "impact",
            "-c",
            str(config_file),
            "--from",
            window.start.isoformat(),
            "--to",
            window.end.isoformat(),
            "--format",
            "json",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return int(out.strip()) / 1024.0


def comparable(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    keys = [
        "game_date",
        "total",
        "missing_quality",
        "low_quality",
        "stale",
        "quality_mismatch",
        "feature_mismatch",
        "missing_features",
        "affected",
        "affected_pct",
    ]
    return [tuple(r[k] for k in keys) for r in rows]


def featmon_by_model(config: Config, window: DateWindow) -> list[dict[str, Any]]:
    """(d): featmon impact with the system_id dimension, model rows and date totals."""
    with DuckDBWarehouse(config.warehouse_path(), memory_limit=config.warehouse.memory_limit) as wh:
        return [
            {**r.as_dict(), "system_id": r.dimensions.get("system_id")}
            for r in run_impact(config, wh, window)
        ]


def agree_by_model(a: list[dict[str, Any]], e: list[dict[str, Any]]) -> None:
    """featmon's model rows are the hand-written ones; its totals are their sums."""
    models = [r for r in a if r["system_id"] is not None]
    key = ("game_date", "system_id")
    assert [tuple(r[k] for k in key) for r in models] == [tuple(r[k] for k in key) for r in e]
    assert comparable(models) == comparable(e), "featmon and the hand-written query disagree"
    totals = {r["game_date"]: r for r in a if r["system_id"] is None}
    for day, total in totals.items():
        for k in ("total", "stale", "quality_mismatch", "feature_mismatch", "affected"):
            assert total[k] == sum(r[k] for r in e if r["game_date"] == day), (day, k)


def by_model_season(work: Path, args: argparse.Namespace, window: DateWindow) -> float:
    """The season at 10 systems per player: (d) vs (e); returns the ratio d / e."""
    path = work / "season_10_models.duckdb"
    started = time.perf_counter()
    stores, preds = generate(path, args.dates, args.per_date, 1, systems=10)
    print(
        f"10 models: generated {stores:,} store rows and {preds:,} predictions "
        f"in {time.perf_counter() - started:.1f}s ({path})"
    )
    config = parse_config(bench_config(path, args.memory_limit, dimensions=["system_id"]))
    # Interleaved (d, e, d, e, ...): on a shared machine a burst of load then hits both.
    t_d = t_e = math.inf
    for _ in range(args.repeat):
        t, d = timed(featmon_by_model, config, window, repeat=1)
        t_d = min(t_d, t)
        t, e = timed(hand_written, path, window, args.memory_limit, True, repeat=1)
        t_e = min(t_e, t)
    agree_by_model(d, e)
    print(f"10 models: (d) featmon impact by system_id {t_d:8.3f}s  ({len(e)} date-model rows)")
    print(f"10 models: (e) hand-written GROUP BY model {t_e:8.3f}s  (same rows)")
    return t_d / t_e


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--dates", type=int, default=210)
    ap.add_argument("--per-date", type=int, default=1800)
    ap.add_argument("--big-scale", type=int, default=10)
    ap.add_argument(
        "--memory-limit",
        default="128MB",
        help="warehouse.memory_limit for featmon's DuckDB: the bound on its page cache",
    )
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="tiny sizes, for the test suite")
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args()
    if args.quick:
        args.dates, args.per_date, args.big_scale, args.repeat = 4, 60, 2, 1

    work = args.workdir or Path(tempfile.mkdtemp(prefix="featmon-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    window = DateWindow(FIRST_DATE, FIRST_DATE + dt.timedelta(days=args.dates - 1))
    figures: dict[str, float] = {}
    for scale in (1, args.big_scale):
        path = work / f"season_x{scale}.duckdb"
        started = time.perf_counter()
        stores, preds = generate(path, args.dates, args.per_date, scale)
        print(
            f"x{scale}: generated {stores:,} store rows and {preds:,} predictions "
            f"in {time.perf_counter() - started:.1f}s ({path})"
        )
        data = bench_config(path, args.memory_limit)
        config_file = work / f"config_x{scale}.yaml"
        config_file.write_text(yaml.safe_dump(data))
        config = parse_config(data)
        if scale == 1:
            t_a, a = timed(featmon_impact, config, window, repeat=args.repeat)
            t_b, b = timed(hand_written, path, window, args.memory_limit, repeat=args.repeat)
            t_c, c = timed(pandas_baseline, path, window, repeat=1)
            assert comparable(a) == comparable(b), "featmon and the hand-written query disagree"
            assert comparable(a) == comparable(c), "featmon and the pandas baseline disagree"
            affected = sum(r["affected"] for r in a)
            print(
                f"x1: (a) featmon impact       {t_a:8.3f}s  ({len(a)} dates, {affected:,} affected)"
            )
            print(f"x1: (b) hand-written DuckDB  {t_b:8.3f}s  (same rows)")
            print(f"x1: (c) pandas pull + merge  {t_c:8.3f}s  (same rows)")
            figures.update(a=t_a, b=t_b, c=t_c)
        rss = peak_rss_mb(config_file, window)
        print(f"x{scale}: featmon impact peak RSS {rss:8.1f} MiB")
        figures[f"rss{scale}"] = rss
    ratio_models = by_model_season(work, args, window)
    ratio_sql = figures["a"] / figures["b"]
    ratio_pandas = figures["c"] / figures["a"]
    rss_ratio = figures[f"rss{args.big_scale}"] / figures["rss1"]
    print(
        f"ratio_vs_sql={ratio_sql:.2f} ratio_vs_pandas={ratio_pandas:.1f} "
        f"rss_{args.big_scale}x_over_1x={rss_ratio:.2f} "
        f"ratio_by_model_vs_sql={ratio_models:.2f}"
    )


if __name__ == "__main__":
    main()
