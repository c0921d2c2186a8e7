"""Delivering notifications through the notification log: record the intent, then send.

Every notification is logged as pending for every sink before any sink is called, marked
`sending` just before the call and `sent` (with the sink's delivery reference) just after.
So a failed sink leaves it pending for the next run (nothing is dropped), and a process that
dies between sending and recording leaves `sending`: the next run asks the sink whether the
message exists (`Sink.find`) before sending again, so a crash does not make a duplicate post
where the sink can tell.

The log knows sinks only by name and stores their references opaquely: Slack's channel and
ts, or nothing for a webhook, are the sink's business.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from alerts.lifecycle import Notification
from alerts.sinks.base import Attachment, Envelope, Sink

# Test hook: die right after a successful delivery, before it is recorded.
CRASH_AFTER_DELIVERY = "FEATMON_FAULT_CRASH_AFTER_DELIVERY"


@dataclass(frozen=True)
class LoggedNotification:
    """One row of the notification log: a notification for one sink, and how it went."""

    id: str
    sink: str
    status: str  # pending | sending | sent
    attempts: int
    created_at: dt.datetime
    ref: str | None
    error: str
    note: Notification


class NotificationLog(Protocol):
    def record(
        self, notes: Sequence[Notification], sinks: Sequence[str], now: dt.datetime
    ) -> None: ...
    def unsent(self, sink: str) -> Sequence[LoggedNotification]: ...
    def mark_sending(self, row_id: str, now: dt.datetime) -> None: ...
    def mark_sent(self, row_id: str, ref: str | None, now: dt.datetime) -> None: ...
    def mark_pending(self, row_id: str, error: str, now: dt.datetime) -> None: ...
    def ref_of(self, fingerprint: str, sink: str) -> str | None:
        """Where the sink delivered the alert's current message (its latest sent firing)."""
        ...


@dataclass
class DispatchReport:
    sent: int = 0
    pending: int = 0
    reconciled: int = 0
    problems: list[str] = field(default_factory=list)  # new errors, each reported once


def dispatch(
    log: NotificationLog,
    sinks: Sequence[Sink],
    notes: Sequence[Notification],
    now: dt.datetime,
    attachments: Mapping[str, Sequence[Attachment]] | None = None,
) -> DispatchReport:
    """Record `notes` for every sink, then deliver everything each sink has pending, in
    order. `attachments` (by game date) go with new alerts' first messages."""
    report = DispatchReport()
    log.record(notes, [s.name for s in sinks], now)
    for sink in sinks:
        blocked: set[str] = set()  # keep each alert's notifications in order
        for row in log.unsent(sink.name):
            fingerprint = row.note.state.fingerprint
            if fingerprint in blocked:
                report.pending += 1
                continue
            ref = log.ref_of(fingerprint, sink.name) if row.note.kind != "firing" else None
            envelope = Envelope(
                id=row.id,
                group_key=fingerprint,
                notifications=(row.note,),
                created_at=row.created_at,
                ref=ref,
                attachments=_attachments_for(row.note, attachments or {}),
            )
            if row.status == "sending":
                found = sink.find(envelope)
                if found is not None:
                    log.mark_sent(row.id, found.ref, now)
                    report.reconciled += 1
                    continue
            log.mark_sending(row.id, now)
            delivery = sink.deliver(envelope)
            if delivery.ok and os.environ.get(CRASH_AFTER_DELIVERY):
                os._exit(75)
            if delivery.ok:
                log.mark_sent(row.id, delivery.ref or ref, now)
                report.sent += 1
                continue
            log.mark_pending(row.id, delivery.error, now)
            report.pending += 1
            blocked.add(fingerprint)
            if delivery.error != row.error:
                report.problems.append(f"{sink.name}: {delivery.error}")
    return report


def _attachments_for(
    note: Notification, attachments: Mapping[str, Sequence[Attachment]]
) -> tuple[Attachment, ...]:
    if note.kind != "firing":
        return ()
    return tuple(attachments.get(note.state.labels.get("game_date", ""), ()))
