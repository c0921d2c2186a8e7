"""The commands on-call investigates with, none of which notifies: `impact` (the seed's
table), `sql` (the query to paste into the BigQuery console), `snapshot` (record the
store's versions now), `timeline` and `explain` (which version predictions used)."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import click

from monitor.cli.common import (
    DATE,
    EXIT_CHECK_ERROR,
    EXIT_USAGE,
    config_option,
    fail,
    load,
    require_history,
    window_of,
    window_options,
)

_PARAM_REF = re.compile(r"@([a-z_][a-z0-9_]*)")


@click.command()
@config_option
@window_options
@click.option("--format", "fmt", type=click.Choice(["text", "json", "csv"]), default="text")
def impact(config_path: str | None, dates: tuple[dt.date | None, ...], fmt: str) -> None:
    """Per game date: how many predictions each problem touched (the seed's table)."""
    from monitor.pipeline.impact import run_impact
    from monitor.reports import output
    from monitor.warehouse import WarehouseError, open_for_reading

    config = load(config_path)
    window = window_of(config, dates)
    try:
        with open_for_reading(config) as wh:
            rows = run_impact(config, wh, window)
    except WarehouseError as e:
        fail(EXIT_CHECK_ERROR, [f"impact could not run: {e}"])
    if fmt == "json":
        click.echo(output.impact_json(rows))
    elif fmt == "csv":
        click.echo(output.impact_csv(rows), nl=False)
    else:
        console = output.console()
        console.print(output.impact_table(rows, console.width))


class CheckOrImpact(click.ParamType):  # type: ignore[type-arg]
    """A check name or `impact`, validated when used (the registry is not imported for
    `--help`)."""

    name = "CHECK"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from checks.registry import CHECKS

        choices = [*CHECKS, "impact"]
        if value not in choices:
            self.fail(f"{value!r} is not one of {', '.join(map(repr, choices))}.", param, ctx)
        return str(value)


@click.command()
@config_option
@click.argument("check_name", metavar="CHECK", type=CheckOrImpact())
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
    """Print the SQL for CHECK (or `impact`), ready to paste into the BigQuery console."""
    from checks.registry import CHECKS
    from monitor.pipeline.plan import build_checks, check_query, impact_query, summary_query
    from monitor.reports.output import jsonable

    config = load(config_path)
    window = window_of(config, dates)
    if check_name == "impact":
        query, _ = impact_query(config, window)
    elif CHECKS[check_name].scope == "store":
        from monitor.clock import now_utc

        query = summary_query(config, window, now_utc())
    else:
        query = check_query(config, build_checks(config, [check_name]), window)
    if native:
        from monitor.warehouse.duckdb import to_duckdb  # BigQuery runs `query.sql` itself

        click.echo(to_duckdb(query.sql) + ";")
        click.echo(json.dumps(jsonable(query.param_values())), err=True)
        return
    if with_params:
        click.echo(query.sql + ";")
        click.echo(
            json.dumps(
                [
                    {"name": p.name, "type": p.type, "value": jsonable(p.value)}
                    for p in query.params
                ],
                indent=2,
            ),
            err=True,
        )
        return
    click.echo(f"-- {query.description}, game dates {window.start} .. {window.end}")
    for p in query.params:
        click.echo(f"DECLARE fm_{p.name} {p.type} DEFAULT {_literal(p.type, p.value)};")
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


@click.command()
@config_option
@window_options
def snapshot(config_path: str | None, dates: tuple[dt.date | None, ...]) -> None:
    """Record the store's new versions for the window now (each cycle does this too)."""
    from monitor.clock import now_utc
    from monitor.persistence.history import History, retained_from
    from monitor.pipeline.cycle import record_history
    from monitor.pipeline.plan import tables_of
    from monitor.pipeline.window import DateWindow
    from monitor.warehouse import open_for_reading

    config = load(config_path)
    history = require_history(config)
    window = window_of(config, dates)
    now = now_utc()
    # Dates older than the retention would be recorded and deleted in the same breath.
    kept = retained_from(history, now)
    outside = (
        f"game dates before {kept} are outside history.retention_days "
        f"({history.retention_days} days): not recorded"
    )
    if window.end < kept:
        fail(EXIT_USAGE, [f"{window.start} .. {window.end}: {outside}"])
    if window.start < kept:
        click.echo(f"{window.start} .. {kept - dt.timedelta(days=1)}: {outside}")
        window = DateWindow(kept, window.end)
    problems = record_history(config, window, now)
    if problems:
        fail(EXIT_CHECK_ERROR, problems)
    with open_for_reading(config) as wh:
        added = History(wh, config.state.dataset, tables_of(config), history).recorded_at(now)
    click.echo(
        f"recorded store versions for game dates {window.start} .. {window.end}: "
        f"{added.fingerprints} new row fingerprints, {added.versions} new versions, "
        f"{added.external} writes from outside records"
    )


@click.command()
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
    from monitor.warehouse import WarehouseError, open_for_reading

    config = load(config_path)
    require_history(config)
    try:
        with open_for_reading(config) as wh:
            story = build_timeline(config, wh, date.date())
    except WarehouseError as e:
        fail(EXIT_CHECK_ERROR, [f"timeline could not be built: {e}"])
    click.echo(as_text(story))
    if png_path or html_path:
        from monitor.reports.timeline_plot import html_page, png

        if png_path:
            Path(png_path).write_bytes(png(story))
            click.echo(f"wrote {png_path}")
        if html_path:
            Path(html_path).write_text(html_page(story), encoding="utf-8")
            click.echo(f"wrote {html_path}")


@click.command()
@config_option
@click.option("--date", "date", type=DATE, required=True, help="The game date (YYYY-MM-DD).")
@click.option("--prediction", "prediction_id", help="One prediction: every version, compared.")
def explain(config_path: str | None, date: dt.datetime, prediction_id: str | None) -> None:
    """Which recorded store version the flagged predictions of a date were built from."""
    from checks.times import for_people
    from monitor.persistence.history import unseen_before
    from monitor.pipeline.attribution import (
        ATTRIBUTED,
        UNRECORDED,
        attribution_batches,
        day_history,
        explain_prediction,
    )
    from monitor.pipeline.plan import build_checks
    from monitor.reports.attribution import describe
    from monitor.warehouse import WarehouseError, open_for_reading

    config = load(config_path)
    require_history(config)
    day, zone = date.date(), config.zone()
    try:
        with open_for_reading(config) as wh:
            known = day_history(config, wh, day)
            if prediction_id:
                rows = explain_prediction(config, wh, day, prediction_id, known.recorded)
            else:
                checks = [c for c in build_checks(config) if c.name in ATTRIBUTED]
                batches = attribution_batches(
                    config, wh, checks, day, day, "flagged", recorded=known.recorded
                )
    except WarehouseError as e:
        fail(EXIT_CHECK_ERROR, [f"explain could not run: {e}"])
    for problem in known.problems:
        click.echo(f"featmon: {problem}", err=True)
    if not known.recorded:
        click.echo(f"{day}: {UNRECORDED}; compared with the store's current rows")
    if not prediction_id:
        if not batches:
            click.echo(f"{day}: no prediction is flagged by {', '.join(ATTRIBUTED)}")
        for b in batches:
            unseen = (
                unseen_before(known.versions, b.made_at_min) if not b.version_written_at else None
            )
            click.echo(f"{day}: {describe(b, zone, unseen)}")
        return
    if not rows:
        fail(EXIT_USAGE, [f"no active prediction {prediction_id} on {day}"])
    first = rows[0]
    click.echo(
        f"prediction {prediction_id} ({day}) made "
        f"{for_people(first['made_at'], zone, 'seconds')}, logged quality "
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
            f"  {mark:<5} version written {for_people(r['written_at'], zone, 'seconds')}"
            f" quality {r['quality']} features {r['named_values']}"
        )
