"""The commands on alert state: `alerts` (what fires, and what each sink was told) and
`silence add|list|expire`."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

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


@click.command("alerts")
@config_option
@click.option("--all", "show_all", is_flag=True, help="Include resolved alerts.")
def alerts_command(config_path: str | None, show_all: bool) -> None:
    """List firing (and pending) alerts with their last notification."""
    from alerts.content import display_name

    config = load(config_path)
    wh, store = _state_or_fail(config)
    with wh:
        states = store.all_alerts()
        last = store.last_notifications()
    shown = [s for s in states if show_all or s.status == "firing"]
    if not shown:
        click.echo("no firing alerts" if not show_all else "no alerts recorded")
        return
    for s in shown:
        labels = s.labels
        name = display_name(labels["check"], labels.get("feature"), sep="")
        if labels.get("kind") == "error":
            name += " (cannot run)"
        note = last.get(s.fingerprint)
        told = "never notified"
        if note:
            told = f"last {note['kind']} via {note['sink']}: {note['status']}"
            if note["status"] != "sent" and note["error"]:
                told += f" ({note['error']})"
        muted = f" muted ({s.muted_by})" if s.muted_by and s.status == "firing" else ""
        when = s.resolved_at if s.status == "resolved" else s.started_at
        click.echo(
            f"{s.status:<8} {labels['severity']:<8} {name} {labels.get('game_date') or '-'} "
            f"{s.affected}/{s.total} since {when:%Y-%m-%d %H:%M}Z{muted}; {told}"
        )


@click.group()
def silence() -> None:
    """Mute alerts that match labels, until a time."""


@silence.command("add")
@config_option
@click.option(
    "--match",
    "matches",
    multiple=True,
    required=True,
    metavar="LABEL=VALUE",
    help="check=..., game_date=..., feature=..., severity=... (repeatable)",
)
@click.option("--for", "duration", metavar="DURATION", help="How long, e.g. 2h.")
@click.option("--until", "until", type=click.DateTime(), help="Until when (UTC).")
@click.option("--reason", required=True, help="Why (shown to on-call).")
def silence_add(
    config_path: str | None,
    matches: tuple[str, ...],
    duration: str | None,
    until: dt.datetime | None,
    reason: str,
) -> None:
    from checks.durations import parse_duration
    from monitor.clock import now_utc

    config = load(config_path)
    match: dict[str, str] = {}
    for item in matches:
        key, sep, value = item.partition("=")
        if not sep or key not in {"check", "game_date", "feature", "severity", "kind"}:
            raise click.UsageError(f"--match {item!r}: use LABEL=VALUE with a known label")
        match[key] = value
    now = now_utc()
    if (duration is None) == (until is None):
        raise click.UsageError("give --for or --until")
    try:
        end = now + parse_duration(duration) if duration else until.replace(tzinfo=dt.UTC)  # type: ignore[union-attr]
    except ValueError as e:
        raise click.UsageError(str(e)) from None
    wh, store = _state_or_fail(config)
    with wh:
        silence_id = store.add_silence(match, end, reason, now)
    click.echo(f"silence {silence_id} until {end:%Y-%m-%d %H:%M}Z: {match} ({reason})")


@silence.command("list")
@config_option
@click.option("--all", "show_all", is_flag=True, help="Include expired silences.")
def silence_list(config_path: str | None, show_all: bool) -> None:
    from monitor.clock import now_utc

    config = load(config_path)
    wh, store = _state_or_fail(config)
    with wh:
        rows = store.silences(now_utc(), active_only=not show_all)
    for r in rows:
        state = "expired" if r["expired_at"] else "active"
        click.echo(
            f"{r['id']} {state} until {r['until']:%Y-%m-%d %H:%M}Z {r['match']} ({r['reason']})"
        )
    if not rows:
        click.echo("no silences")


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
