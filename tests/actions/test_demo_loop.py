"""`featmon demo --loop` end to end: a real process in a temp dir tells the whole loop
(store write -> signal; stale batch -> alert -> regeneration -> recovery) on the demo's
clock, and leaves the warehouse with the regenerated predictions active.

The demo's today is pinned with FEATMON_NOW (noon UTC on 2026-02-03: today is 2026-02-03 in
New York, EST), so the evening the loop replays is 2026-02-02's.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path

import duckdb
import pytest
import yaml

from monitor.demo.loop import KEY
from monitor.demo.schema import PREDICTIONS_TABLE
from tests.lab import ROOT, default_config_data, featmon
from tests.peers.slack import SlackStandIn

NOW = "2026-02-03T12:00:00+00:00"
TODAY = "2026-02-03"


@pytest.fixture(scope="module")
def looped(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    folder = tmp_path_factory.mktemp("loop")
    shutil.copy(ROOT / "config.yaml", folder / "config.yaml")
    proc = featmon("demo", "--loop", cwd=folder, env=_env())
    assert proc.returncode == 0, proc.stderr
    return folder / ".featmon" / "demo.duckdb", proc.stdout, proc.stderr


def _env() -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("FEATMON_")}
    return {**env, "FEATMON_NOW": NOW}


def _step(out: str, number: int) -> list[str]:
    """The lines of step `number` of the printed loop."""
    text = out.split(f"\n{number}. ", 1)[1]
    return text.split(f"\n{number + 1}. ", 1)[0].splitlines()


def test_the_store_write_is_announced_as_a_worker_receives_it(
    looped: tuple[Path, str, str],
) -> None:
    _, out, _ = looped
    lines = _step(out, 1)
    assert lines[0].startswith("store write -> signal")
    rewrite = lines.index(
        "   2026-02-02 22:35 EST  featmon records the store's write of 2026-02-03 at "
        "22:30:07 EST and announces it:"
    )
    event = json.loads(lines[rewrite + 1])
    assert event == {
        "game_date": TODAY,
        "written_at": "2026-02-03T03:30:07Z",
        "rows": 49,
        "quality_avg": 87.59,
        "fingerprint": event["fingerprint"],
        "source": "featmon",
        "table": "nba_predictions.ml_feature_store_v2",
    }
    assert re.fullmatch(r"[0-9a-f]{16}", event["fingerprint"])
    # the first version (18:05, quality 65.46) was announced by the 21:00 run, before it
    first = json.loads(lines[rewrite - 1])
    assert (first["written_at"], first["quality_avg"]) == ("2026-02-02T23:05:00Z", 65.46)
    assert first["fingerprint"] != event["fingerprint"]


def test_the_stale_batch_alerts_with_the_grouped_header(looped: tuple[Path, str, str]) -> None:
    _, out, _ = looped
    lines = _step(out, 2)
    assert lines[0].startswith("stale batch -> alert")
    assert lines[1] == "   2026-02-02 23:15 EST  :rotating_light: CRITICAL 2026-02-03 · 4 firing"
    assert (
        "102 predictions made 2026-02-02 23:12:42 EST used the version written 18:05 EST"
        in (lines[2])
    )


def test_the_request_is_accepted_with_a_batch_and_the_batch_regenerates(
    looped: tuple[Path, str, str],
) -> None:
    _, out, _ = looped
    lines = _step(out, 3)
    assert lines[0].startswith("alert -> regeneration (remediation.mode auto")
    post = re.fullmatch(
        r"   2026-02-02 23:15 EST  POST http://127\.0\.0\.1:\d+/regenerate-with-supersede (.*)",
        lines[1],
    )
    assert post is not None, lines[1]
    body = json.loads(post.group(1))
    assert body == {
        "game_date": TODAY,
        "reason": "featmon quality_mismatch",
        "metadata": {"check": "quality_mismatch", "fingerprint": body["metadata"]["fingerprint"]},
    }
    assert re.fullmatch(r"[0-9a-f]{16}", body["metadata"]["fingerprint"])
    assert lines[2] == '   -> 202 {"status": "accepted", "batch_id": "demo-batch-1"}'
    assert lines[3] == (
        "   2026-02-02 23:19 EST  batch demo-batch-1: 147 predictions superseded, "
        "147 regenerated from the store's current rows"
    )


def test_the_next_run_resolves_with_the_recovery_figures(looped: tuple[Path, str, str]) -> None:
    _, out, _ = looped
    lines = _step(out, 4)
    assert lines[0] == "the next run -> recovery"
    assert lines[1] == (
        "   2026-02-02 23:25 EST  resolved: feature_mismatch, feature_mismatch, low_quality, "
        "quality_mismatch"
    )
    # The first bad prediction is the 23:12:42 batch, and the fix superseded its 147: the
    # date's 19:00 run, replaced by that batch before anything went wrong, is not the fix's.
    assert lines[2] == (
        "   Recovery: detected 2m 18s after the first bad prediction; regeneration requested "
        "0s after the alert, batch demo-batch-1; recovered 10m 00s after the request; "
        "147 predictions superseded."
    )


def test_the_warehouse_ends_with_the_regenerated_predictions_active(
    looped: tuple[Path, str, str],
) -> None:
    path, _, _ = looped
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute(
            f"SELECT is_active, superseded, predicted_at, feature_quality_score, "
            f"features_snapshot ->> '$.feature_quality_score' FROM {PREDICTIONS_TABLE} "
            "WHERE game_date = $day",
            {"day": dt.date.fromisoformat(TODAY)},
        ).fetchall()
    finally:
        con.close()
    batch = dt.datetime(2026, 2, 3, 4, 19, tzinfo=dt.UTC)  # 23:19 EST
    active = [r for r in rows if r[0]]
    assert len(active) == 147
    assert all(not r[1] and r[2] == batch for r in active)
    assert {(float(r[3]), float(r[4])) for r in active} == {(87.59, 87.59)}
    old = [r for r in rows if not r[0]]
    assert all(r[1] for r in old)
    assert sum(r[2] < batch and r[2] > batch - dt.timedelta(minutes=10) for r in old) == 147


def test_the_demo_key_stays_in_the_request(looped: tuple[Path, str, str]) -> None:
    path, out, err = looped
    assert KEY not in out and KEY not in err
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'featmon_state'"
        ).fetchall()
        state = [con.execute(f"SELECT * FROM featmon_state.{t}").fetchall() for (t,) in tables]
    finally:
        con.close()
    assert "remediations" in {t for (t,) in tables}
    assert KEY not in json.dumps(state, default=str)


def test_the_loop_notifies_no_sink_without_notify(tmp_path: Path, slack: SlackStandIn) -> None:
    data = default_config_data()
    data["alerts"]["slack"] = {"token": "xoxb-test", "base_url": slack.base_url}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(data))
    proc = featmon("demo", "--loop", cwd=tmp_path, env=_env())
    assert proc.returncode == 0, proc.stderr
    assert "batch demo-batch-1" in proc.stdout
    assert slack.calls == []
    assert "no notifications sent: the demo leaves slack alone" in proc.stdout
