"""The store-version endpoint's contract, served over HTTP: `GET <path>?game_date=YYYY-MM-DD`
answers 200 `{game_date, written_at, rows, quality_avg, fingerprint}`, 404 `{"error"}` when
the date has no store rows, 400 for a bad date, 503 when the source failed.

A reference implementation over any guard source, with the standard library: what issue
14's `featmon serve` will answer (from featmon's history), and what the tests and
bench/guard.py run the guard's endpoint client against.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from featmon_guard.sources import Source

PATH = "/store-version"


class StoreVersionServer:
    """Serve `source` at http://host:port/store-version until `stop()`; counts requests."""

    def __init__(self, source: Source, host: str = "127.0.0.1", port: int = 0) -> None:
        self.source = source
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                outer.requests += 1
                status, body = outer.answer(self.path)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.url = f"http://{host}:{self.server.server_address[1]}{PATH}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, target: str) -> tuple[int, dict[str, Any]]:
        parts = urllib.parse.urlsplit(target)
        if parts.path != PATH:
            return 404, {"error": f"no such path (the endpoint is {PATH})"}
        query = urllib.parse.parse_qs(parts.query)
        try:
            day = dt.date.fromisoformat(query["game_date"][0])
        except (KeyError, ValueError):
            return 400, {"error": "give game_date=YYYY-MM-DD"}
        try:
            version = self.source.latest(day)
        except Exception as e:
            return 503, {"error": f"{type(e).__name__}: {e}"}
        if version is None:
            return 404, {"error": f"no store rows for {day}"}
        return 200, version.to_json()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
