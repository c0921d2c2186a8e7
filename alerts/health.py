"""featmon's own health notice: "featmon cannot run", sent when the alert state itself is
unavailable (the warehouse file corrupted or missing, BigQuery refusing).

Ordinary alerts live in the state, so they cannot announce that the state is gone: this
notice goes to the sinks directly, remembered outside the warehouse (monitor/pipeline/
outage.py), once per outage and per repeat interval, and resolved when a run gets through
again. Here is only what it says: Slack Block Kit and the Alertmanager webhook JSON, with
the metadata that lets Slack itself be asked whether the notice is already up.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

from alerts.sinks.base import Delivery
from alerts.sinks.slack_message import RESOLVED_ICON, SEVERITY_ICON, escape, header, section
from checks.times import for_people, iso_utc

# The notice's identity: its Slack metadata event type and its webhook alertname.
EVENT_TYPE = "featmon_health"
ALERTNAME = "featmon_cannot_run"
FINGERPRINT = "featmon-cannot-run"

NoticeKind = Literal["firing", "repeat", "resolved"]


@dataclass(frozen=True)
class HealthNotice:
    kind: NoticeKind
    since: dt.datetime  # when the outage was first seen
    error: str  # what stopped the run (never a secret: a warehouse error message)
    zone: dt.tzinfo  # the config's timezone, for the times a person reads
    repeat_every: str  # the config's repeat_interval, as written
    runbook_url: str | None = None
    ref: str | None = None  # where this sink put the notice before (its own reference)
    resolved_at: dt.datetime | None = None

    def local(self, moment: dt.datetime) -> str:
        """A time as every Slack message shows it: in the config's zone, abbreviated."""
        return for_people(moment, self.zone)


@runtime_checkable
class HealthSink(Protocol):
    """A sink that can carry the notice (Slack, the webhook)."""

    name: str

    def health(self, notice: HealthNotice) -> Delivery: ...


def slack_text(notice: HealthNotice) -> tuple[str, list[dict[str, Any]]]:
    """The plain-text fallback and the blocks, worded and limited like the alerts' own
    messages (alerts/sinks/slack_message.py): the error is data, so it is escaped for
    mrkdwn, and every block is cut to Slack's limits."""
    since = notice.local(notice.since)
    if notice.kind == "resolved":
        assert notice.resolved_at is not None
        top = f"{RESOLVED_ICON} RESOLVED: featmon runs again"
        body = (
            f"Alert state reachable again at {notice.local(notice.resolved_at)} "
            f"(unavailable since {since}). Alerts found meanwhile are announced by the runs "
            "from now on."
        )
        text = f"RESOLVED: featmon runs again (state unavailable since {since})"
    else:
        top = f"{SEVERITY_ICON['critical']} CRITICAL: featmon cannot run"
        still = "Still down. " if notice.kind == "repeat" else ""
        body = (
            f"{still}featmon cannot read or write its alert state since {since}:\n"
            f"{escape(notice.error[:500])}\n"
            "Checks may still fail or pass, but no alert reaches this channel until this is "
            f"fixed. Repeated every {notice.repeat_every} while it lasts; resolved here when a "
            "run gets through."
        )
        text = f"CRITICAL: featmon cannot run: {notice.error[:200]}"
    steps = [
        "• Look: `featmon check` by hand prints the same error; for an embedded warehouse, "
        "is the DuckDB file there and readable (`warehouse.path`)?"
    ]
    if notice.runbook_url:
        steps.append(f"• Runbook: <{escape(notice.runbook_url)}|what to do>")
    steps.append(f"featmon · fingerprint `{FINGERPRINT}`")
    blocks: list[dict[str, Any]] = [header(top), section(body)]
    if notice.kind != "resolved":
        blocks.append(section("\n".join(steps)))
    return escape(text), blocks


def slack_metadata(notice: HealthNotice) -> dict[str, Any]:
    """Lets a later run find the open notice in the channel's history when no local
    memory of it survived (a fresh container)."""
    payload = {"status": "resolved" if notice.kind == "resolved" else "firing"}
    payload["since"] = iso_utc(notice.since)
    return {"event_type": EVENT_TYPE, "event_payload": payload}


def webhook_alert(notice: HealthNotice) -> dict[str, Any]:
    """The notice as one Alertmanager alert (the webhook sink wraps it in its payload)."""
    resolved = notice.kind == "resolved"
    return {
        "status": "resolved" if resolved else "firing",
        "labels": {"alertname": ALERTNAME, "severity": "critical"},
        "annotations": {
            "summary": "featmon cannot run: its alert state is unavailable",
            "description": notice.error[:1000],
            **({"runbook_url": notice.runbook_url} if notice.runbook_url else {}),
        },
        "startsAt": iso_utc(notice.since),
        "endsAt": iso_utc(notice.resolved_at)
        if resolved and notice.resolved_at
        else "0001-01-01T00:00:00Z",
        "generatorURL": "",
        "fingerprint": FINGERPRINT,
    }
