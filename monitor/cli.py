"""The `featmon` command line.

Exit codes (a contract for Cloud Run and cron): 0 the run completed (alerts may have
fired); 1 an alert fired and --fail-on-alert was given; 2 usage or config error;
3 a check could not run.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
import sys
from collections.abc import Callable
from typing import Any, NoReturn

import click

from alerts.model import alerts_from
from alerts.sinks.console import ConsoleSink
from checks.registry import CHECKS
from monitor.config import Config, ConfigError, HistoryConfig, load_config
from monitor.pipeline.cycle import run_cycle, run_impact
from monitor.pipeline.plan import build_checks, check_query, impact_query
from monitor.pipeline.window import DateWindow, resolve_window, today_in
from monitor.reports import output
from monitor.warehouse import WarehouseError, open_for_reading, open_warehouse

EXIT_OK, EXIT_ALERT, EXIT_USAGE, EXIT_CHECK_ERROR = 0, 1, 2, 3

DATE = click.DateTime(formats=["%Y-%m-%d"])


def _fail(code: int, lines: list[str]) -> NoReturn:
    for line in lines:
        click.echo(f"featmon: {line}", err=True)
    sys.exit(code)


def _load(path: str | None) -> Config:
    return _load_with_path(path)[0]


def config_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "-c",
        "--config",
        "config_path",
        metavar="FILE",
        help="Config file (default: $FEATMON_CONFIG, else ./config.yaml).",
    )(f)


def window_options(f: Callable[..., Any]) -> Callable[..., Any]:
    @click.option("--date", "date", type=DATE, help="Check one game date (YYYY-MM-DD).")
    @click.option("--from", "start", type=DATE, help="First game date of the window.")
    @click.option("--to", "end", type=DATE, help="Last game date of the window.")
    @functools.wraps(f)
    def wrapper(*args: Any, date: Any, start: Any, end: Any, **kwargs: Any) -> Any:
        return f(*args, dates=(_d(date), _d(start), _d(end)), **kwargs)

    return wrapper


def _d(value: dt.datetime | None) -> dt.date | None:
    return value.date() if value else None


def _window(config: Config, dates: tuple[dt.date | None, ...]) -> DateWindow:
    date, start, end = dates
    if date and (start or end):
        raise click.UsageError("use --date or --from/--to, not both")
    try:
        return resolve_window(config, date=date, start=start, end=end)
    except ValueError as e:
        raise click.UsageError(str(e)) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="featmon")
def main() -> None:
    """featmon: catch predictions served from stale or mismatched features."""


@main.command()
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
    help="Override monitor.telemetry.cloud_logging.format for this run.",
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
    config = _load(config_path)
    window = _window(config, dates)
    unknown = sorted(set(only) - set(CHECKS))
    if unknown:
        raise click.UsageError(f"unknown check(s) {', '.join(unknown)}; known: {', '.join(CHECKS)}")
    if estimate:
        sys.exit(print_estimate(config, window, fmt))
    sys.exit(
        run_and_report(
            config, window, list(only), fmt, fail_on_alert, log_format=log_format, dry_run=dry_run
        )
    )


def print_estimate(config: Config, window: DateWindow, fmt: str) -> int:
    from monitor.pipeline.cost import estimate, format_bytes, monthly_cost
    from monitor.warehouse.base import EstimateUnsupported

    if config.warehouse.backend != "bigquery":
        _fail(EXIT_USAGE, ["--estimate dry-runs the queries: it needs warehouse.backend: bigquery"])
    try:
        with open_warehouse(config) as wh:
            figures = estimate(config, wh, window)
    except EstimateUnsupported as e:
        _fail(EXIT_USAGE, [str(e)])
    except WarehouseError as e:
        _fail(EXIT_CHECK_ERROR, [f"estimate failed: {e}"])
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


def run_and_report(
    config: Config,
    window: DateWindow,
    only: list[str],
    fmt: str,
    fail_on_alert: bool,
    slack_preview: bool = False,
    log_format: str | None = None,
    table: bool = True,
    dry_run: bool = False,
) -> int:
    from monitor.clock import now_utc
    from monitor.pipeline.notify import log_run, notify, preview, publish_metrics

    report = run_cycle(config, window, only or None, record=not dry_run)
    now = now_utc()
    state_failed = False
    outcome = None
    if dry_run:
        for note in preview(config, report, now):
            labels = note.state.labels
            click.echo(
                f"would notify: {note.kind} {labels['severity']} {labels['check']} "
                f"{labels['game_date'] or '-'} {labels['feature']}".rstrip(),
                err=fmt == "json",
            )
    else:
        try:
            outcome = notify(config, report, now)
        except WarehouseError as e:  # e.g. another process holds the DuckDB write lock
            state_failed = True
            click.echo(
                f"featmon: alert state unavailable, nothing notified this run: {e}", err=True
            )
        log_run(config, report, outcome[1] if outcome else [], now, log_format)
    for problem in report.problems:
        click.echo(f"featmon: {problem}", err=True)
    delivery = outcome[0] if outcome else None
    if delivery is not None:
        for problem in delivery.problems:
            click.echo(f"featmon: notification not delivered (kept pending): {problem}", err=True)
    for problem in [] if dry_run else publish_metrics(config, report, now):
        click.echo(f"featmon: metrics not written: {problem}", err=True)
    alerts = alerts_from(report.results)
    if fmt == "json":
        click.echo(output.report_json(report))
        ConsoleSink(sys.stderr).deliver(alerts)
    else:
        if table:
            output.console().print(output.report_table(report))
        if config.alerts.console is not None:
            ConsoleSink(sys.stdout).deliver(alerts)
        fired = sum(a.kind == "firing" for a in alerts)
        errors = sum(a.kind == "error" for a in alerts)
        click.echo(
            f"status={report.status} alerts={fired} errors={errors} "
            f"queries={report.queries} duration={report.duration_s:.2f}s"
        )
        if delivery is not None and config.alerts.slack is not None:
            click.echo(
                f"notifications: sent={delivery.sent} pending={delivery.pending} "
                f"reconciled={delivery.reconciled}"
            )
        firing = [a for a in alerts if a.kind == "firing"]
        if slack_preview and firing and config.alerts.slack is None:
            from alerts.sinks.slack_message import as_text, firing_message

            worst = max(firing, key=lambda a: (a.severity == "critical", a.affected))
            click.echo("\nWhat Slack would get for the worst alert (set alerts.slack to post it):")
            click.echo(as_text(firing_message(worst, config.alerts.runbook_url)))
    if report.status == "error" or state_failed:
        return EXIT_CHECK_ERROR
    if fail_on_alert and report.status == "alert":
        return EXIT_ALERT
    return EXIT_OK


@main.command()
@config_option
@window_options
@click.option("--format", "fmt", type=click.Choice(["text", "json", "csv"]), default="text")
def impact(config_path: str | None, dates: tuple[dt.date | None, ...], fmt: str) -> None:
    """Per game date: how many predictions each problem touched (the seed's table)."""
    config = _load(config_path)
    window = _window(config, dates)
    try:
        with open_for_reading(config) as wh:
            rows = run_impact(config, wh, window)
    except WarehouseError as e:
        _fail(EXIT_CHECK_ERROR, [f"impact could not run: {e}"])
    if fmt == "json":
        click.echo(output.impact_json(rows))
    elif fmt == "csv":
        click.echo(output.impact_csv(rows), nl=False)
    else:
        output.console().print(output.impact_table(rows))


_PARAM_REF = re.compile(r"@([a-z_][a-z0-9_]*)")
_DECLARE_TYPES = {
    "DATE": "DATE",
    "FLOAT64": "FLOAT64",
    "INT64": "INT64",
    "STRING": "STRING",
    "TIMESTAMP": "TIMESTAMP",
}


@main.command()
@config_option
@click.argument("check_name", metavar="CHECK", type=click.Choice([*CHECKS, "impact"]))
@window_options
@click.option("--native", is_flag=True, help="Print the SQL as DuckDB runs it (transpiled).")
@click.option(
    "--params",
    "with_params",
    is_flag=True,
    help="Print @parameters as JSON instead of a DECLARE script.",
)
def sql(
    config_path: str | None,
    check_name: str,
    dates: tuple[dt.date | None, ...],
    native: bool,
    with_params: bool,
) -> None:
    """Print the SQL for CHECK, ready to paste into the BigQuery console."""
    config = _load(config_path)
    window = _window(config, dates)
    if check_name == "impact":
        query, _ = impact_query(config, window)
    elif CHECKS[check_name].scope == "store":
        from monitor.clock import now_utc
        from monitor.pipeline.plan import summary_query

        query = summary_query(config, window, now_utc())
    else:
        query = check_query(config, build_checks(config, [check_name]), window)
    if native:
        from monitor.warehouse.duckdb import to_duckdb  # BigQuery runs `query.sql` itself

        click.echo(to_duckdb(query.sql) + ";")
        click.echo(json.dumps(output.jsonable(query.param_values())), err=True)
        return
    if with_params:
        click.echo(query.sql + ";")
        click.echo(
            json.dumps(
                [
                    {"name": p.name, "type": p.type, "value": output.jsonable(p.value)}
                    for p in query.params
                ],
                indent=2,
            ),
            err=True,
        )
        return
    click.echo(f"-- {query.description}, game dates {window.start} .. {window.end}")
    for p in query.params:
        click.echo(
            f"DECLARE fm_{p.name} {_DECLARE_TYPES[p.type]} DEFAULT {_literal(p.type, p.value)};"
        )
    click.echo(_PARAM_REF.sub(lambda m: f"fm_{m.group(1)}", query.sql) + ";")


def _literal(type_: str, value: object) -> str:
    if type_ == "DATE":
        return f"DATE '{value}'"
    if type_ == "TIMESTAMP":
        assert isinstance(value, dt.datetime)
        return f"TIMESTAMP '{value.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S.%f+00}'"
    if type_ == "STRING":
        return json.dumps(value)  # a double-quoted BigQuery string literal
    return repr(value)


@main.command()
@config_option
@click.option("--no-check", is_flag=True, help="Only build the demo warehouse.")
def demo(config_path: str | None, no_check: bool) -> None:
    """Rebuild the embedded demo warehouse with the seed incident, then check it."""
    from monitor.demo.incident import write_demo

    config = _load(config_path)
    if config.warehouse.backend != "duckdb":
        _fail(
            EXIT_USAGE, ["demo writes the embedded DuckDB warehouse; set warehouse.backend: duckdb"]
        )
    today = today_in(config)
    path = config.warehouse_path()
    data = write_demo(str(path), today, config.zone(), config)
    click.echo(
        f"demo warehouse {path}: {len(data.store)} feature-store rows, "
        f"{len(data.predictions)} predictions, game dates {today - dt.timedelta(days=2)} .. "
        f"{today + dt.timedelta(days=1)} (today is {today} in {config.timezone})"
    )
    if no_check:
        return
    click.echo()
    with open_warehouse(config) as wh:
        rows = run_impact(
            config, wh, DateWindow(today - dt.timedelta(days=2), today + dt.timedelta(days=1))
        )
    output.console().print(output.impact_table(rows))
    click.echo()
    sys.exit(run_and_report(config, resolve_window(config), [], "text", False, slack_preview=True))


@main.command()
@config_option
def validate(config_path: str | None) -> None:
    """Check a config file without touching the warehouse."""
    config, path = _load_with_path(config_path)
    enabled = ", ".join(config.enabled_checks()) or "none"
    click.echo(f"{path}: ok (backend {config.warehouse.backend}; checks: {enabled})")


def _load_with_path(path: str | None) -> tuple[Config, str]:
    try:
        config, found = load_config(path)
    except ConfigError as e:
        _fail(EXIT_USAGE, [f"config error: {p}" for p in e.problems])
    return config, str(found)


def _state_or_fail(config: Config) -> Any:
    from monitor.pipeline.notify import open_state

    if config.warehouse.backend == "duckdb" and not config.warehouse_path().exists():
        _fail(EXIT_CHECK_ERROR, [f"no warehouse at {config.warehouse_path()} (run featmon demo?)"])
    try:
        return open_state(config)
    except WarehouseError as e:
        _fail(EXIT_CHECK_ERROR, [f"alert state unavailable: {e}"])


@main.command("alerts")
@config_option
@click.option("--all", "show_all", is_flag=True, help="Include resolved alerts.")
def alerts_command(config_path: str | None, show_all: bool) -> None:
    """List firing (and pending) alerts with their last notification."""
    config = _load(config_path)
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
        name = labels["check"] + (f"[{labels['feature']}]" if labels.get("feature") else "")
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


@main.group()
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

    config = _load(config_path)
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

    config = _load(config_path)
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

    config = _load(config_path)
    wh, store = _state_or_fail(config)
    with wh:
        if not store.expire_silence(silence_id, now_utc()):
            _fail(EXIT_USAGE, [f"no silence {silence_id}"])
    click.echo(f"silence {silence_id} expired")


@main.command("run")
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

    from monitor.pipeline.daemon import run_daemon
    from monitor.pipeline.notify import flush_pending, wait_for_warehouse

    config = _load(config_path)
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )

    def cycle(checks: list[str]) -> int:
        wait_for_warehouse(config)
        window = resolve_window(config)
        return run_and_report(
            config, window, checks, "text", False, log_format=log_format, table=False
        )

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


def _history_or_fail(config: Config) -> HistoryConfig:
    if config.history is None:
        _fail(EXIT_USAGE, ["this needs `history:` in the config (the store's recorded versions)"])
    if config.warehouse.backend == "duckdb" and not config.warehouse_path().exists():
        _fail(EXIT_CHECK_ERROR, [f"no warehouse at {config.warehouse_path()} (run featmon demo?)"])
    return config.history


@main.command()
@config_option
@window_options
def snapshot(config_path: str | None, dates: tuple[dt.date | None, ...]) -> None:
    """Record the store's new versions for the window now (each cycle does this too)."""
    from monitor.clock import now_utc
    from monitor.persistence.history import History
    from monitor.pipeline.cycle import record_history
    from monitor.pipeline.plan import tables_of

    config = _load(config_path)
    history = _history_or_fail(config)
    window = _window(config, dates)
    now = now_utc()
    problems = record_history(config, window, now)
    if problems:
        _fail(EXIT_CHECK_ERROR, problems)
    with open_for_reading(config) as wh:
        added = History(wh, config.state.dataset, tables_of(config), history).recorded_at(now)
    click.echo(
        f"recorded store versions for game dates {window.start} .. {window.end}: "
        f"{added.fingerprints} new row fingerprints, {added.versions} new versions, "
        f"{added.external} writes from outside records"
    )


@main.command()
@config_option
@click.option("--date", "date", type=DATE, required=True, help="The game date (YYYY-MM-DD).")
@click.option("--png", "png_path", type=click.Path(dir_okay=False), help="Also draw it as PNG.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False), help="Also write HTML.")
def timeline(
    config_path: str | None, date: dt.datetime, png_path: str | None, html_path: str | None
) -> None:
    """The incident story of one game date: store versions, prediction batches, alerts."""
    from pathlib import Path

    from monitor.reports.timeline import as_text, build_timeline

    config = _load(config_path)
    _history_or_fail(config)
    try:
        with open_for_reading(config) as wh:
            story = build_timeline(config, wh, date.date())
    except WarehouseError as e:
        _fail(EXIT_CHECK_ERROR, [f"timeline could not be built: {e}"])
    click.echo(as_text(story))
    if png_path or html_path:
        from monitor.reports.timeline_plot import html_page, png

        if png_path:
            Path(png_path).write_bytes(png(story))
            click.echo(f"wrote {png_path}")
        if html_path:
            Path(html_path).write_text(html_page(story), encoding="utf-8")
            click.echo(f"wrote {html_path}")


@main.command()
@config_option
@click.option("--date", "date", type=DATE, required=True, help="The game date (YYYY-MM-DD).")
@click.option("--prediction", "prediction_id", help="One prediction: every version, compared.")
def explain(config_path: str | None, date: dt.datetime, prediction_id: str | None) -> None:
    """Which recorded store version the flagged predictions of a date were built from."""
    from monitor.persistence.history import History, around, merge_versions, unseen_before
    from monitor.pipeline.plan import tables_of
    from monitor.reports.attribution import (
        ATTRIBUTED,
        attribution_batches,
        describe,
        explain_prediction,
    )

    config = _load(config_path)
    history_config = _history_or_fail(config)
    day, zone = date.date(), config.zone()
    try:
        with open_for_reading(config) as wh:
            if prediction_id:
                rows = explain_prediction(config, wh, day, prediction_id)
            else:
                checks = [c for c in build_checks(config) if c.name in ATTRIBUTED]
                batches = attribution_batches(config, wh, checks, day, day, "flagged")
                history = History(wh, config.state.dataset, tables_of(config), history_config)
                versions = merge_versions(history.versions_of(day, around(day, zone)))
    except WarehouseError as e:
        _fail(EXIT_CHECK_ERROR, [f"explain could not run: {e}"])
    if not prediction_id:
        if not batches:
            click.echo(f"{day}: no prediction is flagged by {', '.join(ATTRIBUTED)}")
        for b in batches:
            unseen = unseen_before(versions, b.made_at_min) if not b.version_written_at else None
            click.echo(f"{day}: {describe(b, zone, unseen)}")
        return
    if not rows:
        _fail(EXIT_USAGE, [f"no active prediction {prediction_id} on {day}"])
    first = rows[0]
    click.echo(
        f"prediction {prediction_id} ({day}) made "
        f"{first['made_at'].astimezone(zone):%Y-%m-%d %H:%M:%S %Z}, logged quality "
        f"{first['logged_quality']}; the store now has {first['store_quality']}"
    )
    click.echo(f"  logged features {first['logged_values']}")
    if first["written_at"] is None:
        click.echo("  no recorded version of its row (history started after it was replaced?)")
    for r in rows:
        if r["written_at"] is None:
            continue
        mark = "USED" if r["attributed"] else ("match" if r["matched"] else "-")
        click.echo(
            f"  {mark:<5} version written {r['written_at'].astimezone(zone):%Y-%m-%d %H:%M:%S %Z}"
            f" quality {r['quality']} features {r['named_values']}"
        )
