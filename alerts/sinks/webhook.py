"""The webhook sink: Alertmanager's webhook JSON, so any receiver written for Alertmanager
(PagerDuty and Opsgenie bridges, chat-ops bots, custom handlers) works with featmon unchanged.

One POST per change of a group of alerts (alerts/grouping.py) with `version: "4"`, a stable
`groupKey` built from the group's labels (`groupLabels`: its `group_by` values, such as the
game date), the group's `status` (firing until its last alert resolves), every alert of the
group with its labels and annotations (the common ones hoisted, as Alertmanager does), and
per alert its `status`, `startsAt`/`endsAt` (RFC 3339 UTC; a firing alert's `endsAt` is the
zero time, as Alertmanager sends it) and `fingerprint`. Labels with an empty value are left out, as
Alertmanager does.

A 2xx answer is delivered; a timeout (`timeout_s` per POST), a refused connection, 408, 429
(its Retry-After reported) or 5xx is kept pending and retried by the next run, never within
this one; any other answer is reported as needing a person (the URL or a
header is wrong). Neither the URL nor the header values (tokens) appear in any error: they
may be secrets.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any

from alerts import health
from alerts.content import annotations_of, iso_utc, labels_of
from alerts.grouping import ordered
from alerts.lifecycle import Notification
from alerts.sinks.base import Delivery, Envelope


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirected POST would be replayed as a GET without its body and "succeed": a 3xx
    is reported as the answer it is (the URL needs fixing), never followed."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)

# Alertmanager's `endsAt` for an alert that has not ended.
ZERO_TIME = "0001-01-01T00:00:00Z"
RETRYABLE_STATUS = {408, 425, 429}


def _common(items: Sequence[Mapping[str, str]]) -> dict[str, str]:
    """The key/value pairs every item shares (Alertmanager's commonLabels/Annotations)."""
    if not items:
        return {}
    first = items[0]
    return {k: v for k, v in first.items() if all(i.get(k) == v for i in items[1:])}


def group_key(labels: Mapping[str, str]) -> str:
    """Alertmanager's shape: the route's matchers (none) and the group's labels, each value
    quoted and escaped (a "cannot run" group's cause may hold quotes)."""
    inner = ",".join(f"{k}={json.dumps(v)}" for k, v in sorted(labels.items()))  # quoted
    return "{}:{" + inner + "}"


def alert_item(note: Notification, runbook_url: str | None) -> dict[str, Any]:
    state = note.state
    resolved = note.kind == "resolved"
    return {
        "status": "resolved" if resolved else "firing",
        "labels": labels_of(state.labels),
        "annotations": annotations_of(note, runbook_url),
        "startsAt": iso_utc(state.started_at),
        "endsAt": iso_utc(state.resolved_at) if resolved and state.resolved_at else ZERO_TIME,
        "generatorURL": "",
        "fingerprint": state.fingerprint,
    }


def payload(
    envelope: Envelope, *, receiver: str, external_url: str, runbook_url: str | None
) -> dict[str, Any]:
    """The Alertmanager webhook body (version 4) for one group: every alert of it, firing
    or resolved, worst first; `firing` until its last alert resolves."""
    alerts = [alert_item(n, runbook_url) for n in ordered(envelope.picture)]
    common_labels = _common([a["labels"] for a in alerts])
    group_labels = dict(envelope.group_labels) or common_labels
    firing = any(a["status"] == "firing" for a in alerts)
    return {
        "version": "4",
        "groupKey": group_key(group_labels),
        "truncatedAlerts": 0,
        "status": "firing" if firing else "resolved",
        "receiver": receiver,
        "groupLabels": group_labels,
        "commonLabels": common_labels,
        "commonAnnotations": _common([a["annotations"] for a in alerts]),
        "externalURL": external_url,
        "alerts": alerts,
    }


def _seconds(header: str | None) -> float | None:
    """Retry-After in seconds (the HTTP-date form is left to the next run's timing)."""
    try:
        return max(0.0, float(header)) if header else None
    except ValueError:
        return None


class WebhookSink:
    name = "webhook"

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout_s: float = 10.0,
        receiver: str = "featmon",
        external_url: str = "",
        runbook_url: str | None = None,
    ) -> None:
        self.url = url
        self.headers = dict(headers or {})
        self.timeout_s = timeout_s
        self.receiver = receiver
        self.external_url = external_url
        self.runbook_url = runbook_url

    def deliver(self, envelope: Envelope) -> Delivery:
        body = payload(
            envelope,
            receiver=self.receiver,
            external_url=self.external_url,
            runbook_url=self.runbook_url,
        )
        return self._post(body)

    def health(self, notice: health.HealthNotice) -> Delivery:
        """featmon's own "cannot run" notice as an Alertmanager group of one alert."""
        alert = health.webhook_alert(notice)
        return self._post(
            {
                "version": "4",
                "groupKey": group_key(alert["labels"]),
                "truncatedAlerts": 0,
                "status": alert["status"],
                "receiver": self.receiver,
                "groupLabels": alert["labels"],
                "commonLabels": alert["labels"],
                "commonAnnotations": alert["annotations"],
                "externalURL": self.external_url,
                "alerts": [alert],
            }
        )

    def _post(self, body: dict[str, Any]) -> Delivery:
        request = urllib.request.Request(
            self.url,
            data=json.dumps(body).encode(),
            method="POST",
            headers={
                **self.headers,
                "Content-Type": "application/json",
                "User-Agent": "featmon",
            },
        )
        retry_after: str | None = None
        try:
            with _OPENER.open(request, timeout=self.timeout_s) as response:
                status = int(response.status)
        except urllib.error.HTTPError as e:
            status = int(e.code)
            retry_after = e.headers.get("Retry-After") if e.headers else None
        except (urllib.error.URLError, OSError) as e:  # refused, DNS, timeout
            reason = getattr(e, "reason", e)
            if isinstance(reason, TimeoutError):
                return Delivery(
                    ok=False, error=f"webhook did not answer within {self.timeout_s:g}s"
                )
            return Delivery(ok=False, error=f"webhook unreachable: {type(reason).__name__}")
        if 200 <= status < 300:
            return Delivery(ok=True)
        if status == 429:
            wait = _seconds(retry_after)
            later = f" (Retry-After {wait:g}s)" if wait is not None else ""
            return Delivery(
                ok=False,
                retry_after_s=wait,
                error=f"webhook answered 429{later}: deferred to the next run",
            )
        if status >= 500 or status in RETRYABLE_STATUS:
            return Delivery(ok=False, error=f"webhook answered {status} (will retry)")
        return Delivery(
            ok=False,
            retryable=False,
            error=f"webhook answered {status}: check alerts.webhook.url and headers",
        )

    def find(self, envelope: Envelope) -> Delivery | None:
        """A webhook cannot be asked what it received: after a crash between sending and
        recording, the group is sent again (receivers deduplicate on groupKey/fingerprint)."""
        return None
