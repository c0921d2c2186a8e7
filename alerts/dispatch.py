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
    def ref_of(self, fingerprint: str, sink: str) -> str | None:
        """Where the sink delivered the alert's current message (its latest sent firing)."""
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

    def allows(self, sink: str) -> bool:
        """Whether to call `sink` now; counts what the deadline leaves behind."""
        if sink in self.broken:
            self.broken[sink] += 1
            return False
        if self.expired():
            self.left_by_deadline += 1
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


def dispatch(
    log: NotificationLog,
    sinks: Sequence[Sink],
    notes: Sequence[Notification],
    now: dt.datetime,
    attachments: Mapping[str, Sequence[Attachment]] | None = None,
    budget: DeliveryBudget | None = None,
) -> DispatchReport:
    """Record `notes` for every sink, then deliver everything each sink has pending, in
    order, within `budget` (unbounded when None). `attachments` (by game date) go with new
    alerts' first messages."""
    report = DispatchReport()
    budget = budget or DeliveryBudget(deadline_s=float("inf"))
    log.record(notes, [s.name for s in sinks], now)
    for sink in sinks:
        blocked: set[str] = set()  # keep each alert's notifications in order
        for row in log.unsent(sink.name):
            fingerprint = row.note.state.fingerprint
            if row.in_flight:
                report.elsewhere += 1
            if row.in_flight or fingerprint in blocked or not budget.allows(sink.name):
                report.pending += 1
                blocked.add(fingerprint)
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
            if not log.claim(row, now):  # another run took it between our read and now
                report.elsewhere += 1
                report.pending += 1
                blocked.add(fingerprint)
                continue
            if row.status == "sending":
                found = sink.find(envelope)
                if found is not None:
                    log.mark_sent(row.id, found.ref, now)
                    report.reconciled += 1
                    continue
            delivery = sink.deliver(envelope)
            budget.observe(sink.name, delivery)
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
    report.problems += budget.problems()
    return report


def _attachments_for(
    note: Notification, attachments: Mapping[str, Sequence[Attachment]]
) -> tuple[Attachment, ...]:
    if note.kind != "firing":
        return ()
    return tuple(attachments.get(note.state.labels.get("game_date", ""), ()))
