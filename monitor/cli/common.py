"""What every command shares: the config and window options, loading the config, and
failing with the exit-code contract. Only click and the standard library are imported at
module level, so `featmon --help` starts at once; each command imports what it uses."""

from __future__ import annotations

import datetime as dt
import functools
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

import click

if TYPE_CHECKING:
    from monitor.config import Config, HistoryConfig
    from monitor.pipeline.window import DateWindow

# The exit-code contract (monitor/pipeline/run.py says when a run ends with which).
EXIT_OK, EXIT_ALERT, EXIT_USAGE, EXIT_CHECK_ERROR = 0, 1, 2, 3

DATE = click.DateTime(formats=["%Y-%m-%d"])


def fail(code: int, lines: list[str]) -> NoReturn:
    for line in lines:
        click.echo(f"featmon: {line}", err=True)
    sys.exit(code)


def load_with_path(path: str | None) -> tuple[Config, str]:
    from monitor.config import ConfigError, load_config

    try:
        config, found = load_config(path)
    except ConfigError as e:
        fail(EXIT_USAGE, [f"config error: {p}" for p in e.problems])
    return config, str(found)


def load(path: str | None) -> Config:
    return load_with_path(path)[0]


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


def window_of(config: Config, dates: tuple[dt.date | None, ...]) -> DateWindow:
    from monitor.pipeline.window import resolve_window

    date, start, end = dates
    if date and (start or end):
        raise click.UsageError("use --date or --from/--to, not both")
    try:
        return resolve_window(config, date=date, start=start, end=end)
    except ValueError as e:
        raise click.UsageError(str(e)) from None


def unknown_checks(names: tuple[str, ...] | list[str]) -> None:
    """Refuse check names featmon does not know (usage error, exit 2)."""
    from checks.registry import CHECKS

    unknown = sorted(set(names) - set(CHECKS))
    if unknown:
        raise click.UsageError(f"unknown check(s) {', '.join(unknown)}; known: {', '.join(CHECKS)}")


def require_warehouse(config: Config) -> None:
    from monitor.warehouse import missing_warehouse

    problem = missing_warehouse(config)
    if problem:
        fail(EXIT_CHECK_ERROR, [problem])


def require_history(config: Config) -> HistoryConfig:
    if config.history is None:
        fail(EXIT_USAGE, ["this needs `history:` in the config (the store's recorded versions)"])
    require_warehouse(config)
    return config.history
