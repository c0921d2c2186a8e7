"""The commands that run the pipeline: `check` (one run), `demo` (build the demo warehouse,
then one run) and `run` (the daemon). Each calls monitor.pipeline.run.run_once and prints
what came back; `--estimate` prints the cost guard's dry runs."""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import TYPE_CHECKING

import click

from monitor.cli.common import (
    EXIT_CHECK_ERROR,
    EXIT_OK,
    EXIT_USAGE,
    config_option,
    fail,
    load,
    unknown_checks,
    window_of,
    window_options,
)

if TYPE_CHECKING:
    from monitor.config import Config
    from monitor.pipeline.run import RunOutcome
    from monitor.pipeline.window import DateWindow


@click.command()
@config_option
@window_options
@click.option("--only", multiple=True, metavar="CHECK", help="Run only this check (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--fail-on-alert", is_flag=True, help="Exit 1 when any alert fires.")
@click.option("--estimate", is_flag=True, help="Dry-run the queries; print bytes and cost.")
@click.option(
    "--log-format",
    type=click.Choice(["json", "text"]),
    default=None,
    help="Override alerts.cloud_logging.format for this run.",
)
@click.option(
    "--dry-run", is_flag=True, help="Show what would be notified; touch neither state nor sinks."
)
def check(
    config_path: str | None,
    dates: tuple[dt.date | None, ...],
    only: tuple[str, ...],
    fmt: str,
    fail_on_alert: bool,
    estimate: bool,
    log_format: str | None,
    dry_run: bool,
) -> None:
    """Run the enabled checks over the window and report alerts."""
    from monitor.pipeline.run import run_once
    from monitor.progress import Progress

    config = load(config_path)
    window = window_of(config, dates)
    unknown_checks(only)
    if estimate:
        sys.exit(print_estimate(config, window, fmt))
    # No window flags: the configured window; and no --only besides: the scheduled run (the
    # Cloud Run job's). Anything narrower changes only the alerts it looked at.
    configured = not any(dates)
    with Progress("featmon check", total=3) as progress:
        outcome = run_once(
            config,
            window,
            only,
            configured_window=configured,
            scheduled=configured and not only,
            dry_run=dry_run,
            log_format=log_format,
            step=progress.step,
        )
    print_outcome(config, outcome, fmt)
    sys.exit(outcome.exit_code(fail_on_alert))


def print_outcome(
    config: Config,
    outcome: RunOutcome,
    fmt: str,
    *,
    table: bool = True,
    slack_preview: bool = False,
) -> None:
    """The run as on-call reads it: notifications (dry run), problems on stderr, then the
    results (a table, or the JSON contract) and one status line."""
    from alerts.model import alerts_from
    from monitor.clock import now_utc
    from monitor.pipeline.sinks import has_sinks, step_context
    from monitor.reports import output

    report = outcome.report
    for note in outcome.would_notify:
        labels = note.state.labels
        click.echo(
            f"would notify: {note.kind} {labels['severity']} {labels['check']} "
            f"{labels['game_date'] or '-'} {labels['feature']}".rstrip(),
            err=fmt == "json",
        )
    for problem in outcome.problems():
        click.echo(f"featmon: {problem}", err=True)
    alerts = alerts_from(report.results)
    if fmt == "json":
        click.echo(output.report_json(report))
        output.print_alerts(alerts, sys.stderr)
        return
    if table:
        output.console().print(output.report_table(report))
    if config.alerts.console is not None:
        output.print_alerts(alerts, sys.stdout)
    fired = sum(a.kind == "firing" for a in alerts)
    errors = sum(a.kind == "error" for a in alerts)
    click.echo(
        f"status={report.status} alerts={fired} errors={errors} "
        f"queries={report.queries} duration={report.duration_s:.2f}s"
    )
    delivery = outcome.delivery
    if delivery is not None and has_sinks(config):
        click.echo(
            f"notifications: sent={delivery.sent} pending={delivery.pending} "
            f"reconciled={delivery.reconciled}"
        )
    if slack_preview and alerts and config.alerts.slack is None:
        from alerts.sinks.slack_message import as_text, group_message, preview_group

        members = preview_group(alerts, config.alerts.group_by)
        click.echo("\nWhat Slack would get for the worst group (set alerts.slack to post it):")
        steps = step_context(config).at(now_utc())
        message = group_message(members, config.alerts.runbook_url, None, steps, zone=config.zone())
        click.echo(as_text(message))


def print_estimate(config: Config, window: DateWindow, fmt: str) -> int:
    from monitor.pipeline.cost import estimate, format_bytes, monthly_cost
    from monitor.progress import Progress
    from monitor.warehouse import WarehouseError, capabilities, open_warehouse
    from monitor.warehouse.base import EstimateUnsupported

    if not capabilities(config).dry_run:
        fail(EXIT_USAGE, ["--estimate dry-runs the queries: it needs warehouse.backend: bigquery"])
    try:
        with open_warehouse(config) as wh, Progress("featmon check --estimate") as progress:
            figures = estimate(config, wh, window, progress.step)
    except EstimateUnsupported as e:
        fail(EXIT_USAGE, [str(e)])
    except WarehouseError as e:
        fail(EXIT_CHECK_ERROR, [f"estimate failed: {e}"])
    total = figures[-1].bytes
    budget = config.budget
    cost = monthly_cost(config, total)
    if fmt == "json":
        doc = {
            "window": window.as_dict(),
            "queries": [{"check": f.label, "bytes": f.bytes} for f in figures[:-1]],
            "total_bytes": total,
            "runs_per_day": budget.runs_per_day,
            "usd_per_tib": budget.usd_per_tib,
            "monthly_usd": round(cost, 2),
        }
        click.echo(json.dumps(doc, indent=2))
        return EXIT_OK
    click.echo(f"featmon check --estimate: game dates {window.start} .. {window.end} (dry runs)")
    for f in figures:
        click.echo(f"  {f.label:<28} {format_bytes(f.bytes):>11}  ({f.bytes:,} bytes)")
    monthly = total * budget.runs_per_day * 30
    click.echo(
        f"at {budget.runs_per_day:g} runs/day: {format_bytes(monthly)}/month, "
        f"about ${cost:,.2f}/month at ${budget.usd_per_tib:g}/TiB"
    )
    if budget.max_bytes_per_run is not None and total > budget.max_bytes_per_run:
        click.echo(f"over budget.max_bytes_per_run={budget.max_bytes_per_run:,}: runs will refuse")
    return EXIT_OK


# The demo's own warehouse, beside the config: never the file `warehouse.path` names
# (unless that is this one), since the demo deletes and rebuilds it.
DEMO_WAREHOUSE = ".featmon/demo.duckdb"


@click.command()
@config_option
@click.option("--no-check", is_flag=True, help="Only build the demo warehouse.")
@click.option(
    "--notify", is_flag=True, help="Send the demo's alerts to the configured sinks (Slack...)."
)
@click.option(
    "--loop",
    "loop",
    is_flag=True,
    help="Tell the whole loop: store write -> signal, stale batch -> alert -> regeneration "
    "-> recovery (docs/actions.md).",
)
def demo(config_path: str | None, no_check: bool, notify: bool, loop: bool) -> None:
    """Build the demo warehouse (.featmon/demo.duckdb beside the config) with the seed
    incident, then check it, notifying no sink unless --notify. With --loop, build it
    while telling the whole loop, from the store's rewrite to the incident's recovery."""
    from monitor.demo.incident import write_demo
    from monitor.pipeline.impact import run_impact
    from monitor.pipeline.run import run_once
    from monitor.pipeline.window import DateWindow, resolve_window, today_in
    from monitor.progress import Progress
    from monitor.reports import output
    from monitor.warehouse import capabilities, open_warehouse

    configured = load(config_path)
    if not capabilities(configured).embedded_file:
        fail(
            EXIT_USAGE, ["demo writes the embedded DuckDB warehouse; set warehouse.backend: duckdb"]
        )
    config, dropped = demo_config(configured, notify=notify)
    today = today_in(config)
    path = config.warehouse_path()
    if loop:
        sys.exit(demo_loop(config, dropped))
    with Progress("featmon demo") as progress:
        data = write_demo(str(path), today, config.zone(), config, progress.step)
    click.echo(
        f"demo warehouse {path}: {len(data.store)} feature-store rows, "
        f"{len(data.predictions)} predictions, game dates {today - dt.timedelta(days=2)} .. "
        f"{today + dt.timedelta(days=1)} (today is {today} in {config.timezone})"
    )
    if path.resolve() != configured.warehouse_path().resolve():
        click.echo(f"the configured warehouse {configured.warehouse_path()} is left untouched")
    if no_check:
        return
    click.echo()
    with open_warehouse(config) as wh:
        rows = run_impact(
            config, wh, DateWindow(today - dt.timedelta(days=2), today + dt.timedelta(days=1))
        )
    console = output.console()
    console.print(output.impact_table(rows, console.width))
    click.echo()
    outcome = run_once(config, resolve_window(config), configured_window=True, scheduled=True)
    print_outcome(config, outcome, "text", slack_preview=True)
    if dropped:
        click.echo(
            f"no notifications sent: the demo leaves {', '.join(dropped)} alone "
            "(--notify sends to them)"
        )
    sys.exit(outcome.exit_code())


def demo_loop(config: Config, dropped: list[str]) -> int:
    """`featmon demo --loop`: monitor/demo/loop.py tells it; this prints what the demo
    left alone."""
    from monitor.clock import now_utc
    from monitor.demo.loop import run_loop
    from monitor.pipeline.window import today_in

    path = config.warehouse_path()
    # FEATMON_NOW pins the demo's today (tests, the docs' excerpts); the loop's own clock
    # is the evening before it.
    _, outcome = run_loop(config, path, today_in(config, now_utc()), click.echo)
    click.echo(f"demo warehouse {path}: the date's regenerated predictions are active")
    if dropped:
        click.echo(
            f"no notifications sent: the demo leaves {', '.join(dropped)} alone "
            "(--notify sends to them)"
        )
    return outcome.exit_code()


def demo_config(config: Config, *, notify: bool) -> tuple[Config, list[str]]:
    """The config the demo runs with: its own warehouse file, and without the sinks that
    reach people or cloud metrics unless `notify` (a fake incident in the real channel
    pages on-call). Also returns the names of the sinks it dropped."""
    warehouse = config.warehouse.model_copy(update={"path": str(config.base_dir / DEMO_WAREHOUSE)})
    sinks = ("slack", "webhook", "cloud_monitoring")
    dropped = [] if notify else [s for s in sinks if getattr(config.alerts, s) is not None]
    alerts = config.alerts.model_copy(update=dict.fromkeys(dropped))
    return config.model_copy(update={"warehouse": warehouse, "alerts": alerts}), dropped


@click.command("run")
@config_option
@click.option("--health-port", type=int, help="Serve GET /healthz on this port.")
@click.option(
    "--health-host",
    default="127.0.0.1",
    show_default=True,
    help="Address for /healthz (0.0.0.0 on Cloud Run or GKE).",
)
@click.option(
    "--grace",
    type=float,
    default=30.0,
    show_default=True,
    help="Seconds a running cycle may take to finish after SIGTERM.",
)
@click.option("--jitter", type=float, default=None, help="Random delay (s) per interval cycle.")
@click.option("--log-format", type=click.Choice(["json", "text"]), default=None)
def run_command(
    config_path: str | None,
    health_port: int | None,
    health_host: str,
    grace: float,
    jitter: float | None,
    log_format: str | None,
) -> None:
    """Run the checks on their schedules until SIGTERM (the long-running daemon)."""
    import logging

    from monitor.clock import LogFormatter
    from monitor.pipeline.daemon import run_daemon, scheduled_run
    from monitor.pipeline.notify import flush_pending

    config = load(config_path)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(LogFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    # featmon's own INFO lines (heartbeats, lock waits) are the daemon's log; libraries'
    # INFO chatter (sqlglot reports each transpile detail) is not.
    logging.getLogger("sqlglot").setLevel(logging.WARNING)

    def cycle(checks: list[str]) -> int:
        outcome = scheduled_run(config, checks, log_format)
        print_outcome(config, outcome, "text", table=False)
        return outcome.exit_code()

    sys.exit(
        run_daemon(
            config,
            cycle,
            health_port=health_port,
            health_host=health_host,
            grace_s=grace,
            jitter_s=jitter,
            on_stop=lambda: flush_pending(config),
        )
    )
