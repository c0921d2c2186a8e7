"""Whether featmon may ask the coordinator to regenerate a date, and the exact request.

A plan names the date's firing alerts, each guard with whether it passed and why, and the
request (the key redacted when shown). Two guards are hard, `--force` cannot lift them: a
coordinator URL and an API key whose variable is set. The others are soft: the date is not
played yet (today or later in `timezone`), an unmuted alert of `remediation.checks` fires
on it, the alert affects at least `min_affected_share` of the date's predictions, and no
request for the date was made within `min_interval` (every logged request counts, whatever
its answer: a coordinator that said no is not asked again every cycle).
"""

from __future__ import annotations

import datetime as dt
import json
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from alerts.lifecycle import AlertState
from alerts.steps import regeneration_body
from checks.durations import parse_duration
from checks.times import for_people
from monitor.config import Config, SecretUnset, resolve_secret
from monitor.persistence.remediations import Remediation
from monitor.pipeline.window import today_in
from monitor.remediation.coordinator import endpoint

HARD = ("coordinator", "api_key")
REDACTED = "***"


@dataclass(frozen=True)
class Guard:
    name: str
    ok: bool
    why: str


@dataclass(frozen=True)
class Plan:
    game_date: dt.date
    alerts: list[AlertState]  # the date's firing alerts
    trigger: AlertState | None  # the alert the request is about
    guards: list[Guard]
    body: dict[str, Any]
    url: str | None
    api_key: str | None = field(default=None, repr=False)  # resolved; never printed

    def refused(self, force: bool = False) -> list[Guard]:
        """The guards that stop the request (with `force`, the hard ones only)."""
        return [g for g in self.guards if not g.ok and (not force or g.name in HARD)]

    def curl(self) -> str:
        """The exact request, the key redacted: what a person reads."""
        words = ["curl", "-X", "POST", self.url or "<remediation.coordinator_url>"]
        words += ["-H", "Content-Type: application/json", "-H", f"X-API-Key: {REDACTED}"]
        return shlex.join([*words, "-d", json.dumps(self.body)])


def share(state: AlertState) -> float:
    return state.affected / state.total if state.total else 0.0


def plan_for(
    config: Config,
    day: dt.date,
    firing: Iterable[AlertState],
    earlier: list[Remediation],
    now: dt.datetime,
    env: Mapping[str, str],
) -> Plan:
    """The plan for `day` from the stored firing alerts and the date's logged requests."""
    rem = config.remediation
    dated = [s for s in firing if s.labels.get("game_date") == day.isoformat()]
    triggers = [s for s in dated if s.labels.get("check") in rem.checks and not s.muted_by]
    order: dict[str, int] = {c: i for i, c in enumerate(rem.checks)}
    trigger = min(
        triggers, key=lambda s: (-share(s), order[s.labels["check"]], s.fingerprint), default=None
    )
    guards = [_coordinator(config)]
    key, key_guard = _key(config, env)
    guards.append(key_guard)
    today = today_in(config, now)
    guards.append(
        Guard("not played", True, f"{day} is today or later in {config.timezone} ({today})")
        if day >= today
        else Guard("not played", False, f"{day} is played ({today} in {config.timezone})")
    )
    if trigger is None:
        muted = [s for s in dated if s.labels.get("check") in rem.checks and s.muted_by]
        why = "no alert of remediation.checks fires on this date" + (
            " (the firing ones are silenced)" if muted else ""
        )
        guards.append(Guard("alert", False, why))
        guards.append(Guard("affected share", False, "no alert to measure"))
    else:
        check = trigger.labels["check"]
        guards.append(Guard("alert", True, f"{check} fires ({trigger.fingerprint})"))
        ok = share(trigger) >= rem.min_affected_share
        sign = ">=" if ok else "<"
        guards.append(
            Guard(
                "affected share",
                ok,
                f"{trigger.affected} / {trigger.total} = {share(trigger):.0%} {sign} "
                f"min_affected_share {rem.min_affected_share:.0%}",
            )
        )
    interval = parse_duration(rem.min_interval)
    recent = [r for r in earlier if r.created_at > now - interval]
    guards.append(
        Guard(
            "interval",
            False,
            "a request for this date was made at "
            f"{for_people(recent[0].created_at, config.zone(), 'seconds')} "
            f"({recent[0].status}), within min_interval {rem.min_interval}",
        )
        if recent
        else Guard("interval", True, f"no request for this date within {rem.min_interval}")
    )
    if trigger is not None:
        body = regeneration_body(day, trigger.labels["check"], trigger.fingerprint)
    else:
        body = {"game_date": day.isoformat(), "reason": "featmon remediate", "metadata": {}}
    url = endpoint(rem.coordinator_url) if rem.coordinator_url else None
    return Plan(day, dated, trigger, guards, body, url, key)


def _coordinator(config: Config) -> Guard:
    url = config.remediation.coordinator_url
    if url is None:
        return Guard("coordinator", False, "remediation.coordinator_url is not set")
    return Guard("coordinator", True, f"remediation.coordinator_url is {url}")


def _key(config: Config, env: Mapping[str, str]) -> tuple[str | None, Guard]:
    secret = config.remediation.api_key
    if secret is None:
        return None, Guard("api_key", False, "remediation.api_key is not set")
    try:
        key = resolve_secret(secret.get_secret_value(), env, "remediation.api_key")
    except SecretUnset as e:
        return None, Guard("api_key", False, str(e))
    if not key:
        return None, Guard("api_key", False, "remediation.api_key is empty")
    return key, Guard("api_key", True, "remediation.api_key is set (not shown)")
