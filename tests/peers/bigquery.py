"""A real BigQuery REST peer for the adapter's tests: bqemulator, plus a recording proxy.

The emulator runs as its own process (from .venv-bqemulator). The proxy sits between the
official client and the emulator: it records every request (to assert on what went over
the wire) and can answer chosen requests itself (to inject 5xx, permission or cost-guard
errors the emulator does not produce).
"""

from __future__ import annotations

import datetime as dt
import decimal
import http.client
import io
import json
import os
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery

from tests.peers import free_port

PROJECT = "test-proj"
LAUNCHER = Path(__file__).resolve().parent.parent / "bqemulator" / "launch.py"


class Emulator:
    def __init__(self, python: str, log: Path) -> None:
        self.rest, self.grpc = free_port(), free_port()
        self.log = log.open("w")
        self.proc = subprocess.Popen(
            [python, str(LAUNCHER), str(self.rest), str(self.grpc)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.endpoint = f"http://127.0.0.1:{self.rest}"
        self._wait_ready(time.monotonic() + 90)

    def _wait_ready(self, deadline: float) -> None:
        url = f"{self.endpoint}/bigquery/v2/projects/{PROJECT}/datasets"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"bqemulator exited with {self.proc.returncode}; see {self.log.name}"
                )
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"bqemulator did not start in time; see {self.log.name}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


@dataclass
class Recorded:
    method: str
    path: str
    body: Any


Rule = Callable[[Recorded], tuple[int, dict[str, Any]] | None]
Rewrite = Callable[[Recorded, dict[str, Any]], dict[str, Any]]


@dataclass
class Proxy:
    """Forwards to `upstream`, recording requests; `faults` answer first (each used once
    when it returns a response), `rewrites` edit upstream JSON answers."""

    upstream: str
    requests: list[Recorded] = field(default_factory=list)
    faults: list[Rule] = field(default_factory=list)
    rewrites: list[Rewrite] = field(default_factory=list)

    def __post_init__(self) -> None:
        proxy = self
        host, port = self.upstream.removeprefix("http://").split(":")

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw
                rec = Recorded(self.command, self.path, body)
                proxy.requests.append(rec)
                for rule in list(proxy.faults):
                    answer = rule(rec)
                    if answer is not None:
                        proxy.faults.remove(rule)
                        self._reply(answer[0], json.dumps(answer[1]).encode())
                        return
                conn = http.client.HTTPConnection(host, int(port), timeout=120)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                conn.request(self.command, self.path, body=raw or None, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                if proxy.rewrites and resp.status == 200 and data:
                    doc = json.loads(data)
                    for rewrite in proxy.rewrites:
                        doc = rewrite(rec, doc)
                    data = json.dumps(doc).encode()
                self._reply(resp.status, data, resp.getheader("Content-Type"))
                conn.close()

            def _reply(self, status: int, data: bytes, ctype: str | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype or "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def job_inserts(self) -> list[Recorded]:
        return [
            r
            for r in self.requests
            if r.method == "POST" and r.path.split("?")[0].endswith("/jobs")
        ]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def client_for(endpoint: str) -> bigquery.Client:
    return bigquery.Client(
        project=PROJECT,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options=ClientOptions(api_endpoint=endpoint),
    )


S = bigquery.SchemaField
STORE_SCHEMA = [
    S("player_lookup", "STRING"),
    S("game_date", "DATE"),
    S("game_id", "STRING"),
    S("features", "FLOAT64", mode="REPEATED"),
    S("feature_names", "STRING", mode="REPEATED"),
    S("feature_count", "INT64"),
    S("feature_version", "STRING"),
    S("feature_quality_score", "NUMERIC"),
    S("is_quality_ready", "BOOL"),
    S("created_at", "TIMESTAMP"),
    S("updated_at", "TIMESTAMP"),
]
PREDICTION_SCHEMA = [
    S("prediction_id", "STRING"),
    S("system_id", "STRING"),
    S("player_lookup", "STRING"),
    S("game_date", "DATE"),
    S("game_id", "STRING"),
    S("predicted_points", "NUMERIC"),
    S("current_points_line", "NUMERIC"),
    S("recommendation", "STRING"),
    S("confidence_score", "NUMERIC"),
    S("is_active", "BOOL"),
    S("superseded", "BOOL"),
    S("superseded_by", "STRING"),
    S("created_at", "TIMESTAMP"),
    S("updated_at", "TIMESTAMP"),
    S("predicted_at", "TIMESTAMP"),
    S("feature_quality_score", "FLOAT64"),
    S("critical_features", "JSON"),
    S("features_snapshot", "JSON"),
]
RUN_HISTORY_SCHEMA = [
    S("processor_name", "STRING"),
    S("data_date", "DATE"),
    S("status", "STRING"),
    S("started_at", "TIMESTAMP"),
    S("processed_at", "TIMESTAMP"),
    S("records_processed", "INT64"),
]
GRADING_SCHEMA = [
    S("player_lookup", "STRING"),
    S("game_id", "STRING"),
    S("game_date", "DATE"),
    S("system_id", "STRING"),
    S("prediction_correct", "BOOL"),
    S("actual_points", "INT64"),
    S("line_value", "FLOAT64"),
    S("predicted_points", "FLOAT64"),
    S("is_voided", "BOOL"),
]


def create_table(client: bigquery.Client, table: str, schema: list[Any], partition: str) -> None:
    t = bigquery.Table(f"{PROJECT}.{table}", schema=schema)
    t.time_partitioning = bigquery.TimePartitioning(field=partition)
    client.delete_table(t, not_found_ok=True)
    client.create_table(t)


def _encode(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    return value


def load_rows(
    client: bigquery.Client, table: str, schema: list[Any], rows: list[dict[str, Any]]
) -> None:
    """A file load of NDJSON (the emulator's load_table_from_json fails under 5 MB)."""
    buf = io.BytesIO()
    for row in rows:
        buf.write((json.dumps({k: _encode(v) for k, v in row.items()}) + "\n").encode())
    buf.seek(0)
    config = bigquery.LoadJobConfig(
        source_format="NEWLINE_DELIMITED_JSON", schema=schema, write_disposition="WRITE_TRUNCATE"
    )
    client.load_table_from_file(buf, f"{PROJECT}.{table}", job_config=config).result()
