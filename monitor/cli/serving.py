"""`featmon serve`: the read-only HTTP service (store-version endpoint, status page). Parses
and prints; the server is monitor/serve."""

from __future__ import annotations

import click

from monitor.cli.common import EXIT_USAGE, config_option, fail, load, require_warehouse


@click.command()
@config_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8080,
    show_default=True,
    envvar="PORT",
    help="Port to listen on ($PORT on Cloud Run; 0: any free port).",
)
@click.option(
    "--timeout",
    "timeout_s",
    type=click.FloatRange(0.1, 120),
    default=5.0,
    show_default=True,
    help="Seconds a request may spend on the warehouse before answering 503.",
)
@click.option(
    "--cache",
    "cache_s",
    type=click.FloatRange(0, 300),
    default=5.0,
    show_default=True,
    help="Seconds a store version is shared between callers (and its max-age).",
)
def serve(config_path: str | None, host: str, port: int, timeout_s: float, cache_s: float) -> None:
    """Serve the store-version endpoint and the status page over HTTP (read-only).

    \b
    GET /store-version?game_date=YYYY-MM-DD   the worker guard's endpoint
    GET /                                     the status page
    GET /healthz                              liveness
    Put it behind Cloud Run IAM or IAP: it has no authentication of its own.
    """
    from monitor.serve.server import Server

    config = load(config_path)
    require_warehouse(config)
    try:
        server = Server(config, host, port, timeout_s=timeout_s, cache_s=cache_s)
    except OSError as e:
        fail(EXIT_USAGE, [f"--port: cannot listen on {host}:{port}: {e.strerror or e}"])
    click.echo(f"featmon serve: listening on {server.url}", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
