"""The Cloud Logging sink: structured log entries for log-based metrics and alerts.

On Cloud Run, each entry is one JSON object per line (StructuredLogHandler attached
explicitly: `setup_logging()` would pick a network handler for jobs) with `severity`,
`message`, labels `run_id` and `check`, and the finding as fields. Elsewhere the same
JSON, or human-readable lines. Entries go to stderr so stdout stays the command's output
(the JSON report); Cloud Run collects both streams.

One ERROR entry per firing critical alert (and per check that cannot run), WARNING for
other firing alerts, INFO for resolutions and for the run itself.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from google.cloud.logging.handlers import StructuredLogHandler

from alerts.content import display_name, where
from alerts.lifecycle import AlertState
from alerts.model import Alert
from monitor.clock import LogFormatter

LEVEL = {"critical": logging.ERROR, "warning": logging.WARNING, "info": logging.INFO}


class RunLogger:
    name = "cloud_logging"

    def __init__(self, *, structured: bool, run_id: str, stream: TextIO | None = None) -> None:
        self.run_id = run_id
        self.logger = logging.getLogger(f"featmon.run.{run_id}")
        self.logger.setLevel(logging.INFO)
        self.logger.propagate = False
        stream = stream or sys.stderr
        handler: logging.Handler
        if structured:
            handler = StructuredLogHandler(  # type: ignore[no-untyped-call]
                stream=stream, labels={"app": "featmon"}
            )
        else:
            handler = logging.StreamHandler(stream)
            handler.setFormatter(LogFormatter("%(asctime)s %(levelname)s featmon %(message)s"))
        self.logger.handlers = [handler]

    def _log(self, level: int, message: str, check: str, fields: dict[str, Any]) -> None:
        self.logger.log(
            level,
            message,
            extra={"labels": {"run_id": self.run_id, "check": check}, "json_fields": fields},
        )

    def alerts(self, alerts: Sequence[Alert]) -> None:
        for a in alerts:
            level = logging.ERROR if a.kind == "error" else LEVEL.get(a.severity, logging.WARNING)
            day, name = where(a.game_date), display_name(a.check, a.feature, sep="")
            self._log(
                level,
                f"{name} {day}: {a.summary}",
                a.check,
                {
                    "kind": a.kind,
                    "severity": a.severity,
                    "game_date": day,
                    "feature": a.feature,
                    "affected": a.affected,
                    "total": a.total,
                    "affected_ratio": a.affected_ratio,
                    "fingerprint": a.fingerprint,
                },
            )

    def resolved(self, states: Sequence[AlertState]) -> None:
        for s in states:
            check = s.labels["check"]
            self._log(
                logging.INFO,
                f"resolved {check} {s.labels.get('game_date') or ''}: {s.resolved_reason}",
                check,
                {"fingerprint": s.fingerprint, "kind": "resolved"},
            )

    def run(self, status: str, duration_s: float, alerts: int, errors: int) -> None:
        self._log(
            logging.INFO,
            f"run finished: status={status}",
            "cycle",
            {
                "status": status,
                "duration_s": round(duration_s, 3),
                "alerts": alerts,
                "errors": errors,
            },
        )
