"""`featmon remediate --date D [--execute [--force]]`: the regeneration plan for a date
(its alerts, each guard passed or failed and why, the exact request with the key
redacted), and with `--execute` the request itself (monitor/remediation/act.py).

Exit codes: 0 the plan was shown, or the request was accepted; 1 a guard refused it (the
plan says which); 2 usage or config error, or a hard guard (no coordinator, the API key's
variable unset), naming the field; 3 the coordinator did not accept it, or the state was
unavailable."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from monitor.cli.common import (
    DATE,
    EXIT_ALERT,
    EXIT_CHECK_ERROR,
    EXIT_USAGE,
    config_option,
    fail,
    load,
    require_warehouse,
)

if TYPE_CHECKING:
    from monitor.config import Config
    from monitor.remediation.plan import Plan


@click.command("remediate")
@config_option
@click.option("--date", "date", type=DATE, required=True, help="The game date (YYYY-MM-DD).")
@click.option("--execute", is_flag=True, help="Send the request (guards apply).")
@click.option(
    "--force",
    is_flag=True,
    help="With --execute: send although soft guards fail (played date, no alert, share, "
    "interval). A coordinator URL and the API key are still required.",
)
def remediate(config_path: str | None, date: object, execute: bool, force: bool) -> None:
    """Show the regeneration plan for a date; send it with --execute."""
    import datetime as dt

    from monitor.clock import now_utc
    from monitor.remediation.act import current_plan
    from monitor.remediation.act import execute as send_plan
    from monitor.remediation.plan import HARD
    from monitor.warehouse import WarehouseError

    if force and not execute:
        raise click.UsageError("--force goes with --execute")
    assert isinstance(date, dt.datetime)
    day = date.date()
    config = load(config_path)
    require_warehouse(config)
    now = now_utc()
    if not execute:
        _print_plan(config, current_plan(config, day, now))
        click.echo("Not sent: add --execute to send it.")
        return
    try:
        plan, acted = send_plan(config, day, now, force=force)
    except WarehouseError as e:
        fail(EXIT_CHECK_ERROR, [f"alert state unavailable: {e}"])
    _print_plan(config, plan)
    refused = plan.refused(force)
    if refused:
        hard = [g for g in refused if g.name in HARD]
        if hard:
            fail(EXIT_USAGE, [f"config error: {g.why}" for g in hard])
        fail(
            EXIT_ALERT,
            [f"not sent: {g.name}: {g.why}" for g in refused]
            + ["(--force sends anyway: docs/actions.md#guarded-regeneration)"],
        )
    if not acted.sent:  # e.g. another featmon run holds the remediation lease right now
        fail(EXIT_CHECK_ERROR, acted.problems or ["not sent"])
    [sent] = acted.sent
    a = sent.answer
    if a.status == "accepted":
        click.echo(f"Sent: the coordinator accepted it, batch {a.batch_id or '?'}.")
    for problem in acted.problems:
        click.echo(f"featmon: {problem}", err=True)
    if a.status != "accepted":
        raise SystemExit(EXIT_CHECK_ERROR)


def _print_plan(config: Config, plan: Plan) -> None:
    from checks.times import for_people

    zone = config.zone()
    click.echo(
        f"Regeneration plan for {plan.game_date} (remediation.mode {config.remediation.mode})"
    )
    click.echo("Alerts:")
    if not plan.alerts:
        click.echo("  none firing on this date")
    for s in plan.alerts:
        labels = s.labels
        what = labels["check"] + (f" {labels['feature']}" if labels.get("feature") else "")
        mark = " <- the request is about this one" if s is plan.trigger else ""
        click.echo(
            f"  {what} ({labels.get('severity', '')}): {s.affected} / {s.total} predictions, "
            f"firing since {for_people(s.started_at, zone)}, fingerprint {s.fingerprint}{mark}"
        )
    click.echo("Guards:")
    for g in plan.guards:
        click.echo(f"  {'ok  ' if g.ok else 'FAIL'} {g.name}: {g.why}")
    click.echo("Request:")
    click.echo(f"  {plan.curl()}")
