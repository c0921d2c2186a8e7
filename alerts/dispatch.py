"""Delivering notifications through the notification log: record the intent, then send.

Every notification is logged as pending for every sink before any sink is called, marked
`sending` just before the call and `sent` (with where it landed) just after. So a failed
sink leaves it pending for the next run (nothing is dropped), and a process that dies
between sending and recording leaves `sending`: the next run asks the sink whether the
message exists (by the notification id in its metadata) before sending again, so a crash
does not make a duplicate post.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from alerts.lifecycle import Notification
from alerts.sinks.slack import Delivery

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
    channel: str | None
    ts: str | None
    error: str
    note: Notification


class NotificationLog(Protocol):
    def record(
        self, notes: Sequence[Notification], sinks: Sequence[str], now: dt.datetime
    ) -> None: ...
    def unsent(self, sink: str) -> Sequence[LoggedNotification]: ...
    def mark_sending(self, row_id: str, channel: str | None, now: dt.datetime) -> None: ...
    def mark_sent(
        self, row_id: str, channel: str | None, ts: str | None, now: dt.datetime
    ) -> None: ...
    def mark_pending(self, row_id: str, error: str, now: dt.datetime) -> None: ...
    def message_of(self, fingerprint: str, sink: str) -> tuple[str | None, str | None]: ...


class Notifier(Protocol):
    name: str

    def channel_for(self, severity: str) -> str: ...

    def deliver(
        self,
        note: Notification,
        *,
        channel: str | None = None,
        ts: str | None = None,
        note_id: str | None = None,
    ) -> Delivery: ...

    def find(self, note_id: str, channel: str, since: dt.datetime) -> Delivery | None: ...


@dataclass
class DispatchReport:
    sent: int = 0
    pending: int = 0
    reconciled: int = 0
    problems: list[str] = field(default_factory=list)  # new errors, each reported once


def dispatch(
    log: NotificationLog,
    notifiers: Sequence[Notifier],
    notes: Sequence[Notification],
    now: dt.datetime,
) -> DispatchReport:
    report = DispatchReport()
    log.record(notes, [n.name for n in notifiers], now)
    for notifier in notifiers:
        blocked: set[str] = set()  # keep each alert's notifications in order
        for row in log.unsent(notifier.name):
            fingerprint = row.note.state.fingerprint
            if fingerprint in blocked:
                report.pending += 1
                continue
            if row.status == "sending" and row.channel:
                found = notifier.find(row.id, row.channel, row.created_at)
                if found is not None:
                    log.mark_sent(row.id, found.channel, found.ts, now)
                    report.reconciled += 1
                    continue
            channel, ts = (None, None)
            if row.note.kind != "firing":
                channel, ts = log.message_of(fingerprint, notifier.name)
            target = channel or notifier.channel_for(
                row.note.state.labels.get("severity", "warning")
            )
            log.mark_sending(row.id, target, now)
            delivery = notifier.deliver(row.note, channel=target, ts=ts, note_id=row.id)
            if delivery.ok and os.environ.get(CRASH_AFTER_DELIVERY):
                os._exit(75)
            if delivery.ok:
                log.mark_sent(row.id, delivery.channel, delivery.ts or ts, now)
                report.sent += 1
                continue
            log.mark_pending(row.id, delivery.error, now)
            report.pending += 1
            blocked.add(fingerprint)
            if delivery.error != row.error:
                report.problems.append(f"{notifier.name}: {delivery.error}")
    return report
