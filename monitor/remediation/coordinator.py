"""The coordinator's `POST /regenerate-with-supersede`, sent with bounded retries.

Timeouts, refused connections and 5xx are retried with exponential backoff (0.5 s, 1 s,
2 s, ... capped at 8 s) until `deadline_s` has passed; a 4xx is the coordinator saying no
(a bad key, a date it does not know, a regeneration already running): it is explained and
never retried. The API key goes into the `X-API-Key` header only: no error text built here
can contain it (errors quote the coordinator's answer, cut, and the key is scrubbed from it
in case the coordinator echoes headers).
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

PATH = "/regenerate-with-supersede"
FIRST_BACKOFF_S, MAX_BACKOFF_S = 0.5, 8.0


@dataclass(frozen=True)
class Answer:
    """How a request ended: `accepted` (2xx, with the batch id), `rejected` (4xx: not
    retried) or `failed` (timeouts / 5xx / unreachable until the deadline)."""

    status: str
    attempts: int
    http_status: int | None = None
    batch_id: str = ""
    error: str = ""


def endpoint(coordinator_url: str) -> str:
    return coordinator_url.rstrip("/") + PATH


def send(
    coordinator_url: str,
    api_key: str,
    body: dict[str, Any],
    *,
    timeout_s: float,
    deadline_s: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Answer:
    """Send the request, retrying what retrying can fix until `deadline_s`."""
    data = json.dumps(body).encode()
    url = endpoint(coordinator_url)
    give_up = clock() + deadline_s
    backoff, attempts = FIRST_BACKOFF_S, 0
    while True:
        attempts += 1
        request = urllib.request.Request(
            url,
            data=data,
            method="POST",
            headers={"Content-Type": "application/json", "X-API-Key": api_key},
        )
        status, text, error = _post(request, timeout_s)
        if status is not None and 200 <= status < 300:
            return Answer("accepted", attempts, status, _batch_id(text))
        if status is not None and 400 <= status < 500:
            why = _scrub(text, api_key)
            return Answer("rejected", attempts, status, error=f"HTTP {status}: {why}")
        error = _scrub(error or f"HTTP {status}: {text}", api_key)
        if clock() + backoff > give_up:
            return Answer("failed", attempts, status, error=f"{error} (after {attempts} tries)")
        sleep(backoff)
        backoff = min(backoff * 2, MAX_BACKOFF_S)


def _post(request: urllib.request.Request, timeout_s: float) -> tuple[int | None, str, str]:
    """(HTTP status or None, body, transport error)."""
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as resp:
            return int(resp.status), resp.read(4096).decode(errors="replace"), ""
    except urllib.error.HTTPError as e:
        return int(e.code), e.read(4096).decode(errors="replace"), ""
    except TimeoutError:
        return None, "", f"no answer within {timeout_s:g}s"
    except http.client.HTTPException as e:  # a garbled answer (IncompleteRead, BadStatusLine)
        return None, "", f"coordinator answered garbled HTTP: {type(e).__name__}"
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        if isinstance(reason, TimeoutError):
            return None, "", f"no answer within {timeout_s:g}s"
        return None, "", f"coordinator unreachable: {type(reason).__name__}"


def _batch_id(text: str) -> str:
    try:
        answer = json.loads(text)
    except ValueError:
        return ""
    return str(answer.get("batch_id") or "") if isinstance(answer, dict) else ""


def _scrub(text: str, secret: str) -> str:
    """The secret replaced before the text is cut, so no part of it survives the cut."""
    text = text.replace(secret, "***") if secret else text
    return " ".join(text.split())[:200]
