"""The `featmon` command line: parses arguments and prints, nothing else; the work is done
by monitor.pipeline (runs), monitor.persistence (state, history) and monitor.reports.

Exit codes (a contract for Cloud Run and cron): 0 the run completed (alerts may have
fired); 1 an alert fired and --fail-on-alert was given; 2 usage or config error;
3 a check could not run.

Only click is imported to build the command tree: `featmon --help` starts at once, and each
command imports what it needs when it runs.
"""

from __future__ import annotations

import click

from monitor.cli.acting import remediate
from monitor.cli.alerting import alerts_command, silence
from monitor.cli.common import EXIT_USAGE, config_option, fail, load_with_path
from monitor.cli.investigate import explain, impact, snapshot, sql, timeline
from monitor.cli.running import check, demo, run_command
from monitor.cli.serving import serve


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="featmon")
def main() -> None:
    """featmon: catch predictions served from stale or mismatched features.

    \b
    Exit codes (a contract for Cloud Run and cron):
      0  the run completed (alerts may have fired)
      1  an alert fired and --fail-on-alert was given
      2  usage or config error (each problem names its field)
      3  a check could not run, or the alert state was unavailable
    """


@click.command()
@config_option
@click.option(
    "--strict", is_flag=True, help="Exit 2 on warnings (unset secret variables, no notifier)."
)
def validate(config_path: str | None, strict: bool) -> None:
    """Check a config file without touching the warehouse.

    Secrets are not needed to investigate, so an unset secret variable is a warning here
    (the sink would keep its notifications pending), an error with --strict (a deploy check).
    """
    from monitor.pipeline.sinks import secret_warnings

    config, path = load_with_path(config_path)
    warnings = secret_warnings(config)
    if strict and warnings:
        fail(EXIT_USAGE, [f"config error: {w}" for w in warnings])
    for warning in warnings:
        click.echo(f"featmon: warning: {warning}", err=True)
    enabled = ", ".join(config.enabled_checks()) or "none"
    click.echo(f"{path}: ok (backend {config.warehouse.backend}; checks: {enabled})")


@click.command()
def schema() -> None:
    """Print the config file's JSON Schema (for editors: yaml-language-server).

    The shipped configs name docs/config.schema.json, this command's output, on line 1.
    """
    from monitor.config.schema import schema_text

    click.echo(schema_text(), nl=False)


for command in (
    check,
    impact,
    sql,
    demo,
    validate,
    alerts_command,
    silence,
    run_command,
    snapshot,
    timeline,
    explain,
    schema,
    remediate,
    serve,
):
    main.add_command(command)
