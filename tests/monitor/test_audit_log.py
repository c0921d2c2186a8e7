"""Store writes from BigQuery audit logs, read by the official google-cloud-logging client
(REST) from a local HTTP server that answers `entries:list`."""

from __future__ import annotations

import json
from typing import Any

from google.cloud.audit.audit_log_pb2 import AuditLog
from google.protobuf import json_format
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor.config import parse_config
from monitor.persistence.history import History
from monitor.pipeline.cycle import record_history
from monitor.pipeline.plan import tables_of
from monitor.pipeline.window import DateWindow
from monitor.reports.timeline import as_text, build_timeline
from monitor.warehouse.duckdb import DuckDBWarehouse
from tests.lab import DAY, Lab, utc

STORE = "projects/nba/datasets/nba_predictions/tables/ml_feature_store_v2"


def entry(n: int, job: dict[str, Any], logged: str) -> dict[str, Any]:
    payload = {
        "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
        "serviceName": "bigquery.googleapis.com",
        "methodName": "google.cloud.bigquery.v2.JobService.InsertJob",
        "resourceName": "projects/nba/jobs/j",
        "metadata": {
            "@type": "type.googleapis.com/google.cloud.audit.BigQueryAuditMetadata",
            "jobChange": {"before": "RUNNING", "after": "DONE", "job": job},
        },
    }
    # The payload is a valid AuditLog (the metadata Struct is free-form there).
    json_format.ParseDict({k: v for k, v in payload.items() if k != "@type"}, AuditLog())
    return {
        "logName": "projects/nba/logs/cloudaudit.googleapis.com%2Fdata_access",
        "insertId": str(n),
        "timestamp": logged,
        "resource": {"type": "bigquery_project", "labels": {"project_id": "nba"}},
        "protoPayload": payload,
    }


def job(name: str, kind: str, table: str, end: str, *, failed: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "jobName": f"projects/nba/jobs/{name}",
        "jobConfig": {kind: {"destinationTable": table, "writeDisposition": "WRITE_APPEND"}},
        "jobStats": {"endTime": end},
    }
    if failed:
        out["jobStatus"] = {"errorResult": {"code": 3, "message": "boom"}}
    return out


ENTRIES = [
    entry(
        1, job("merge_1805", "queryConfig", STORE, "2026-02-03T18:05:00Z"), "2026-02-03T18:05:01Z"
    ),
    entry(
        2,
        job("load_p", "loadConfig", STORE + "$20260203", "2026-02-03T20:00:00.500Z"),
        "2026-02-03T20:00:01Z",
    ),
    entry(
        3,
        job("failed", "queryConfig", STORE, "2026-02-03T21:00:00Z", failed=True),
        "2026-02-03T21:00:01Z",
    ),
    entry(
        4,
        job("other", "queryConfig", STORE + "_backup", "2026-02-03T21:30:00Z"),
        "2026-02-03T21:30:01Z",
    ),
]


def test_audit_log_writes_become_versions_with_unknown_values(
    lab: Lab, httpserver: HTTPServer
) -> None:
    seen: list[dict[str, Any]] = []

    def entries_list(request: Request) -> Response:
        seen.append(json.loads(request.data))
        return Response(json.dumps({"entries": ENTRIES}), content_type="application/json")

    httpserver.expect_request("/v2/entries:list", method="POST").respond_with_handler(entries_list)
    lab.add_store("a", written_at=utc("22:30:07"))
    lab.flush()
    data = lab.config_data(timezone="UTC")
    data["history"] = {
        "audit_log": {
            "project": "nba",
            "lookback": "2d",
            "endpoint": httpserver.url_for("/").rstrip("/"),
        }
    }
    config = parse_config(data)
    assert record_history(config, DateWindow(DAY, DAY), utc("23:00")) == []
    assert record_history(config, DateWindow(DAY, DAY), utc("23:05")) == []  # no duplicates

    [request] = seen[:1]
    assert request["resourceNames"] == ["projects/nba"]
    query = request["filter"]
    assert 'protoPayload.metadata.jobChange.after="DONE"' in query
    assert f'queryConfig.destinationTable:"{STORE}"' in query
    assert 'timestamp>="2026-02-01T23:00:00Z"' in query  # the lookback, not the client's 24h

    with DuckDBWarehouse(lab.path) as wh:
        history = History(wh, "featmon_state", tables_of(config), config.history)  # type: ignore[arg-type]
        rows = [
            r
            for r in history.versions_of(DAY, (utc("00:00"), utc("23:59")))
            if r["source"] == "audit_log"
        ]
        story = as_text(build_timeline(config, wh, DAY))
    assert [(r["written_at"], r["game_date"], r["detail"]) for r in rows] == [
        (utc("18:05"), None, "query job merge_1805 WRITE_APPEND"),
        (utc("20:00").replace(microsecond=500000), DAY, "load job load_p WRITE_APPEND"),
    ]
    assert "18:05:00 UTC  write          store write, values unknown (audit_log: query job" in story
    assert "22:30:07 UTC  write          store version A: 1 rows" in story


def test_unreadable_audit_logs_are_reported_and_the_rest_is_recorded(
    lab: Lab, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/v2/entries:list", method="POST").respond_with_json(
        {"error": {"code": 403, "message": "Permission denied", "status": "PERMISSION_DENIED"}},
        status=403,
    )
    lab.add_store("a", written_at=utc("22:30:07"))
    lab.flush()
    data = lab.config_data(timezone="UTC")
    data["history"] = {
        "audit_log": {"project": "nba", "endpoint": httpserver.url_for("/").rstrip("/")}
    }
    problems = record_history(parse_config(data), DateWindow(DAY, DAY), utc("23:00"))
    assert len(problems) == 1
    assert problems[0].startswith("audit-log writes not read: Forbidden: 403")
    with DuckDBWarehouse(lab.path) as wh:
        recorded = wh.con.execute("SELECT COUNT(*) FROM featmon_state.store_fingerprints")
        assert recorded.fetchone() == (1,)
