"""A local Slack: answers the Web API methods featmon calls, and incoming webhooks, the way
Slack does, over real HTTP (featmon uses the official slack-sdk `WebClient(base_url=...)`),
and records every call.

Switches: `down` (every API call answers 503), `upload_error` (files.* refuse, e.g.
missing_scope), `fail_next(...)` (scripted answers for the next calls of a method) and
`holding_posts()` (chat.postMessage stays unanswered while the test looks around).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import threading
from collections.abc import Iterator
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

# (HTTP status, JSON body, headers), as Slack would answer.
Answer = tuple[int, dict[str, Any], dict[str, str]]

API_METHODS = (
    "chat.postMessage",
    "chat.update",
    "conversations.list",
    "conversations.history",
    "conversations.replies",
    "files.getUploadURLExternal",
    "files.completeUploadExternal",
)
CHANNEL_ID = "C1"
# How long a held chat.postMessage waits at most (below the slack-sdk's 30 s timeout).
HOLD_LIMIT_S = 20.0


class SlackStandIn:
    """Answers chat.postMessage / chat.update / conversations.* / files.* like Slack
    (`messages`: the channel's top-level messages; `replies`: thread replies)."""

    def __init__(self, server: HTTPServer) -> None:
        self.base_url = server.url_for("/api/")
        # Every answered API call: method, body, the Authorization header, HTTP status.
        self.calls: list[dict[str, Any]] = []
        self.messages: list[dict[str, Any]] = []  # top-level messages, for history
        self.replies: list[dict[str, Any]] = []  # thread replies, for conversations.replies
        self.uploads: list[bytes] = []  # file bodies sent to the upload URL
        self.hooked: list[dict[str, Any]] = []  # JSON bodies posted to the live webhook
        self.refused: list[str] = []  # methods answered 503 while `down` (not in `calls`)
        self.down = False
        self.upload_error: str | None = None  # e.g. missing_scope (no files:write)
        self._scripted: dict[str, list[Answer]] = {}
        self._posts_open = threading.Event()
        self._posts_open.set()
        self._server = server
        ts = itertools.count(1)

        def api(request: Request) -> Response:
            method = request.path.rsplit("/", 1)[-1]
            body = request.get_json(silent=True) or dict(request.form) or dict(request.args)
            if self.down:
                self.refused.append(method)
                return Response("upstream down", status=503)
            call = {
                "method": method,
                "body": body,
                "auth": request.headers.get("Authorization"),
            }
            self.calls.append(call)
            if self._scripted.get(method):
                status, answer, headers = self._scripted[method].pop(0)
                call["status"] = status
                return Response(
                    json.dumps(answer),
                    status=status,
                    headers=headers,
                    content_type="application/json",
                )
            call["status"] = 200
            reply: dict[str, Any] = {"ok": True}
            if method == "chat.postMessage":
                message = {
                    "ts": f"1770100000.{next(ts):06d}",
                    "text": body.get("text"),
                    "metadata": body.get("metadata"),
                    "thread_ts": body.get("thread_ts"),
                }
                if body.get("thread_ts"):
                    self.replies.append(message)
                else:
                    self.messages.append(message)
                reply.update(channel=CHANNEL_ID, ts=message["ts"])
                self._posts_open.wait(HOLD_LIMIT_S)
            elif method == "chat.update":
                reply.update(channel=body["channel"], ts=body["ts"])
            elif method == "conversations.list":
                reply["channels"] = [{"id": CHANNEL_ID, "name": "nba-alerts"}]
            elif method == "conversations.history":
                reply["messages"] = list(reversed(self.messages))
            elif method == "conversations.replies":
                parent = [m for m in self.messages if m["ts"] == body.get("ts")]
                thread = [r for r in self.replies if r["thread_ts"] == body.get("ts")]
                reply["messages"] = parent + thread
            elif method == "files.getUploadURLExternal":
                if self.upload_error:
                    reply = {"ok": False, "error": self.upload_error}
                else:
                    reply.update(file_id="F1", upload_url=server.url_for("/upload/F1"))
            elif method == "files.completeUploadExternal":
                reply["files"] = [{"id": "F1", "title": "timeline"}]
            return Response(json.dumps(reply), content_type="application/json")

        def upload(request: Request) -> Response:
            self.uploads.append(request.get_data())
            return Response("OK - 1234", status=200)

        def webhook(request: Request) -> Response:
            if request.path.rsplit("/", 1)[-1] != "live":
                return Response("no_service", status=404)  # Slack's answer for a revoked hook
            self.hooked.append(request.get_json())
            return Response("ok", status=200)

        for method in API_METHODS:
            server.expect_request(f"/api/{method}").respond_with_handler(api)
        server.expect_request("/upload/F1", method="POST").respond_with_handler(upload)
        server.expect_request(
            re.compile(r"^/services/T1/B1/\w+$"), method="POST"
        ).respond_with_handler(webhook)

    def methods(self) -> list[str]:
        """The chat.* methods called, in order (lookups and file uploads left out)."""
        return [
            c["method"]
            for c in self.calls
            if not c["method"].startswith(("conversations.", "files."))
        ]

    def webhook_url(self, *, revoked: bool = False) -> str:
        """An incoming webhook URL: a live one records its posts, a revoked one gets 404."""
        return self._server.url_for(f"/services/T1/B1/{'revoked' if revoked else 'live'}")

    def fail_next(self, method: str, *answers: Answer) -> None:
        """Answer the next calls of `method` with these, in turn; later calls as usual."""
        self._scripted.setdefault(method, []).extend(answers)

    @contextlib.contextmanager
    def holding_posts(self) -> Iterator[None]:
        """chat.postMessage calls are recorded at once but answered only when the block
        ends (or after HOLD_LIMIT_S): the sender stays mid-delivery meanwhile."""
        self._posts_open.clear()
        try:
            yield
        finally:
            self._posts_open.set()
