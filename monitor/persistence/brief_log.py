"""The notification log for the delivery phase, holding the warehouse only for each write.

An embedded DuckDB file admits one read-write process at a time: a run that kept it open
while Slack hung would lock out every other featmon and the pipeline. So while sinks are
called, each log operation opens the file, runs its statement or two, and closes it
(milliseconds); between them nothing is held. A remote warehouse has no such lock: one
connection serves the whole phase.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import TypeVar

from alerts.dispatch import LoggedNotification
from alerts.lifecycle import Notification
from monitor.persistence.alert_state import StateStore
from monitor.warehouse.base import Warehouse

T = TypeVar("T")


class BriefLog:
    """`NotificationLog` over a warehouse opened afresh for every call."""

    def __init__(
        self, open_: Callable[[], Warehouse], dataset: str, holder: str, claim_ttl: dt.timedelta
    ) -> None:
        self._open = open_
        self._dataset = dataset
        self.holder = holder
        self._claim_ttl = claim_ttl

    def _with(self, use: Callable[[StateStore], T]) -> T:
        with self._open() as wh:
            store = StateStore(wh, self._dataset, holder=self.holder, claim_ttl=self._claim_ttl)
            return use(store)

    def record(self, notes: Sequence[Notification], sinks: Sequence[str], now: dt.datetime) -> None:
        if notes and sinks:
            self._with(lambda s: s.record(notes, sinks, now))

    def unsent(self, sink: str) -> Sequence[LoggedNotification]:
        return self._with(lambda s: s.unsent(sink))

    def claim(self, row: LoggedNotification, now: dt.datetime) -> bool:
        return self._with(lambda s: s.claim(row, now))

    def mark_sent(self, row_id: str, ref: str | None, now: dt.datetime) -> None:
        self._with(lambda s: s.mark_sent(row_id, ref, now))

    def mark_pending(self, row_id: str, error: str, now: dt.datetime) -> None:
        self._with(lambda s: s.mark_pending(row_id, error, now))

    def group_ref(self, group: str, sink: str) -> str | None:
        return self._with(lambda s: s.group_ref(group, sink))

    def group_members(self, group: str, sink: str) -> Sequence[Notification]:
        return self._with(lambda s: s.group_members(group, sink))
