"""Delivering notifications through the notification log: record the intent, then send.

Every notification is logged as pending for every sink before any sink is called, marked
`sending` just before the call and `sent` (with the sink's delivery reference) just after.
So a failed sink leaves it pending for the next run (nothing is dropped), and a process that
dies between sending and recording leaves `sending`: the next run asks the sink whether the
message exists (`Sink.find`) before sending again, so a crash does not make a duplicate post
where the sink can tell.

Marking a row `sending` is a claim (`NotificationLog.claim`): it succeeds for one run only,
and the log reports a row another live run has claimed as `in_flight`, so overlapping runs
never send the same row and no run holds a warehouse lock or lease while it waits on a
sink. A `DeliveryBudget` bounds the whole: one deadline for the run's deliveries, and a
breaker per sink that stops calling it after a timeout, a 5xx, a refused connection or a
429 (whose Retry-After is honoured by leaving the rest for the next run, never by sleeping).

Notifications are delivered by group (alerts/grouping.py): everything pending of one group
goes to a sink as one `Envelope`, with the group's whole picture (what the sink was last
told of each of its alerts, updated by the new notifications), so the sink edits one
message and replies once, however many alerts changed. A group is the unit of the claim
and the budget too: a group with a row another run is sending is left to that run, all of
a group's rows are claimed before its one call, and the deadline and breaker are checked
once per group.

The log knows sinks only by name and stores their references opaquely: Slack's channel and
ts, or nothing for a webhook, are the sink's business.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from alerts.grouping import labels_of_group
from alerts.lifecycle import Notification
from alerts.sinks.base import Attachment, Delivery, Envelope, Sink

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
    claimed_by: str = ""  # the run that marked it `sending` (its holder id)
    in_flight: bool = False  # `sending`, claimed by another run that is still alive


class NotificationLog(Protocol):
    def record(
        self, notes: Sequence[Notification], sinks: Sequence[str], now: dt.datetime
    ) -> None: ...
    def unsent(self, sink: str) -> Sequence[LoggedNotification]: ...
    def claim(self, row: LoggedNotification, now: dt.datetime) -> bool:
        """Mark the row `sending` for this run, if it is still as read (no other run
        claimed it meanwhile); False: another run has it."""
        ...

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
    # Left to another run that is sending them now (counted in `pending` too).
    elsewhere: int = 0


@dataclass
class DeliveryBudget:
    """What one run may spend on delivery: `deadline_s` for every sink together, and a
    breaker per sink. A sink that failed transiently (timed out, 5xx, refused, 429) is not
    called again this run: with a hung Slack a run costs one timeout, not one per alert,
    and everything it did not send stays pending for the next run."""

    deadline_s: float
    clock: Callable[[], float] = time.monotonic
    broken: dict[str, int] = field(default_factory=dict)  # sink -> notifications left
    left_by_deadline: int = 0
    _ends: float = field(init=False)

    def __post_init__(self) -> None:
        self._ends = self.clock() + self.deadline_s

    def expired(self) -> bool:
        return self.clock() >= self._ends

    def allows(self, sink: str, notifications: int = 1) -> bool:
        """Whether to call `sink` now (for one group of `notifications`); counts what the
        breaker and the deadline leave behind."""
        if sink in self.broken:
            self.broken[sink] += notifications
            return False
        if self.expired():
            self.left_by_deadline += notifications
            return False
        return True

    def observe(self, sink: str, delivery: Delivery) -> None:
        if not delivery.ok and delivery.retryable:
            self.broken.setdefault(sink, 0)

    def problems(self) -> list[str]:
        out = [
            f"{s}: not called again this run after that failure ({n} more left pending)"
            for s, n in self.broken.items()
            if n
        ]
        if self.left_by_deadline:
            out.append(
                f"delivery deadline ({self.deadline_s:g}s) reached: {self.left_by_deadline} "
                "notification(s) left pending for the next run"
            )
        return out


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
    budget: DeliveryBudget | None = None,
) -> DispatchReport:
    """Record `notes` for every sink, then deliver everything each sink has pending, group
    by group, in order, within `budget` (unbounded when None). `attachments` (by game date)
    go with a new group's first message."""
    report = DispatchReport()
    budget = budget or DeliveryBudget(deadline_s=float("inf"))
    log.record(notes, [s.name for s in sinks], now)
    for sink in sinks:
        for group, rows in _by_group(log.unsent(sink.name)):
            elsewhere = sum(1 for r in rows if r.in_flight)
            if elsewhere:  # another live run is sending part of it: the group is its
                report.elsewhere += elsewhere
                report.pending += len(rows)
                continue
            if not budget.allows(sink.name, len(rows)):
                report.pending += len(rows)
                continue
            _deliver_group(log, sink, group, rows, now, attachments or {}, report, budget)
    report.problems += budget.problems()
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
    budget: DeliveryBudget,
) -> None:
    """Deliver one group's pending notifications as one envelope. All its rows are claimed
    first (one run sends a group); rows a crashed run left `sending` are looked for first,
    and only what the sink does not have is sent."""
    taken = _claim(log, rows, now)
    if taken < len(rows):  # another run claimed the group between our read and now
        report.elsewhere += len(rows) - taken
        report.pending += len(rows)
        return
    ref = log.group_ref(group, sink.name)
    sending = [r for r in rows if r.status == "sending"]  # as read: before our claim
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
    delivery = sink.deliver(envelope)
    budget.observe(sink.name, delivery)
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


def _claim(log: NotificationLog, rows: Sequence[LoggedNotification], now: dt.datetime) -> int:
    """Claim `rows` in order, stopping at the first another run has taken: how many are
    ours. Overlapping runs try a group's rows in the same order, so the loser normally
    holds none; rows it did take are given back as pending, except one a crashed run left
    `sending`, which keeps that mark (and this run's claim, until it expires) so that the
    sink is asked for it before it is sent again."""
    for taken, row in enumerate(rows):
        if not log.claim(row, now):
            for mine in rows[:taken]:
                if mine.status != "sending":
                    log.mark_pending(mine.id, mine.error, now)
            return taken
    return len(rows)


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
