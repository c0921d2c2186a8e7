"""The commands on alert state: `alerts` (what fires, and what each sink was told) and
`silence add|list|expire`."""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

import click

from monitor.cli.common import (
    EXIT_CHECK_ERROR,
    EXIT_USAGE,
    config_option,
    fail,
    load,
    require_warehouse,
)

if TYPE_CHECKING:
    from alerts.lifecycle import AlertState
    from alerts.silences import Silence
    from monitor.config import Config
    from monitor.persistence.alert_state import StateStore
    from monitor.warehouse import Warehouse


def _state_or_fail(config: Config) -> tuple[Warehouse, StateStore]:
    from monitor.pipeline.notify import open_state
    from monitor.warehouse import WarehouseError

    require_warehouse(config)
    try:
        return open_state(config)
    except WarehouseError as e:
        fail(EXIT_CHECK_ERROR, [f"alert state unavailable: {e}"])


FORMAT = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")


@click.command("alerts")
@config_option
@click.option("--all", "show_all", is_flag=True, help="Include resolved alerts.")
@FORMAT
def alerts_command(config_path: str | None, show_all: bool, fmt: str) -> None:
    """List firing (and pending) alerts with their last notification."""
    config = load(config_path)
    wh, store = _state_or_fail(config)
    with wh:
        states = store.all_alerts()
        last = store.last_notifications()
    shown = [s for s in states if show_all or s.status == "firing"]
    if fmt == "json":
        click.echo(json.dumps({"alerts": [_alert_json(s, last.get(s.fingerprint)) for s in shown]}))
        return
    if not shown:
        click.echo("no firing alerts" if not show_all else "no alerts recorded")
        return
    for s in shown:
        click.echo(_alert_line(s, last.get(s.fingerprint), config.zone()))


def _alert_line(s: AlertState, note: dict[str, Any] | None, zone: dt.tzinfo) -> str:
    from alerts.content import display_name
    from checks.times import for_people

    labels = s.labels
    name = display_name(labels["check"], labels.get("feature"), sep="")
    if labels.get("kind") == "error":
        name += " (cannot run)"
    told = "never notified"
    if note:
        told = f"last {note['kind']} via {note['sink']}: {note['status']}"
        if note["status"] != "sent" and note["error"]:
            told += f" ({note['error']})"
    muted = f" muted ({s.muted_by})" if s.muted_by and s.status == "firing" else ""
    when = (s.resolved_at if s.status == "resolved" else None) or s.started_at
    return (
        f"{s.status:<8} {labels['severity']:<8} {name} {labels.get('game_date') or '-'} "
        f"{s.affected}/{s.total} since {for_people(when, zone)}{muted}; {told}"
    )


def _alert_json(s: AlertState, note: dict[str, Any] | None) -> dict[str, Any]:
    """One alert for machines (docs/cli.md "Output contract"): fixed keys, empty labels
    as null, times ISO 8601 UTC with `Z`."""
    from alerts.silences import LABELS

    labels = {key: s.labels.get(key) or None for key in LABELS}
    return {
        "fingerprint": s.fingerprint,
        "status": s.status,
        "labels": labels,
        "summary": s.summary,
        "affected": s.affected,
        "total": s.total,
        "started_at": _iso(s.started_at),
        "last_seen_at": _iso(s.last_seen_at),
        "last_notified_at": _iso(s.last_notified_at),
        "resolved_at": _iso(s.resolved_at),
        "resolved_reason": s.resolved_reason or None,
        "muted_by": s.muted_by or None,
        "last_notification": None
        if note is None
        else {
            "kind": note["kind"],
            "sink": note["sink"],
            "status": note["status"],
            "at": _iso(note["updated_at"]),
            "error": note["error"] or None,
        },
    }


def _iso(moment: dt.datetime | None) -> str | None:
    from checks.times import iso_utc

    return None if moment is None else iso_utc(moment)


@click.group()
def silence() -> None:
    """Mute alerts that match labels, until a time."""


@silence.command("add")
@config_option
@click.option(
    "--match",
    "matches",
    multiple=True,
    metavar="LABEL=VALUE",
    help="check=..., game_date=..., feature=..., severity=..., kind=... (repeatable)",
)
@click.option(
    "--fingerprint",
    metavar="FP",
    help="Silence exactly this alert (the fingerprint its Slack message shows).",
)
@click.option("--for", "duration", metavar="DURATION", help="How long, e.g. 2h.")
@click.option(
    "--until",
    "until",
    metavar="TIME",
    help="Until when: YYYY-MM-DD HH:MM in the config's timezone, or with an offset (...Z).",
)
@click.option("--reason", required=True, help="Why (shown to on-call).")
def silence_add(
    config_path: str | None,
    matches: tuple[str, ...],
    fingerprint: str | None,
    duration: str | None,
    until: str | None,
    reason: str,
) -> None:
    """Mute the alerts matching every --match (and --fingerprint) until a time."""
    from alerts.silences import FINGERPRINT, Silence, format_match
    from checks.times import for_people
    from monitor.clock import now_utc

    config = load(config_path)
    match = _parse_match(config, matches)
    if not match and fingerprint is None:
        raise click.UsageError("give --match LABEL=VALUE or --fingerprint FP")
    now = now_utc()
    end = _silence_end(now, duration, until, config.zone())
    wh, store = _state_or_fail(config)
    with wh:
        states = store.all_alerts()
        if fingerprint is not None:
            _require_known_fingerprint(fingerprint, states)
            match[FINGERPRINT] = fingerprint
        silence_id = store.add_silence(match, end, reason, now)
    click.echo(
        f"silence {silence_id} until {for_people(end, config.zone())}: "
        f"{format_match(match)} ({reason})"
    )
    click.echo(_matching_firing(Silence(match, end, reason), states, now))


def _parse_match(config: Config, items: tuple[str, ...]) -> dict[str, str]:
    """The --match items as labels, each checked against the config: a typo would store a
    silence that mutes nothing while on-call believes the noise is handled."""
    from alerts.silences import LABELS, label_problem
    from checks.registry import CHECKS

    match: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or key not in LABELS:
            raise click.UsageError(
                f"--match {item!r}: use LABEL=VALUE with LABEL one of {', '.join(LABELS)} "
                "(or --fingerprint FP for one alert)"
            )
        problem = label_problem(key, value, list(CHECKS), list(config.predictions.features))
        if problem:
            raise click.UsageError(f"--match {key}={value}: {problem}")
        match[key] = value
    return match


def _silence_end(
    now: dt.datetime, duration: str | None, until: str | None, zone: dt.tzinfo
) -> dt.datetime:
    """--for from now, or --until read in the config's zone unless it gives an offset; an
    end already past would store a silence that mutes nothing: refused (exit 2)."""
    from checks.durations import parse_duration
    from checks.times import for_people, parse_time

    if duration is not None and until is None:
        try:
            return now + parse_duration(duration)
        except ValueError as e:
            raise click.UsageError(f"--for: {e}") from None
    if until is not None and duration is None:
        try:
            end = parse_time(until, zone)
        except ValueError as e:
            raise click.UsageError(f"--until: {e}") from None
        if end <= now:
            raise click.UsageError(
                f"--until {for_people(end, zone)} is not in the future "
                f"(now {for_people(now, zone)})"
            )
        return end
    raise click.UsageError("give --for or --until")


def _require_known_fingerprint(fingerprint: str, states: list[AlertState]) -> None:
    """A fingerprint no recorded alert has is a copy-paste slip: refuse it (exit 2)."""
    if all(s.fingerprint != fingerprint for s in states):
        raise click.UsageError(
            f"unknown fingerprint {fingerprint!r}: no recorded alert has it (see featmon alerts)"
        )


def _matching_firing(silence: Silence, states: list[AlertState], now: dt.datetime) -> str:
    """Which firing alerts the new silence mutes: on-call sees at once whether it took."""
    from alerts.content import display_name

    names = [
        f"{display_name(s.labels['check'], s.labels.get('feature'), sep='')} "
        f"{s.labels.get('game_date') or '-'}"
        for s in states
        if s.status == "firing" and silence.mutes(s.labels, now, s.fingerprint)
    ]
    if not names:
        return "matches no firing alerts"
    plural = "" if len(names) == 1 else "s"
    return f"matches {len(names)} firing alert{plural}: {', '.join(names)}"


@silence.command("list")
@config_option
@click.option("--all", "show_all", is_flag=True, help="Include expired silences.")
@FORMAT
def silence_list(config_path: str | None, show_all: bool, fmt: str) -> None:
    """List active (with --all, also expired) silences."""
    from alerts.silences import format_match
    from checks.times import for_people
    from monitor.clock import now_utc

    config = load(config_path)
    wh, store = _state_or_fail(config)
    now = now_utc()
    with wh:
        rows = store.silences(now, active_only=not show_all)
    if fmt == "json":
        click.echo(json.dumps({"silences": [_silence_json(r, now) for r in rows]}))
        return
    for r in rows:
        click.echo(
            f"{r['id']} {_silence_state(r, now)} until {for_people(r['until'], config.zone())} "
            f"{format_match(r['match'])} ({r['reason']})"
        )
    if not rows:
        click.echo("no silences")


def _silence_state(row: dict[str, Any], now: dt.datetime) -> str:
    """`expired` (by `silence expire`), `ended` (its time has passed: it mutes nothing) or
    `active`."""
    if row["expired_at"]:
        return "expired"
    return "ended" if row["until"] <= now else "active"


def _silence_json(row: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    """One stored silence for machines: fixed keys, times ISO 8601 UTC with `Z`."""
    return {
        "id": row["id"],
        "state": _silence_state(row, now),
        "match": dict(row["match"]),
        "until": _iso(row["until"]),
        "reason": row["reason"] or "",
        "created_at": _iso(row["created_at"]),
        "expired_at": _iso(row["expired_at"]),
    }


@silence.command("expire")
@config_option
@click.argument("silence_id")
def silence_expire(config_path: str | None, silence_id: str) -> None:
    from monitor.clock import now_utc

    config = load(config_path)
    wh, store = _state_or_fail(config)
    with wh:
        if not store.expire_silence(silence_id, now_utc()):
            fail(EXIT_USAGE, [f"no silence {silence_id}"])
    click.echo(f"silence {silence_id} expired")
