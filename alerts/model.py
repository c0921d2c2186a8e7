"""What an alert is: a check result that needs a human, with a stable identity.

Identity is the label set (check, game date, feature, severity), hashed into a
fingerprint, so later stages (dedup, repeat, resolve) can recognise the same alert
across runs and processes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from checks.base import CheckResult, Severity
from checks.registry import CHECKS

AlertKind = Literal["firing", "error"]


@dataclass(frozen=True)
class Alert:
    kind: AlertKind
    check: str
    game_date: dt.date | None
    feature: str | None
    severity: Severity
    summary: str
    meaning: str = ""
    total: int = 0
    affected: int = 0
    affected_ratio: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)
    examples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def labels(self) -> dict[str, str]:
        return {
            "check": self.check,
            "game_date": self.game_date.isoformat() if self.game_date else "",
            "feature": self.feature or "",
            "severity": self.severity,
            "kind": self.kind,
        }

    @property
    def fingerprint(self) -> str:
        text = "\x1f".join(f"{k}={v}" for k, v in sorted(self.labels.items()))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def alerts_from(results: Iterable[CheckResult]) -> list[Alert]:
    """Results with status `alert` fire; `error` raises "featmon cannot run check X"."""
    out = []
    for r in results:
        if r.status == "ok":
            continue
        check = CHECKS.get(r.check)
        out.append(
            Alert(
                kind="firing" if r.status == "alert" else "error",
                check=r.check,
                game_date=r.game_date,
                feature=r.feature,
                # A check that cannot run is at least as urgent as what it would have found.
                severity=r.severity if r.status == "alert" else "critical",
                summary=r.message,
                meaning=check.meaning if check and r.status == "alert" else "",
                total=r.total,
                affected=r.affected,
                affected_ratio=r.affected_ratio,
                details=r.details,
                examples=r.examples,
            )
        )
    return out
