"""The HTTP side of `featmon serve`: a standard-library threading server with three routes.

- `GET /store-version?game_date=YYYY-MM-DD`: the worker guard's contract (docs/actions.md),
  with `Cache-Control: max-age=<cache_s>` and `ETag: "<fingerprint>"`; a request whose
  `If-None-Match` names the current fingerprint gets `304` and no body;
- `GET /`: the status page (status.py);
- `GET /healthz`: `200 ok` while the process serves (it does not touch the warehouse, so a
  locked or slow warehouse does not get the service restarted).

No authentication here: the service goes behind Cloud Run IAM or IAP (docs/serve.md).
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import json
import logging
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from featmon_guard.endpoint import PATH as VERSION_PATH
from monitor.clock import now_utc
from monitor.config import Config
from monitor.serve.status import Status, read_status, render_page
from monitor.serve.versions import LookupTimeout, StoreVersions, run_bounded
from monitor.warehouse import WarehouseError, open_waiting_for_lock, open_warehouse

log = logging.getLogger("featmon.serve")


def etag_matches(header: str | None, fingerprint: str) -> bool:
    """Whether an `If-None-Match` header names this fingerprint (quoted or not, weak or
    strong, in a list, or `*`)."""
    if not header:
        return False
    tags = [t.strip().removeprefix("W/").strip('"') for t in header.split(",")]
    return fingerprint in tags or "*" in tags


class Service:
    """What the routes answer, apart from HTTP plumbing (so the answers read plainly)."""

    def __init__(self, config: Config, *, timeout_s: float, cache_s: float) -> None:
        self.config = config
        self.timeout_s = timeout_s
        self.cache_s = cache_s
        self.versions = StoreVersions(config, timeout_s=timeout_s, cache_s=cache_s)
        self.pool = concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="featmon-page")

    def store_version(
        self, query: str, if_none_match: str | None
    ) -> tuple[int, dict[str, str], bytes]:
        params = urllib.parse.parse_qs(query)
        try:
            day = dt.date.fromisoformat(params["game_date"][0])
        except (KeyError, ValueError):
            return _json(400, {"error": "give game_date=YYYY-MM-DD"}, cache=False)
        try:
            lookup = self.versions.latest(day)
        except (LookupTimeout, WarehouseError) as err:
            log.warning("store version of %s not read: %s", day, err)
            return _json(503, {"error": f"{type(err).__name__}: {err}"}, cache=False)
        cache = {"Cache-Control": f"max-age={int(self.cache_s)}", "X-Featmon-Source": lookup.source}
        if lookup.version is None:
            status, headers, body = _json(404, {"error": f"no store rows for {day}"})
            return status, {**headers, **cache}, body
        fingerprint = lookup.version.fingerprint
        cache["ETag"] = f'"{fingerprint}"'
        if etag_matches(if_none_match, fingerprint):
            return 304, cache, b""
        status, headers, body = _json(200, lookup.version.to_json())
        return status, {**headers, **cache}, body

    def status_page(self) -> tuple[int, dict[str, str], bytes]:
        def read() -> Status:
            wait_s = self.timeout_s * 0.8
            wh = open_waiting_for_lock(lambda: open_warehouse(self.config), wait_s, 0.05)
            with wh:
                return read_status(self.config, wh, now_utc())

        try:
            status = run_bounded(self.pool, read, self.timeout_s)
        except (LookupTimeout, WarehouseError) as err:
            body = f"featmon: the warehouse could not be read: {err}\n".encode()
            return 503, {"Content-Type": "text/plain; charset=utf-8"}, body
        page = render_page(self.config, status).encode()
        return 200, {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}, page

    def close(self) -> None:
        self.versions.close()
        self.pool.shutdown(wait=False, cancel_futures=True)


def _json(
    status: int, body: dict[str, Any], *, cache: bool = True
) -> tuple[int, dict[str, str], bytes]:
    headers = {"Content-Type": "application/json"}
    if not cache:
        headers["Cache-Control"] = "no-store"
    return status, headers, json.dumps(body).encode()


class Server:
    """`featmon serve` on host:port until `stop()` (port 0: a free one, read `port`)."""

    def __init__(
        self,
        config: Config,
        host: str = "127.0.0.1",
        port: int = 8080,
        *,
        timeout_s: float = 5.0,
        cache_s: float = 5.0,
    ) -> None:
        self.service = Service(config, timeout_s=timeout_s, cache_s=cache_s)
        service = self.service

        class Handler(BaseHTTPRequestHandler):
            server_version = "featmon"

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("%s " + format, self.address_string(), *args)

            def do_GET(self) -> None:
                parts = urllib.parse.urlsplit(self.path)
                if parts.path == VERSION_PATH:
                    answer = service.store_version(parts.query, self.headers.get("If-None-Match"))
                elif parts.path == "/":
                    answer = service.status_page()
                elif parts.path == "/healthz":
                    answer = 200, {"Content-Type": "text/plain"}, b"ok\n"
                else:
                    answer = _json(404, {"error": f"no such path {parts.path}"}, cache=False)
                status, headers, body = answer
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if status != 304:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self.host = host
        self.port = int(self.httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def start(self) -> Server:
        """Serve from a background thread (tests, or a daemon hosting the service)."""
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop a server started with `start()`."""
        self.httpd.shutdown()
        self.close()

    def close(self) -> None:
        self.httpd.server_close()
        self.service.close()
