"""The transports of the invalidation signal: a Pub/Sub topic (ordering key = game date)
and a webhook (a JSON POST). Each publishes one event and answers None when the target
confirmed it, or the error, worded without the URL or header values (they may be secrets).

Both are bounded by `actions.invalidation.timeout`. The Pub/Sub client honours
PUBSUB_EMULATOR_HOST (the emulator in tests); otherwise it uses the job's credentials.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any, Protocol

from alerts.sinks.webhook import _OPENER as NO_REDIRECTS
from checks.durations import parse_duration
from monitor.config import Config, SecretUnset
from monitor.config.models import require_http_url


class Publisher(Protocol):
    name: str  # the target's name in the invalidation log

    def publish(self, game_date: str, fingerprint: str, payload: str) -> str | None: ...

    def close(self) -> None: ...


class PubSub:
    """One message per event: the JSON payload, ordering key the game date (so a
    subscriber with ordering on sees a date's versions in write order), and `game_date`
    and `fingerprint` as attributes (to filter or deduplicate without parsing)."""

    name = "pubsub"

    def __init__(self, topic: str, timeout_s: float) -> None:
        self.topic = topic
        self.timeout_s = timeout_s
        self._client: Any = None

    def _publisher(self) -> Any:
        if self._client is None:
            from google.cloud import pubsub_v1  # type: ignore[attr-defined]

            options = pubsub_v1.types.PublisherOptions(enable_message_ordering=True)
            self._client = pubsub_v1.PublisherClient(publisher_options=options)
        return self._client

    def publish(self, game_date: str, fingerprint: str, payload: str) -> str | None:
        try:
            client = self._publisher()
            future = client.publish(
                self.topic,
                payload.encode(),
                ordering_key=game_date,
                game_date=game_date,
                fingerprint=fingerprint,
            )
            future.result(timeout=self.timeout_s)
            return None
        except Exception as e:
            if self._client is not None:
                # A failed key is paused by the client until resumed: the next attempt
                # (this run's next date, or the next run) must be able to publish.
                self._client.resume_publish(self.topic, game_date)
            return f"Pub/Sub publish to {self.topic} failed: {type(e).__name__}: {e}"

    def close(self) -> None:
        if self._client is not None:
            self._client.stop()


class Webhook:
    """A JSON POST per event; a 2xx answer is delivered, anything else kept pending."""

    name = "webhook"

    def __init__(self, url: str, headers: Mapping[str, str], timeout_s: float) -> None:
        self.url = url
        self.headers = {"Content-Type": "application/json", **headers}
        self.timeout_s = timeout_s

    def publish(self, game_date: str, fingerprint: str, payload: str) -> str | None:
        request = urllib.request.Request(
            self.url, data=payload.encode(), headers=self.headers, method="POST"
        )
        try:
            with NO_REDIRECTS.open(request, timeout=self.timeout_s) as response:
                status = int(response.status)
        except urllib.error.HTTPError as e:
            status = e.code
        except TimeoutError:
            return f"webhook timed out after {self.timeout_s:g}s"
        except urllib.error.URLError as e:
            return f"webhook unreachable: {e.reason}"
        except OSError as e:
            return f"webhook unreachable: {type(e).__name__}"
        return None if 200 <= status < 300 else f"webhook answered HTTP {status}"

    def close(self) -> None:
        pass


class Unavailable:
    """A configured target that cannot be built (an unset secret): its events stay pending
    with the reason, and go out once the variable is set."""

    def __init__(self, name: str, error: str) -> None:
        self.name = name
        self.error = error

    def publish(self, game_date: str, fingerprint: str, payload: str) -> str | None:
        return self.error

    def close(self) -> None:
        pass


def publishers_from(config: Config, env: Mapping[str, str] | None = None) -> list[Publisher]:
    """The configured targets, secrets resolved from `env` (the process's) now."""
    from monitor.pipeline.sinks import secrets_under

    inv = config.actions.invalidation
    assert inv is not None
    timeout_s = parse_duration(inv.timeout).total_seconds()
    out: list[Publisher] = []
    if inv.pubsub_topic is not None:
        out.append(PubSub(inv.pubsub_topic, timeout_s))
    if inv.webhook is not None:
        prefix = "actions.invalidation.webhook."
        try:
            secrets = secrets_under(config, prefix, os.environ if env is None else env)
            url = secrets[f"{prefix}url"]
            require_http_url(url, "url")
        except SecretUnset as e:
            out.append(Unavailable("webhook", str(e)))
            return out
        except ValueError as e:
            out.append(Unavailable("webhook", f"{prefix}url: {e}"))
            return out
        headers = {
            path.removeprefix(f"{prefix}headers."): value
            for path, value in secrets.items()
            if path.startswith(f"{prefix}headers.")
        }
        out.append(Webhook(url, headers, timeout_s))
    return out
