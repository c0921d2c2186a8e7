"""The `featmon` command as a real process: output contracts and exit codes."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from checks.registry import CHECKS
from monitor.config import parse_config
from monitor.pipeline.window import today_in
from tests.lab import ROOT, default_config_data, featmon
from tests.peers.slack import SlackStandIn

RESULT_KEYS = {
    "check",
    "game_date",
    "feature",
    "status",
    "severity",
    "total",
    "affected",
    "affected_ratio",
    "message",
    "details",
    "examples",
}


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    shutil.copy(ROOT / "config.yaml", folder / "config.yaml")
    proc = featmon("demo", "--no-check", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    assert (folder / ".featmon" / "demo.duckdb").exists()
    return folder


@pytest.fixture(scope="module")
def today() -> dt.date:
    return today_in(parse_config(default_config_data()))


def check_json(folder: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    proc = featmon("check", "--format", "json", *args, cwd=folder)
    return proc.returncode, json.loads(proc.stdout), proc.stderr


def find(
    results: list[dict[str, Any]], check: str, day: dt.date, feature: str | None = None
) -> dict[str, Any]:
    [r] = [
        r
        for r in results
        if r["check"] == check and r["game_date"] == day.isoformat() and r["feature"] == feature
    ]
    return r


def test_check_json_follows_the_contract_on_the_demo(demo_dir: Path, today: dt.date) -> None:
    code, doc, stderr = check_json(demo_dir)
    assert code == 0, stderr
    assert set(doc) == {"window", "status", "results", "non_finite_values"}
    assert doc["non_finite_values"] == 0
    assert doc["window"] == {
        "from": (today - dt.timedelta(days=1)).isoformat(),
        "to": (today + dt.timedelta(days=1)).isoformat(),
    }
    assert doc["status"] == "alert"
    assert all(set(r) == RESULT_KEYS for r in doc["results"])
    cache = find(doc["results"], "quality_mismatch", today)
    assert (cache["status"], cache["severity"], cache["total"], cache["affected"]) == (
        "alert",
        "critical",
        147,
        102,
    )
    assert cache["affected_ratio"] == 0.6939
    assert cache["details"]["logged_quality_avg"] == 65.46
    assert cache["details"]["store_quality_avg"] == 87.59
    assert 0 < len(cache["examples"]) <= 5
    example = cache["examples"][0]
    assert {
        "prediction_id",
        "player_lookup",
        "made_at",
        "written_at",
        "logged_quality",
        "store_quality",
    } <= set(example)
    assert example["made_at"].endswith("Z")
    # Feb 3 shape: nothing is stale by timestamps.
    assert find(doc["results"], "stale_predictions", today)["affected"] == 0
    rewrite = find(doc["results"], "stale_predictions", today - dt.timedelta(days=1))
    assert (rewrite["affected"], rewrite["total"]) == (97, 97)
    assert rewrite["details"]["max_lag_s"] == 2 * 3600 + 50 * 60 + 7
    missing = find(doc["results"], "missing_quality", today - dt.timedelta(days=1))
    assert (missing["affected"], missing["details"]["unparseable"]) == (3, 3)
    upcoming = find(doc["results"], "missing_features", today + dt.timedelta(days=1))
    assert (upcoming["affected"], upcoming["details"]["entities"]) == (4, 2)
    line = find(doc["results"], "feature_mismatch", today, "vegas_points_line")
    # Moved live lines are not compared (the store's copy is); "n/a" is unparseable, the
    # JSON null (no prop line) is not logged, and the older worker's live line is counted.
    assert (line["status"], line["details"]["unparseable"]) == ("ok", 1)
    assert (line["details"]["live_overrides"], line["details"]["missing_logged"]) == (1, 2)
    # Alerts go to stderr in JSON mode, stdout stays pure JSON.
    assert "ALERT    critical quality_mismatch" in stderr


def test_fail_on_alert_exit_codes(demo_dir: Path, today: dt.date) -> None:
    proc = featmon("check", "--fail-on-alert", cwd=demo_dir)
    assert proc.returncode == 1
    clean = (today - dt.timedelta(days=2)).isoformat()
    proc = featmon("check", "--fail-on-alert", "--date", clean, cwd=demo_dir)
    assert proc.returncode == 0, proc.stdout
    # The shared join, and the store summary store_freshness reads (dates without predictions).
    assert "status=ok alerts=0 errors=0 queries=2" in proc.stdout


def test_only_and_date_range(demo_dir: Path, today: dt.date) -> None:
    start, end = today - dt.timedelta(days=2), today
    code, doc, _ = check_json(
        demo_dir,
        "--only",
        "stale_predictions",
        "--only",
        "missing_features",
        "--from",
        start.isoformat(),
        "--to",
        end.isoformat(),
    )
    assert code == 0
    assert {r["check"] for r in doc["results"]} == {"stale_predictions", "missing_features"}
    assert {r["game_date"] for r in doc["results"]} == {
        (start + dt.timedelta(days=i)).isoformat() for i in range(3)
    }


@pytest.mark.parametrize(
    "args",
    [
        ["--date", "2026-02-03", "--from", "2026-02-01", "--to", "2026-02-03"],
        ["--from", "2026-02-03"],
        ["--only", "no_such_check"],
        ["--date", "yesterday"],
    ],
)
def test_usage_errors_exit_2(demo_dir: Path, args: list[str]) -> None:
    proc = featmon("check", *args, cwd=demo_dir)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr


def test_impact_json_and_csv(demo_dir: Path, today: dt.date) -> None:
    start, end = (
        (today - dt.timedelta(days=2)).isoformat(),
        (today + dt.timedelta(days=1)).isoformat(),
    )
    proc = featmon("impact", "--from", start, "--to", end, "--format", "json", cwd=demo_dir)
    assert proc.returncode == 0, proc.stderr
    every = json.loads(proc.stdout)["rows"]
    rows = {r["game_date"]: r for r in every if r["dimensions"] == {}}
    assert list(rows) == [(today + dt.timedelta(days=i)).isoformat() for i in range(-2, 2)]
    feb3 = rows[today.isoformat()]
    # Each date's total, then one row per model (`predictions.dimensions: [system_id]`):
    # the stale worker served all three models of the same 34 players.
    models = {
        r["dimensions"]["system_id"]: (r["affected"], r["total"])
        for r in every
        if r["game_date"] == today.isoformat() and r["dimensions"]
    }
    assert models == {"catboost_v8": (34, 49), "xgboost_v3": (34, 49), "ensemble_v2": (34, 49)}
    assert feb3 == {
        "dimensions": {},
        "game_date": today.isoformat(),
        "total": 147,
        "missing_quality": 0,
        "low_quality": 102,
        "stale": 0,
        "quality_mismatch": 102,
        "feature_mismatch": 102,
        "missing_features": 0,
        "affected": 102,
        "affected_pct": 69.4,
        # No grading yet for today's games.
        "hit_rate_affected": None,
        "hit_rate_unaffected": None,
        "graded_affected": 0,
        "graded_unaffected": 0,
        "high_edge_hit_rate_affected": None,
        "high_edge_hit_rate_unaffected": None,
        "high_edge_graded_affected": 0,
        "high_edge_graded_unaffected": 0,
    }
    assert rows[start]["affected"] == 0
    # The seed's Feb 2: every prediction affected, 41.9 % hit, high-edge 0 of 7; the clean
    # day before hit 54.5 %.
    feb2 = rows[(today - dt.timedelta(days=1)).isoformat()]
    assert (feb2["hit_rate_affected"], feb2["graded_affected"]) == (41.9, 86)
    assert (feb2["high_edge_hit_rate_affected"], feb2["high_edge_graded_affected"]) == (0.0, 7)
    assert feb2["graded_unaffected"] == 0
    # Hit rates per model add up to the date's: 36 of 86 over seven models.
    feb2_models = [r for r in every if r["game_date"] == feb2["game_date"] and r["dimensions"]]
    assert len(feb2_models) == 7
    assert sum(r["graded_affected"] for r in feb2_models) == 86
    correct = [round(r["hit_rate_affected"] * r["graded_affected"] / 100) for r in feb2_models]
    assert sum(correct) == 36
    assert (rows[start]["hit_rate_unaffected"], rows[start]["graded_unaffected"]) == (54.5, 110)
    proc = featmon("impact", "--from", start, "--to", end, "--format", "csv", cwd=demo_dir)
    parsed = list(csv.DictReader(io.StringIO(proc.stdout)))
    totals = [r for r in parsed if r["system_id"] == ""]  # the date's total: no model
    assert [r["affected_pct"] for r in totals] == [str(rows[d]["affected_pct"]) for d in rows]
    assert len(parsed) == len(every)
    [catboost] = [r for r in parsed if (r["game_date"], r["system_id"]) == (end, "catboost_v8")]
    assert (catboost["total"], catboost["missing_features"]) == ("42", "2")


def test_missing_warehouse_is_an_error_not_a_green_run(tmp_path: Path) -> None:
    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")
    code, doc, stderr = check_json(tmp_path)
    assert code == 3
    assert doc["status"] == "error"
    assert {r["status"] for r in doc["results"]} == {"error"}
    assert len(doc["results"]) == len(CHECKS)
    assert not (tmp_path / ".featmon").exists()  # nothing created on the way
    assert "run `featmon demo`" in doc["results"][0]["message"]
    assert "ERROR" in stderr


def test_a_broken_check_errors_alone_and_the_others_still_run(
    demo_dir: Path, today: dt.date
) -> None:
    data = default_config_data()
    data["predictions"]["features"]["points_avg_last_5"][0]["json_column"] = "renamed_snapshot"
    (demo_dir / "broken.yaml").write_text(yaml.safe_dump(data))
    code, doc, _ = check_json(demo_dir, "-c", "broken.yaml")
    assert code == 3
    errors = [r for r in doc["results"] if r["status"] == "error"]
    assert [r["check"] for r in errors] == ["feature_mismatch"]
    assert "renamed_snapshot" in errors[0]["message"]
    assert find(doc["results"], "quality_mismatch", today)["affected"] == 102


def test_sql_prints_a_pasteable_bigquery_script(demo_dir: Path) -> None:
    proc = featmon("sql", "quality_mismatch", "--date", "2026-02-03", cwd=demo_dir)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "DECLARE fm_date_from DATE DEFAULT DATE '2026-02-03';" in out
    assert "DECLARE fm_quality_tolerance FLOAT64 DEFAULT 0.5;" in out
    assert "`nba_predictions.player_prop_predictions`" in out
    assert "@" not in out.split("WITH", 1)[1]
    assert "BETWEEN fm_date_from AND fm_date_to" in out


def test_sql_native_runs_on_duckdb(demo_dir: Path, today: dt.date) -> None:
    import duckdb

    day = (today - dt.timedelta(days=1)).isoformat()
    proc = featmon("sql", "stale_predictions", "--native", "--date", day, cwd=demo_dir)
    assert proc.returncode == 0, proc.stderr
    params = json.loads(proc.stderr)
    con = duckdb.connect(str(demo_dir / ".featmon" / "demo.duckdb"), read_only=True)
    try:
        cur = con.execute(proc.stdout.rstrip().rstrip(";"), params)
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    finally:
        con.close()
    # The date's total (date_total = 1), then one row per model (dim_0 = system_id).
    [row] = [r for r in rows if r["date_total"] == 1]
    assert (row["total"], row["stale_predictions__flag_count"]) == (97, 97)
    per_model = [r for r in rows if r["date_total"] == 0]
    assert len(per_model) == 7 and sum(r["total"] for r in per_model) == 97


def test_demo_shows_the_incident(tmp_path: Path) -> None:
    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")
    proc = featmon("demo", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "ALERT    critical quality_mismatch" in out
    assert "ALERT    critical stale_predictions" in out
    assert "69.4" in out  # the impact table's Feb 3 row
    assert "status=alert" in out
    assert "What Slack would get for the worst group" in out and "regenerate-with-supersede" in out
    preview = out.split("What Slack would get for the worst group")[1]
    # the incident date's group: its alerts in one message, worst first
    assert preview.splitlines()[1].startswith(":rotating_light: CRITICAL 2026-")
    assert preview.index("CRITICAL quality_mismatch") < preview.index("WARNING feature_mismatch")
    # Which models the incident touched: all three of the cached players' predictions.
    assert "*By system_id:* catboost_v8 34/49, ensemble_v2 34/49, xgboost_v3 34/49" in preview


def test_demo_leaves_the_configured_warehouse_and_slack_alone(
    tmp_path: Path, slack: SlackStandIn
) -> None:
    """A config pointing at a production file and a real channel: the demo builds its own
    file beside the config and posts nothing."""
    data = default_config_data()
    data["warehouse"]["path"] = "prod.duckdb"
    data["alerts"]["slack"] = {"token": "xoxb-test", "base_url": slack.base_url}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(data))
    production = tmp_path / "prod.duckdb"
    production.write_bytes(b"precious")
    proc = featmon("demo", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert production.read_bytes() == b"precious"
    assert (tmp_path / ".featmon" / "demo.duckdb").exists()
    assert slack.calls == []
    assert "no notifications sent" in proc.stdout


def test_impact_table_is_readable_at_100_columns(demo_dir: Path, today: dt.date) -> None:
    start, end = (
        (today - dt.timedelta(days=2)).isoformat(),
        (today + dt.timedelta(days=1)).isoformat(),
    )
    proc = featmon(
        "impact", "--from", start, "--to", end, cwd=demo_dir, env={**os.environ, "COLUMNS": "100"}
    )
    assert proc.returncode == 0, proc.stderr
    assert max(len(line) for line in proc.stdout.splitlines()) <= 100
    assert "…" not in proc.stdout
    assert "game_date" in proc.stdout
    for offset in range(-2, 2):
        assert (today + dt.timedelta(days=offset)).isoformat() in proc.stdout
    # Then the per-model table: one line per (date, model).
    by_model = proc.stdout.split("featmon impact by system_id")[1]
    assert re.search(rf"{today.isoformat()} │ xgboost_v3 +│ +49 │ +34 │ +69\.4", by_model)


def test_every_investigation_command_works_without_the_production_secrets(
    demo_dir: Path, today: dt.date
) -> None:
    """The Slack message tells on-call to run these: none may need the Slack token, which a
    laptop does not have. The secret is resolved only when a sink is built to deliver."""
    data = yaml.safe_load((demo_dir / "config.yaml").read_text())
    data["alerts"]["slack"] = {"token": "${SLACK_BOT_TOKEN}"}
    (demo_dir / "secret.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    env = {k: v for k, v in os.environ.items() if k != "SLACK_BOT_TOKEN"}
    day = today.isoformat()
    commands = [
        ["validate"],
        ["alerts"],
        ["sql", "quality_mismatch", "--date", day],
        ["impact", "--date", day],
        ["check", "--dry-run"],
        ["explain", "--date", day],
        ["timeline", "--date", day],
    ]
    for command in commands:
        proc = featmon(command[0], "-c", "secret.yaml", *command[1:], cwd=demo_dir, env=env)
        assert proc.returncode == 0, (command, proc.stderr)
