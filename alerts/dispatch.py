"""Delivering notifications through the notification log: record the intent, then send.

Every notification is logged as pending for every sink before any sink is called, marked
`sending` just before the call and `sent` (with the sink's delivery reference) just after.
So a failed sink leaves it pending for the next run (nothing is dropped), and a process that
dies between sending and recording leaves `sending`: the next run asks the sink whether the
message exists (`Sink.find`) before sending again, so a crash does not make a duplicate post
where the sink can tell.

Notifications are delivered by group (alerts/grouping.py): everything pending of one group
goes to a sink as one `Envelope`, with the group's whole picture (what the sink was last
told of each of its alerts, updated by the new notifications), so the sink edits one
message and replies once, however many alerts changed.

The log knows sinks only by name and stores their references opaquely: Slack's channel and
ts, or nothing for a webhook, are the sink's business.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from alerts.grouping import labels_of_group
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
    def group_ref(self, group: str, sink: str) -> str | None:
        """Where the sink delivered the group's message (its latest sent notification's ref)."""
        ...

    def group_members(self, group: str, sink: str) -> Sequence[Notification]:
        """What the sink was last told of each alert of the group."""
        ...


@dataclass
class DispatchReport:
    sent: int = 0
    pending: int = 0
    reconciled: int = 0
    problems: list[str] = field(default_factory=list)  # new errors, each reported once


def group_of(note: Notification) -> str:
    """The group a notification is delivered with (an alert stored before grouping is a
    group of its own)."""
    return note.state.group_id or note.state.fingerprint


def dispatch(
    log: NotificationLog,
    sinks: Sequence[Sink],
    notes: Sequence[Notification],
    now: dt.datetime,
    attachments: Mapping[str, Sequence[Attachment]] | None = None,
) -> DispatchReport:
    """Record `notes` for every sink, then deliver everything each sink has pending, group
    by group, in order. `attachments` (by game date) go with a new group's first message."""
    report = DispatchReport()
    log.record(notes, [s.name for s in sinks], now)
    for sink in sinks:
        for group, rows in _by_group(log.unsent(sink.name)):
            _deliver_group(log, sink, group, rows, now, attachments or {}, report)
    return report


def _by_group(rows: Sequence[LoggedNotification]) -> list[tuple[str, list[LoggedNotification]]]:
    """The unsent rows by group, groups in the order of their oldest row."""
    out: dict[str, list[LoggedNotification]] = {}
    for row in rows:
        out.setdefault(group_of(row.note), []).append(row)
    return list(out.items())


def _deliver_group(
    log: NotificationLog,
    sink: Sink,
    group: str,
    rows: list[LoggedNotification],
    now: dt.datetime,
    attachments: Mapping[str, Sequence[Attachment]],
    report: DispatchReport,
) -> None:
    """Deliver one group's pending notifications as one envelope. Rows a crashed run left
    `sending` are looked for first; only what the sink does not have is sent."""
    ref = log.group_ref(group, sink.name)
    sending = [r for r in rows if r.status == "sending"]
    if sending:
        found = sink.find(_envelope(log, sink, group, sending, ref, attachments))
        if found is not None:
            for row in sending:
                log.mark_sent(row.id, found.ref or ref, now)
            report.reconciled += len(sending)
            rows = [r for r in rows if r.status != "sending"]
            ref = found.ref or ref
            if not rows:
                return
    envelope = _envelope(log, sink, group, rows, ref, attachments)
    for row in rows:
        log.mark_sending(row.id, now)
    delivery = sink.deliver(envelope)
    if delivery.ok and os.environ.get(CRASH_AFTER_DELIVERY):
        os._exit(75)
    if delivery.ok:
        for row in rows:
            log.mark_sent(row.id, delivery.ref or ref, now)
        report.sent += len(rows)
        return
    for row in rows:
        log.mark_pending(row.id, delivery.error, now)
    report.pending += len(rows)
    if delivery.error != rows[0].error:
        report.problems.append(f"{sink.name}: {delivery.error}")


def _envelope(
    log: NotificationLog,
    sink: Sink,
    group: str,
    rows: Sequence[LoggedNotification],
    ref: str | None,
    attachments: Mapping[str, Sequence[Attachment]],
) -> Envelope:
    """The group's envelope: these rows' notifications (the changes) and the picture
    they leave (what the sink was told of each alert, overlaid with the changes)."""
    changes = tuple(row.note for row in rows)
    picture: dict[str, Notification] = {
        n.state.fingerprint: n for n in log.group_members(group, sink.name)
    }
    for note in changes:
        earlier = picture.get(note.state.fingerprint)
        if note.alert is None and note.kind != "resolved" and earlier is not None:
            note = Notification(note.kind, note.state, earlier.alert, note.outcome)
        picture[note.state.fingerprint] = note
    labels = labels_of_group(group) or {}
    days = {n.state.labels.get("game_date", "") for n in changes if n.kind == "firing"} - {""}
    return Envelope(
        id=rows[0].id,
        group_key=group,
        notifications=changes,
        created_at=rows[0].created_at,
        ref=ref,
        attachments=tuple(a for day in sorted(days) for a in attachments.get(day, ())),
        members=tuple(picture.values()),
        group_labels=labels,
    )
