"""Muting: silences (labels matched until a time) and inhibition (a firing source check
mutes a target check on the same game date), Alertmanager's two ways to keep known noise
away from on-call. A muted alert is still tracked; it is only not announced."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from alerts.model import Alert


@dataclass(frozen=True)
class Silence:
    """Mutes alerts whose labels equal every `match` item, until `until`."""

    match: Mapping[str, str]
    until: dt.datetime
    reason: str = ""

    def mutes(self, labels: Mapping[str, str], now: dt.datetime) -> bool:
        return now < self.until and all(labels.get(k) == v for k, v in self.match.items())


@dataclass(frozen=True)
class Inhibit:
    """A firing `source` check on a game date mutes the `target` check on that date."""

    source: str
    target: str


def why_muted(
    alert: Alert,
    firing_now: Sequence[Alert],
    silences: Iterable[Silence],
    inhibits: Iterable[Inhibit],
    now: dt.datetime,
) -> str:
    """Why `alert` is not announced: the first matching silence, or an inhibiting alert
    firing on the same game date (this run's); "" when it is announced."""
    for s in silences:
        if s.mutes(alert.labels, now):
            return f"silenced: {s.reason}" if s.reason else "silenced"
    for rule in inhibits:
        if rule.target == alert.check and any(
            other.check == rule.source and other.game_date == alert.game_date
            for other in firing_now
        ):
            return f"inhibited by {rule.source}"
    return ""
