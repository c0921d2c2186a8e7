"""The console sink: one line per alert, for a terminal or a job's log."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TextIO

from alerts.model import Alert


def format_alert(alert: Alert) -> str:
    where = alert.game_date.isoformat() if alert.game_date else "all dates"
    what = alert.check + (f"[{alert.feature}]" if alert.feature else "")
    if alert.kind == "error":
        return f"ERROR    {alert.severity:<8} {what} {where}: {alert.summary}"
    return f"ALERT    {alert.severity:<8} {what} {where}: {alert.summary}"


class ConsoleSink:
    name = "console"

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def deliver(self, alerts: Iterable[Alert]) -> int:
        stream = self.stream or sys.stdout
        n = 0
        for alert in alerts:
            print(format_alert(alert), file=stream)
            n += 1
        stream.flush()
        return n
