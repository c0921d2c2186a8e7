"""The BigQuery adapter against a real BigQuery REST peer (bqemulator), over the wire.

Parity: every check gives the same results on the emulator as on DuckDB for the same
production-shaped data. Wire: jobs carry labels, maximumBytesBilled and parameters.
Failure: transient errors are retried, permanent ones explained, budgets enforced.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from checks.base import CheckResult
from checks.registry import CHECKS
from monitor.config import Config, parse_config
from monitor.demo.incident import build_demo_data, write_demo
from monitor.pipeline.cycle import run_cycle
from monitor.pipeline.impact import run_impact
from monitor.pipeline.window import DateWindow
from monitor.warehouse import open_warehouse
from tests.lab import DAY, ROOT, Lab, default_config_data, featmon, utc, write_config
from tests.peers import bigquery as bq_peer
from tests.peers import free_port
from tests.peers.slack import SlackStandIn

TODAY = dt.date(2026, 2, 3)
WINDOW = DateWindow(TODAY - dt.timedelta(days=2), TODAY + dt.timedelta(days=1))


def emulator_python() -> str | None:
    configured = os.environ.get("FEATMON_BQEMULATOR_PYTHON")
    if configured:
        return configured
    local = ROOT / ".venv-bqemulator" / "bin" / "python"
    return str(local) if local.exists() else None


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[bq_peer.Emulator]:
    python = emulator_python()
    if python is None:
        pytest.skip("bqemulator not installed: run `make test` (builds .venv-bqemulator)")
    emu = bq_peer.Emulator(python, tmp_path_factory.mktemp("bqemu") / "emulator.log")
    try:
        client = bq_peer.client_for(emu.endpoint)
        data = build_demo_data(TODAY, ZoneInfo("America/New_York"))
        for dataset in ("nba_predictions", "nba_reference"):
            client.create_dataset(dataset, exists_ok=True)
        store, preds = (
            "nba_predictions.ml_feature_store_v2",
            "nba_predictions.player_prop_predictions",
        )
        bq_peer.create_table(client, store, bq_peer.STORE_SCHEMA, "game_date")
        bq_peer.create_table(client, preds, bq_peer.PREDICTION_SCHEMA, "game_date")
        bq_peer.load_rows(client, store, bq_peer.STORE_SCHEMA, data.store)
        bq_peer.load_rows(client, preds, bq_peer.PREDICTION_SCHEMA, data.predictions)
        runs = "nba_reference.processor_run_history"
        bq_peer.create_table(client, runs, bq_peer.RUN_HISTORY_SCHEMA, "data_date")
        bq_peer.load_rows(client, runs, bq_peer.RUN_HISTORY_SCHEMA, data.runs)
        grading = "nba_predictions.prediction_accuracy"
        bq_peer.create_table(client, grading, bq_peer.GRADING_SCHEMA, "game_date")
        bq_peer.load_rows(client, grading, bq_peer.GRADING_SCHEMA, data.grading)
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def proxy(emulator: bq_peer.Emulator) -> Iterator[bq_peer.Proxy]:
    p = bq_peer.Proxy(emulator.endpoint)
    yield p
    p.stop()


@pytest.fixture(scope="module")
def duckdb_twin(tmp_path_factory: pytest.TempPathFactory) -> Config:
    path = tmp_path_factory.mktemp("twin") / "demo.duckdb"
    write_demo(str(path), TODAY, ZoneInfo("America/New_York"))
    data = default_config_data()
    data["warehouse"] = {"backend": "duckdb", "path": str(path)}
    del data["history"]  # the per-check comparisons are about the check queries alone
    return parse_config(data)


def bq_config_data(endpoint: str, **warehouse: Any) -> dict[str, Any]:
    """The shipped config.yaml with its warehouse pointed at a BigQuery endpoint (without
    `history`, whose jobs are tested on their own)."""
    data = default_config_data()
    del data["history"]
    data["warehouse"] = {
        "backend": "bigquery",
        "project": "test-proj",
        "endpoint": endpoint,
        "credentials": "anonymous",
        "retry_deadline_s": 20,
        **warehouse,
    }
    return data


def bq_config(endpoint: str, write_times: dict[str, Any] | None = None, **warehouse: Any) -> Config:
    data = bq_config_data(endpoint, **warehouse)
    if write_times:
        data["feature_store"]["write_times"] = write_times
    return parse_config(data)


def comparable(results: list[CheckResult]) -> list[dict[str, Any]]:
    out = []
    for r in results:
        details = dict(r.details)
        # APPROX_QUANTILES is approximate by contract; compare it loosely below.
        median = details.pop("median_lag_s", None)
        out.append(
            {
                "key": (r.check, r.game_date, r.feature),
                "status": r.status,
                "total": r.total,
                "affected": r.affected,
                "details": details,
                "median": median,
                "examples": [
                    (e["prediction_id"], e.get("logged_quality"), e.get("store_quality"))
                    for e in r.examples
                ],
            }
        )
    return out


@pytest.mark.parametrize("only", [[name] for name in CHECKS] + [None], ids=[*CHECKS, "all"])
def test_every_check_gives_the_same_results_on_bigquery_as_on_duckdb(
    emulator: bq_peer.Emulator, duckdb_twin: Config, only: list[str] | None
) -> None:
    # After T+1's 17:00 deadline, so store_freshness has something to say (T+1 was last
    # written at 06:00 on T, more than max_age before its deadline).
    now = dt.datetime.combine(
        WINDOW.end, dt.time(17, 30), tzinfo=ZoneInfo("America/New_York")
    ).astimezone(dt.UTC)
    expected = comparable(run_cycle(duckdb_twin, WINDOW, only, now=now).results)
    actual = comparable(run_cycle(bq_config(emulator.endpoint), WINDOW, only, now=now).results)
    assert [a["key"] for a in actual] == [e["key"] for e in expected]
    assert len({e["key"][1] for e in expected}) == 4  # several dates, each reported
    for a, e in zip(actual, expected, strict=True):
        median, expected_median = a.pop("median"), e.pop("median")
        if expected_median is None:
            assert median is None, a["key"]
        else:
            assert median == pytest.approx(expected_median, rel=0.05, abs=1), a["key"]
        assert a == e
    if only != ["prediction_volume"]:  # every demo date's predictions arrived: all ok
        assert any(e["status"] == "alert" for e in expected)


def test_impact_is_the_same_on_bigquery(emulator: bq_peer.Emulator, duckdb_twin: Config) -> None:
    with open_warehouse(duckdb_twin) as wh:
        expected = run_impact(duckdb_twin, wh, WINDOW)
    config = bq_config(emulator.endpoint)
    with open_warehouse(config) as wh:
        assert run_impact(config, wh, WINDOW) == expected
    assert [r.affected for r in expected if r.is_total] == [0, 97, 102, 8]
    # Per model (`dimensions: [system_id]`), the same on both: the incident date's three.
    today = [r for r in expected if r.game_date == TODAY and not r.is_total]
    assert [(r.dimensions["system_id"], r.affected, r.total) for r in today] == [
        ("catboost_v8", 34, 49),
        ("ensemble_v2", 34, 49),
        ("xgboost_v3", 34, 49),
    ]


def test_dimensions_add_no_job(proxy: bq_peer.Proxy) -> None:
    """Per-model counts are GROUPING SETS of the same statement: a cycle is still the store
    summary and one join, `featmon impact` still one job, with or without dimensions."""
    for dimensions in (["system_id"], []):
        data = bq_config_data(proxy.endpoint)
        data["predictions"]["dimensions"] = dimensions
        config = parse_config(data)
        before = len(proxy.job_inserts())
        report = run_cycle(config, WINDOW)
        assert report.queries == 2
        with open_warehouse(config) as wh:
            rows = run_impact(config, wh, WINDOW)
        labels = [i.body["configuration"]["labels"]["check"] for i in proxy.job_inserts()]
        assert labels[before:] == ["store", "all_checks", "impact"], dimensions
        assert len(rows) == (4 + 14 if dimensions else 4)  # 2 + 7 + 3 + 2 models
        [quality] = [
            r for r in report.results if r.check == "quality_mismatch" and r.game_date == TODAY
        ]
        by_model = [
            (e["system_id"], e["affected"]) for e in quality.details.get("by_dimension", [])
        ]
        assert by_model == (
            [(s, 34) for s in ("catboost_v8", "ensemble_v2", "xgboost_v3")] if dimensions else []
        )


def test_jobs_carry_labels_byte_limit_and_parameters(proxy: bq_peer.Proxy) -> None:
    config = bq_config(proxy.endpoint, labels={"team": "nba-props"}, maximum_bytes_billed=123456789)
    run_cycle(config, WINDOW)
    inserts = proxy.job_inserts()
    # store_freshness's per-date store summary, then every other check in one job.
    assert [i.body["configuration"]["labels"]["check"] for i in inserts] == ["store", "all_checks"]
    insert = inserts[1]
    query = insert.body["configuration"]["query"]
    assert insert.body["configuration"]["labels"] == {
        "team": "nba-props",
        "app": "featmon",
        "check": "all_checks",
    }
    assert query["maximumBytesBilled"] == "123456789"
    assert query["useLegacySql"] is False
    params = {p["name"]: p for p in query["queryParameters"]}
    assert params["date_from"]["parameterType"]["type"] == "DATE"
    assert params["date_from"]["parameterValue"]["value"] == WINDOW.start.isoformat()
    assert float(params["quality_tolerance"]["parameterValue"]["value"]) == 0.5
    assert params["quality_tolerance"]["parameterType"]["type"] == "FLOAT64"
    # Values travel as parameters, never in the SQL text.
    assert WINDOW.start.isoformat() not in query["query"]
    assert "@date_from" in query["query"] and "@quality_tolerance" in query["query"]


def test_isolated_check_jobs_are_labelled_with_their_check(proxy: bq_peer.Proxy) -> None:
    run_cycle(bq_config(proxy.endpoint), WINDOW, ["stale_predictions"])
    labels = [r.body["configuration"]["labels"]["check"] for r in proxy.job_inserts()]
    assert labels == ["stale_predictions"]


def _is_job_insert(rec: bq_peer.Recorded) -> bool:
    return rec.method == "POST" and rec.path.split("?")[0].endswith("/jobs")


def _error(status: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "error": {
            "code": status,
            "message": message,
            "errors": [{"reason": reason, "message": message}],
        }
    }


def test_transient_failures_are_retried(proxy: bq_peer.Proxy, duckdb_twin: Config) -> None:
    for status, reason in ((503, "backendError"), (500, "internalError")):
        proxy.faults.append(
            lambda rec, s=status, r=reason: (
                (s, _error(s, r, "try again")) if _is_job_insert(rec) else None
            )
        )
    results = run_cycle(bq_config(proxy.endpoint), WINDOW, ["quality_mismatch"]).results
    assert len(proxy.job_inserts()) == 3  # two failures, then success
    assert {r.status for r in results} == {"ok", "alert"}
    expected = run_cycle(duckdb_twin, WINDOW, ["quality_mismatch"]).results
    assert [r.affected for r in results] == [r.affected for r in expected]


@pytest.mark.parametrize(
    ("status", "reason", "message", "expected"),
    [
        (
            403,
            "accessDenied",
            "Access Denied: Table test-proj:nba_predictions.player_prop_predictions: User does not "
            "have permission to query table",
            [
                "permission denied",
                "roles/bigquery.dataViewer",
                "nba_predictions.player_prop_predictions",
            ],
        ),
        (
            400,
            "bytesBilledLimitExceeded",
            "Query exceeded limit for bytes billed: 1000. 10485760 or higher required.",
            ["maximum_bytes_billed=1,000", "10485760 or higher required"],
        ),
    ],
)
def test_permanent_errors_are_explained_at_once(
    proxy: bq_peer.Proxy, status: int, reason: str, message: str, expected: list[str]
) -> None:
    proxy.faults.append(
        lambda rec: (status, _error(status, reason, message)) if _is_job_insert(rec) else None
    )
    config = bq_config(proxy.endpoint, maximum_bytes_billed=1000)
    [result] = run_cycle(config, WINDOW, ["stale_predictions"]).results
    assert result.status == "error"
    assert len(proxy.job_inserts()) == 1  # not retried
    for fragment in expected:
        assert fragment in result.message


def test_unknown_column_is_a_clear_error_for_that_check_only(emulator: bq_peer.Emulator) -> None:
    data = bq_config_data(emulator.endpoint)
    data["predictions"]["features"]["points_avg_last_5"][0]["json_column"] = "renamed_snapshot"
    results = run_cycle(parse_config(data), WINDOW).results
    errors = [r for r in results if r.status == "error"]
    assert [r.check for r in errors] == ["feature_mismatch"]
    assert "renamed_snapshot" in errors[0].message
    assert any(r.check == "quality_mismatch" and r.affected == 102 for r in results)


def test_unreachable_bigquery_is_an_error_for_every_check() -> None:
    config = bq_config(f"http://127.0.0.1:{free_port()}", retry_deadline_s=1)
    results = run_cycle(config, WINDOW).results
    assert len(results) == len(CHECKS) and {r.status for r in results} == {"error"}


def _dry_run_bytes(n: int) -> bq_peer.Rewrite:
    def rewrite(rec: bq_peer.Recorded, doc: dict[str, Any]) -> dict[str, Any]:
        if _is_job_insert(rec) and rec.body["configuration"].get("dryRun"):
            doc.setdefault("statistics", {})["totalBytesProcessed"] = str(n)
            doc["statistics"].setdefault("query", {})["totalBytesProcessed"] = str(n)
        return doc

    return rewrite


def bq_config_file(tmp_path: Path, endpoint: str, **sections: Any) -> Path:
    """bq_config_data as a file, for the command line."""
    data = bq_config_data(endpoint)
    data.update(sections)
    return write_config(tmp_path / "bigquery.yaml", data)


def test_budget_refuses_before_spending(proxy: bq_peer.Proxy, tmp_path: Path) -> None:
    # The emulator's dry runs report 0 bytes; the proxy answers as BigQuery would.
    proxy.rewrites.append(_dry_run_bytes(3 * 1024**4))
    path = bq_config_file(
        tmp_path,
        proxy.endpoint,
        budget={"max_bytes_per_run": 10 * 1024**3},
        window={"from": WINDOW.start.isoformat(), "to": WINDOW.end.isoformat()},
    )
    proc = featmon("check", "-c", str(path), "--format", "json")
    assert proc.returncode == 3, proc.stderr
    doc = json.loads(proc.stdout)
    assert {r["status"] for r in doc["results"]} == {"error"}
    assert "over budget.max_bytes_per_run=10,737,418,240" in doc["results"][0]["message"]
    assert "6.0 TiB" in doc["results"][0]["message"]  # the budget covers both of a run's queries
    impact = featmon("impact", "-c", str(path), "--format", "json")
    assert impact.returncode == 3
    assert "over budget.max_bytes_per_run" in impact.stderr and impact.stdout == ""
    # Only dry runs were sent: nothing was spent.
    inserts = proxy.job_inserts()
    # check: the join and the store summary; impact: its one query.
    assert len(inserts) == 3 and all(r.body["configuration"].get("dryRun") for r in inserts)


def test_estimate_prints_bytes_per_check_and_monthly_cost(
    proxy: bq_peer.Proxy, tmp_path: Path
) -> None:
    proxy.rewrites.append(_dry_run_bytes(2 * 1024**3))
    path = bq_config_file(
        tmp_path, proxy.endpoint, budget={"runs_per_day": 96, "usd_per_tib": 6.25}
    )
    proc = featmon("check", "-c", str(path), "--estimate", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert [q["check"] for q in doc["queries"]] == list(CHECKS)
    # Two queries a run: the shared join and store_freshness's store summary.
    assert doc["total_bytes"] == 4 * 1024**3
    assert doc["monthly_usd"] == pytest.approx(4 / 1024 * 96 * 30 * 6.25, abs=0.01)
    assert all(r.body["configuration"].get("dryRun") for r in proxy.job_inserts())
    text = featmon("check", "-c", str(path), "--estimate").stdout
    assert "total (a run's queries)" in text and "about $" in text


def test_estimate_on_duckdb_is_a_usage_error(tmp_path: Path) -> None:
    data = default_config_data()
    data["warehouse"] = {"backend": "duckdb", "path": str(tmp_path / "absent.duckdb")}
    proc = featmon("check", "-c", str(write_config(tmp_path / "c.yaml", data)), "--estimate")
    assert proc.returncode == 2
    assert "it needs warehouse.backend: bigquery" in proc.stderr
    assert not (tmp_path / "absent.duckdb").exists()


def test_unreadable_service_account_key_is_an_error_for_every_check(tmp_path: Path) -> None:
    data = bq_config_data("http://127.0.0.1:1", credentials=str(tmp_path / "missing-key.json"))
    results = run_cycle(parse_config(data), WINDOW).results
    assert {r.status for r in results} == {"error"}
    assert "cannot create a BigQuery client" in results[0].message


LOG_TABLE = {
    "source": "log_table",
    "table": "nba_reference.processor_run_history",
    "where": "processor_name = 'MLFeatureStoreProcessor' AND status = 'success'",
}


def test_log_table_write_times_are_the_same_on_bigquery(
    emulator: bq_peer.Emulator, duckdb_twin: Config
) -> None:
    data = duckdb_twin.model_dump(by_alias=True, exclude={"base_dir"})
    data["feature_store"]["write_times"] = LOG_TABLE
    twin = parse_config(data)
    expected = comparable(run_cycle(twin, WINDOW, ["stale_predictions"]).results)
    actual = comparable(
        run_cycle(bq_config(emulator.endpoint, LOG_TABLE), WINDOW, ["stale_predictions"]).results
    )
    assert actual == expected
    # The run log has the T-1 rewrite at 22:30:07: all 97 predictions predate it.
    assert [e["affected"] for e in expected] == [0, 97, 0, 0]


def test_production_config_file_against_the_emulator_matches_the_embedded_run(
    emulator: bq_peer.Emulator, duckdb_twin: Config, tmp_path: Path
) -> None:
    """`featmon check -c config.bigquery.yaml` (pointed at the emulator through its env
    variables) prints the same results as the embedded run over the same data."""
    window = ["--from", WINDOW.start.isoformat(), "--to", WINDOW.end.isoformat()]
    env = {
        **{k: v for k, v in os.environ.items() if k != "SLACK_BOT_TOKEN"},  # never real Slack
        "FEATMON_BQ_PROJECT": "test-proj",
        "FEATMON_BQ_CREDENTIALS": "anonymous",
        "FEATMON_BQ_ENDPOINT": emulator.endpoint,
        "GOOGLE_CLOUD_PROJECT": "test-proj",  # never the production metrics
    }
    bq = featmon(
        "check", "-c", str(ROOT / "config.bigquery.yaml"), "--format", "json", *window, env=env
    )
    assert bq.returncode == 0, bq.stderr
    # The shipped file alerts to Slack: without the token, kept pending and said so.
    assert "environment variable SLACK_BOT_TOKEN is not set" in bq.stderr
    data = default_config_data()
    data["warehouse"] = {"backend": "duckdb", "path": str(duckdb_twin.warehouse_path())}
    embedded = write_config(tmp_path / "embedded.yaml", data)
    local = featmon("check", "-c", str(embedded), "--format", "json", *window)
    assert local.returncode == 0, local.stderr

    def results(stdout: str) -> list[dict[str, Any]]:
        out = json.loads(stdout)["results"]
        for r in out:
            r["details"].pop("median_lag_s", None)
        return out

    assert results(bq.stdout) == results(local.stdout)
    assert json.loads(bq.stdout)["status"] == "alert"


def test_alert_state_lives_in_bigquery_across_processes(
    emulator: bq_peer.Emulator, slack: SlackStandIn, tmp_path: Path
) -> None:
    """The same lifecycle with its state in a BigQuery dataset: fire once, no duplicate on
    the next process, pending while Slack is down, listed by `featmon alerts`."""
    data = bq_config_data(emulator.endpoint)
    data["window"] = {"from": TODAY.isoformat(), "to": TODAY.isoformat()}
    data["checks"] = {
        "quality_mismatch": {"severity": "critical"},
        "stale_predictions": {"severity": "critical"},
    }
    data["state"] = {"dataset": "featmon_state_test"}
    data["alerts"] = {"slack": {"token": "xoxb-test", "base_url": slack.base_url, "max_retries": 0}}
    path = write_config(tmp_path / "bq-alerts.yaml", data)
    t0 = dt.datetime(2026, 2, 3, 5, 0, tzinfo=dt.UTC)

    def run(at: dt.datetime) -> Any:
        return featmon("check", "-c", str(path), env={**os.environ, "FEATMON_NOW": at.isoformat()})

    slack.down = True
    first = run(t0)
    assert first.returncode == 0, first.stderr
    assert "notifications: sent=0 pending=1" in first.stdout
    slack.down = False
    second = run(t0 + dt.timedelta(minutes=5))
    assert "notifications: sent=1 pending=0" in second.stdout, second.stderr
    third = run(t0 + dt.timedelta(minutes=10))
    assert "notifications: sent=0 pending=0" in third.stdout
    assert slack.methods() == ["chat.postMessage"]
    assert "102 of 147 predictions" in slack.calls[0]["body"]["text"]
    listing = featmon("alerts", "-c", str(path))
    assert listing.stdout.startswith("firing   critical quality_mismatch 2026-02-03 102/147")
    assert "last firing via slack: sent" in listing.stdout
    # The group's repeat: its message found (group_ref) and re-rendered from what Slack was
    # told of each alert (group_members), both read back from the BigQuery dataset.
    run(t0 + dt.timedelta(hours=4, minutes=10))
    assert slack.methods() == ["chat.postMessage", "chat.update", "chat.postMessage"]
    update, reply = slack.calls[-2]["body"], slack.calls[-1]["body"]
    assert update["ts"] == reply["thread_ts"] == slack.messages[0]["ts"]
    assert "*102 / 147 predictions (69.4%)*" in json.dumps(update["blocks"])
    assert reply["reply_broadcast"] is True


def test_the_notification_lease_on_bigquery(emulator: bq_peer.Emulator) -> None:
    from monitor.persistence.alert_state import StateStore
    from monitor.warehouse.bigquery import BigQueryWarehouse

    config = bq_config(emulator.endpoint)
    assert config.warehouse.backend == "bigquery"
    wh = BigQueryWarehouse(config.warehouse)  # type: ignore[arg-type]
    assert wh.columns_of("featmon_lease_test") == {}  # no dataset yet
    store = StateStore(wh, "featmon_lease_test")
    store.ensure()
    # The catalog is read through the API (no query job), so later runs send no DDL.
    tables = wh.columns_of("featmon_lease_test")
    assert tables is not None and {"alerts", "notifications", "leases"} <= set(tables)
    assert "ref" in tables["notifications"]
    now = dt.datetime(2026, 2, 3, 5, 0, tzinfo=dt.UTC)
    ttl = dt.timedelta(minutes=2)
    assert store.acquire("notify", "run-a", now, ttl)
    assert not store.acquire("notify", "run-b", now + dt.timedelta(seconds=5), ttl)
    assert store.acquire("notify", "run-a", now + dt.timedelta(seconds=6), ttl)  # ours: renewed
    store.release("notify", "run-a")
    assert store.acquire("notify", "run-b", now + dt.timedelta(seconds=8), ttl)
    # An expired lease (a crashed holder) is taken over.
    assert store.acquire("notify", "run-c", now + dt.timedelta(minutes=3), ttl)


def test_history_and_attribution_on_bigquery_match_duckdb(
    emulator: bq_peer.Emulator, tmp_path: Path
) -> None:
    """The recording INSERT ... SELECT, the log-table versions and the attribution query
    run as BigQuery SQL on the emulator and give what they give on DuckDB."""
    from monitor.persistence.history import History
    from monitor.pipeline.attribution import ATTRIBUTED, attribution_batches
    from monitor.pipeline.cycle import record_history
    from monitor.pipeline.plan import build_checks, tables_of

    path = tmp_path / "history.duckdb"
    write_demo(str(path), TODAY, ZoneInfo("America/New_York"))
    local_data = default_config_data()
    local_data["warehouse"] = {"backend": "duckdb", "path": str(path)}
    bq_data = bq_config_data(emulator.endpoint)
    bq_data["history"] = local_data["history"]
    # The data's evening, so retention (90 days before `now`) keeps it.
    now = dt.datetime.combine(TODAY, dt.time(12), tzinfo=dt.UTC)
    outcomes = []
    for config in (parse_config(local_data), parse_config(bq_data)):
        assert record_history(config, WINDOW, now) == []
        assert record_history(config, WINDOW, now) == []  # idempotent
        with open_warehouse(config) as wh:
            assert config.history is not None
            history = History(wh, config.state.dataset, tables_of(config), config.history)
            start = dt.datetime.combine(TODAY - dt.timedelta(days=3), dt.time(), tzinfo=dt.UTC)
            versions = [
                (
                    r["written_at"],
                    r["source"],
                    r["row_count"],
                    r["quality_avg"] and round(r["quality_avg"], 2),
                )
                for r in history.versions_of(TODAY, (start, now))
            ]
            checks = [c for c in build_checks(config) if c.name in ATTRIBUTED]
            batches = attribution_batches(config, wh, checks, WINDOW.start, WINDOW.end, "flagged")
        outcomes.append((sorted(versions), [b.as_dict() for b in batches]))
    local, remote = outcomes
    assert remote == local
    versions, batches = local
    assert ("featmon", 49) in {(v[1], v[2]) for v in versions}
    assert any(v[1] == "log_table" for v in versions)
    assert {b["count"] for b in batches} >= {102}


def _line(live: object, store_copy: object = None, *, copy: bool = True) -> dict[str, object]:
    """critical_features as the worker logs it: the live prop line under the store's name
    and, from later worker revisions on (`copy`), the store's value as fs_vegas_points_line."""
    return {"vegas_points_line": live, **({"fs_vegas_points_line": store_copy} if copy else {})}


def test_live_lines_and_json_nulls_give_the_same_counts_on_bigquery(
    emulator: bq_peer.Emulator, lab: Lab
) -> None:
    """The real worker shapes, row for row on both engines: a live line is not compared, a
    JSON null is "not logged" (JSON_QUERY keeps it as a JSON null on BigQuery and in
    DuckDB), "n/a" is unparseable, and a stale copy of the store's value still alerts."""
    for p in "abcdfgh":
        lab.add_store(p, written_at=utc("21:00"))
    lab.add_store("e", written_at=utc("21:00"), values={"vegas_points_line": 0.0})
    lab.add_prediction("a", critical=_line(24.5, 22.5))  # the line moved after the write
    lab.add_prediction("b", critical=_line(24.5, copy=False))  # an older worker: live only
    lab.add_prediction("c", critical=_line(None, copy=False))  # no prop line: JSON null
    lab.add_prediction("d", critical=_line("n/a", copy=False))  # malformed
    lab.add_prediction("e", critical=_line(None, 0.0))  # no line; the store holds 0.0
    stale = lab.add_prediction("f", critical=_line(22.5, 20.5))  # a stale cache
    nested = json.dumps({"feature_quality_score": None})
    lab.add_prediction(
        "g", quality=None, critical={"feature_quality_score": None, "features_snapshot": nested}
    )
    lab.add_prediction("h", quality=None, critical={"feature_quality_score": "n/a"})
    client = bq_peer.client_for(emulator.endpoint)
    client.create_dataset("live_lab", exists_ok=True)
    store, preds = "live_lab.ml_feature_store_v2", "live_lab.player_prop_predictions"
    bq_peer.create_table(client, store, bq_peer.STORE_SCHEMA, "game_date")
    bq_peer.create_table(client, preds, bq_peer.PREDICTION_SCHEMA, "game_date")
    bq_peer.load_rows(client, store, bq_peer.STORE_SCHEMA, lab.store)
    bq_peer.load_rows(client, preds, bq_peer.PREDICTION_SCHEMA, lab.predictions)
    only = ["feature_mismatch", "missing_quality"]
    duck = lab.config_data()
    del duck["history"]  # as on BigQuery: attribution is compared on its own
    expected = lab.run(parse_config(duck), only=only)
    data = bq_config_data(emulator.endpoint)
    data["feature_store"]["table"], data["predictions"]["table"] = store, preds
    actual = run_cycle(parse_config(data), DateWindow(DAY, DAY), only).results
    assert comparable(actual) == comparable(expected)
    line = next(r for r in actual if r.feature == "vegas_points_line")
    assert (line.status, line.affected, line.total) == ("alert", 1, 8)
    assert [(e["prediction_id"], e["logged_value"], e["store_value"]) for e in line.examples] == [
        (stale, 20.5, 22.5)
    ]
    counts = ("compared", "live_overrides", "missing_logged", "unparseable")
    # compared: a, e, f; live: b; not logged: c, d, g, h (d's "n/a" is also unparseable).
    assert [line.details[k] for k in counts] == [3, 1, 4, 1]
    missing = next(r for r in actual if r.check == "missing_quality")
    assert (missing.affected, missing.details["unparseable"]) == (2, 1)  # g is not logged


def test_the_demo_moved_lines_are_silent_on_bigquery_until_read_as_store_values(
    emulator: bq_peer.Emulator,
) -> None:
    """On the demo's T a fresh worker logged moved live lines for 9 predictions, with the
    store's value beside them: the shipped config compares the copy; reading the live
    line as if it were the store's value (the config before `live`) raises 9 false alarms."""

    def line_on_t(config: Config) -> CheckResult:
        results = run_cycle(config, WINDOW, ["feature_mismatch"]).results
        [line] = [r for r in results if r.game_date == TODAY and r.feature == "vegas_points_line"]
        return line

    line = line_on_t(bq_config(emulator.endpoint))
    assert (line.status, line.affected, line.total) == ("ok", 0, 147)
    counts = ("compared", "live_overrides", "missing_logged", "unparseable")
    assert [line.details[k] for k in counts] == [144, 1, 2, 1]
    data = bq_config_data(emulator.endpoint)
    data["predictions"]["features"]["vegas_points_line"] = [
        {"json_column": "critical_features", "path": "$.vegas_points_line"},
        {"json_column": "features_snapshot", "path": "$.vegas_points_line"},
    ]
    live_as_store = line_on_t(parse_config(data))
    assert (live_as_store.status, live_as_store.affected) == ("alert", 9)


def test_timeline_and_explain_on_a_bigquery_featmon_never_ran_on(
    emulator: bq_peer.Emulator, tmp_path: Path
) -> None:
    """Only the production tables: the timeline and explain say what is unknown and create
    no dataset (a read-only investigation after the fact)."""
    from google.api_core.exceptions import NotFound

    from monitor.pipeline.attribution import UNRECORDED

    data = bq_config_data(emulator.endpoint)
    data["history"] = default_config_data()["history"]
    data["state"] = {"dataset": "featmon_never_ran"}
    config = write_config(tmp_path / "bq.yaml", data)
    timeline = featmon("timeline", "-c", str(config), "--date", TODAY.isoformat())
    assert timeline.returncode == 0, timeline.stderr
    assert UNRECORDED in timeline.stdout
    assert "store write, values unknown (log_table: nba_reference.processor_run_history)" in (
        timeline.stdout
    )
    assert "102 predictions, logged quality 65.46 -> not the store's current version" in (
        timeline.stdout
    )
    explain = featmon("explain", "-c", str(config), "--date", TODAY.isoformat())
    assert explain.returncode == 0, explain.stderr
    assert UNRECORDED in explain.stdout and "102 predictions made" in explain.stdout
    with pytest.raises(NotFound):
        bq_peer.client_for(emulator.endpoint).get_dataset("featmon_never_ran")
