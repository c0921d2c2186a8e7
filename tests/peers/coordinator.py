"""A stand-in for the platform's prediction coordinator: a real HTTP server on 127.0.0.1
serving `POST /regenerate-with-supersede` (header `X-API-Key`, body `{game_date, reason,
metadata}`), answering 202 `{"status": "accepted", "batch_id"}` like production.

`answers` scripts what the next requests get, one entry per request: an HTTP status (202,
400, 409, 500, ...) or "timeout" (the request is held without an answer until the client
gives up; released when the stand-in stops). Once the script is used up, requests get 202.
Every request is recorded, timeouts included (what the client sent, not what it got).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PATH = "/regenerate-with-supersede"


class Coordinator:
    def __init__(self) -> None:
        self.answers: list[int | str] = []
        self.requests: list[dict[str, Any]] = []
        self._release = threading.Event()
        self._lock = threading.Lock()
        self._batches = 0
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                answer = stand_in._record(self.path, self.headers.get("X-API-Key"), body)
                if answer == "timeout":
                    stand_in._release.wait(30)
                    return
                assert isinstance(answer, int)
                if self.path != PATH:
                    answer = 404
                payload: dict[str, Any]
                if 200 <= answer < 300:
                    payload = {"status": "accepted", "batch_id": stand_in._batch()}
                elif answer == 400:
                    payload = {"error": "game_date is not a scheduled game date"}
                elif answer == 409:
                    payload = {"error": "a regeneration of this date is already running"}
                else:
                    payload = {"error": "internal error"}
                data = json.dumps(payload).encode()
                self.send_response(answer)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def _record(self, path: str, key: str | None, body: bytes) -> int | str:
        with self._lock:
            self.requests.append(
                {
                    "path": path,
                    "key": key,
                    "body": json.loads(body or b"null"),
                }
            )
            return self.answers.pop(0) if self.answers else 202

    def _batch(self) -> str:
        with self._lock:
            self._batches += 1
            return f"batch-{self._batches}"

    def stop(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()
