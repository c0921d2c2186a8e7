"""Muting: silences (labels matched until a time) and inhibition (a firing source check
mutes a target check on the same game date), Alertmanager's two ways to keep known noise
away from on-call. A muted alert is still tracked; it is only not announced."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from alerts.model import Alert

# What a silence may match: the alert's labels, or its fingerprint (the one alert a Slack
# message names, so on-call can mute exactly that one).
LABELS = ("check", "game_date", "feature", "severity", "kind")
FINGERPRINT = "fingerprint"
SEVERITIES = ("critical", "warning", "info")
KINDS = ("firing", "error")


@dataclass(frozen=True)
class Silence:
    """Mutes alerts whose labels (and fingerprint, under the `fingerprint` key) equal every
    `match` item, until `until`."""

    match: Mapping[str, str]
    until: dt.datetime
    reason: str = ""

    def mutes(self, labels: Mapping[str, str], now: dt.datetime, fingerprint: str = "") -> bool:
        values = {**labels, FINGERPRINT: fingerprint}
        return now < self.until and all(values.get(k) == v for k, v in self.match.items())


def label_problem(key: str, value: str, checks: Sequence[str], features: Sequence[str]) -> str:
    """Why `value` can never be the `key` label (or fingerprint) of an alert of a config
    with these checks and features ("" if it can): a typo would keep a silence that mutes
    nothing while on-call believes the noise is handled."""
    if key == FINGERPRINT:
        return "" if re.fullmatch(r"[0-9a-f]{16}", value) else f"{value!r} is not a fingerprint"
    if key == "game_date":
        try:
            valid = dt.datetime.strptime(value, "%Y-%m-%d").date().isoformat() == value
        except ValueError:
            valid = False
        return "" if valid else f"{value!r} is not a date; use YYYY-MM-DD"
    known = {
        "check": list(checks),
        "feature": list(features),
        "severity": list(SEVERITIES),
        "kind": list(KINDS),
    }.get(key)
    if known is None:
        return f"unknown label {key!r}; use one of {', '.join((*LABELS, FINGERPRINT))}"
    if value in known:
        return ""
    return f"unknown {key} {value!r}; valid: {', '.join(known) or 'none configured'}"


def format_match(match: Mapping[str, str]) -> str:
    """`check=low_quality game_date=2026-02-03`: what on-call typed, not a Python repr."""
    return " ".join(f"{k}={v}" for k, v in match.items())


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
        if s.mutes(alert.labels, now, alert.fingerprint):
            return f"silenced: {s.reason}" if s.reason else "silenced"
    for rule in inhibits:
        if rule.target == alert.check and any(
            other.check == rule.source and other.game_date == alert.game_date
            for other in firing_now
        ):
            return f"inhibited by {rule.source}"
    return ""
