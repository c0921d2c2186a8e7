"""A webhook receiver stand-in (what an Alertmanager receiver sees), on pytest-httpserver."""

from __future__ import annotations

import json
import time
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response


class Receiver:
    """An Alertmanager webhook receiver: records every POST; can be down or slow."""

    def __init__(self, server: HTTPServer) -> None:
        self.posts: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.status = 200
        self.delay_s = 0.0

        def handle(request: Request) -> Response:
            if self.delay_s:
                time.sleep(self.delay_s)
            if self.status != 200:
                return Response("unavailable", status=self.status)
            self.posts.append(json.loads(request.get_data()))
            self.headers.append(dict(request.headers))
            return Response("ok")

        server.expect_request("/hook", method="POST").respond_with_handler(handle)
        self.url = server.url_for("/hook")
