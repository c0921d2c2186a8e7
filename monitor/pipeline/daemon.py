"""`featmon run`: the same run as `featmon check` (monitor/pipeline/run.py) on a schedule,
as a long-running daemon.

APScheduler 3 (BlockingScheduler). Checks that share a schedule run in one cycle, so a
cycle still reads each table once. A cycle never overlaps itself (`max_instances=1`) and
missed runs collapse into one (`coalesce`). The embedded DuckDB file is opened for a cycle
and released after it, so the pipeline can write between cycles; a write lock held by
someone else delays the cycle (with a log line) instead of failing it. SIGTERM/SIGINT stop
new cycles, let the running one finish within the grace, deliver what is pending, exit 0.
Each cycle logs a heartbeat (and writes `run_heartbeat` when Cloud Monitoring is set), and
`--health-port` serves /healthz for a Cloud Run service or GKE liveness probe.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from apscheduler.schedulers.blocking import BlockingScheduler

from monitor.config import Config
from monitor.config.schedule import Schedule, parse_schedule
from monitor.pipeline.run import RunOutcome, run_once
from monitor.pipeline.window import resolve_window
from monitor.warehouse import wait_for_warehouse

log = logging.getLogger("featmon.daemon")


@dataclass
class Health:
    """What /healthz reports: healthy while the last cycle finished within 2 intervals."""

    interval_s: float
    started: float = field(default_factory=time.monotonic)
    last_finished: float | None = None

    def healthy(self) -> bool:
        since = self.last_finished if self.last_finished is not None else self.started
        return time.monotonic() - since <= 2 * self.interval_s + 1


def serve_health(health: Health, port: int, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            ok = self.path.rstrip("/") == "/healthz" and health.healthy()
            body = b"ok\n" if ok else b"unhealthy: no cycle finished within 2 intervals\n"
            self.send_response(200 if ok else 503)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def groups(config: Config) -> dict[Schedule, list[str]]:
    """Enabled checks by schedule: each group is one cycle (one read of the tables)."""
    default = parse_schedule(config.schedule)
    out: dict[Schedule, list[str]] = {}
    for name, settings in config.enabled_checks().items():
        schedule = parse_schedule(settings.schedule) if settings.schedule else default
        out.setdefault(schedule, []).append(name)
    return out


def scheduled_run(config: Config, checks: list[str], log_format: str | None) -> RunOutcome:
    """One scheduled cycle: the same run as `featmon check`, over the configured window,
    after waiting out another process's write lock on an embedded warehouse. A scheduled
    run although it runs only its group's checks: it repeats and updates their alerts, and
    resolves those whose date left the window (each group speaks for its own checks)."""
    wait_for_warehouse(config)
    return run_once(
        config,
        resolve_window(config),
        checks,
        configured_window=True,
        scheduled=True,
        log_format=log_format,
    )


def run_daemon(
    config: Config,
    cycle: Callable[[list[str]], int],
    *,
    health_port: int | None = None,
    health_host: str = "127.0.0.1",
    grace_s: float = 30.0,
    jitter_s: float | None = None,
    misfire_grace_s: float = 30.0,
    on_stop: Callable[[], None] | None = None,
) -> int:
    """Schedule `cycle(checks)` per group until SIGTERM/SIGINT; returns the exit code."""
    scheduler = BlockingScheduler(timezone=config.zone())
    plan = groups(config)
    health = Health(interval_s=min(s.interval_s for s in plan))
    running = threading.Event()

    def job(checks: list[str]) -> None:
        running.set()
        try:
            started = time.monotonic()
            code = cycle(checks)
            health.last_finished = time.monotonic()
            log.info(
                "heartbeat: cycle %s finished with exit code %s in %.2fs",
                ",".join(checks),
                code,
                health.last_finished - started,
            )
        except Exception:  # a broken cycle must not stop the daemon
            log.exception("cycle %s failed; the daemon keeps running", ",".join(checks))
        finally:
            running.clear()

    for schedule, checks in plan.items():
        scheduler.add_job(
            job,
            schedule.trigger(config.zone(), jitter_s),
            args=[checks],
            max_instances=1,
            coalesce=True,
            misfire_grace_time=int(misfire_grace_s),
            next_run_time=dt.datetime.now(config.zone()),
            name="+".join(checks),
        )
    server = serve_health(health, health_port, health_host) if health_port is not None else None

    def stop(signum: int, _frame: Any) -> None:
        log.info(
            "signal %s: no new cycles; waiting up to %.0fs for the running one", signum, grace_s
        )
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    window = resolve_window(config)
    log.info(
        "featmon run: %d schedule group(s), window %s .. %s", len(plan), window.start, window.end
    )
    scheduler.start()
    deadline = time.monotonic() + grace_s
    while running.is_set() and time.monotonic() < deadline:
        time.sleep(0.05)
    if server is not None:
        server.shutdown()
    if running.is_set():
        # Nothing is lost by leaving: a notification sent but not yet recorded is found
        # again by the next run, and unsent ones stay pending in the log.
        log.warning("the running cycle did not finish within %.0fs; exiting anyway", grace_s)
        sys.stderr.flush()
    elif on_stop is not None:
        on_stop()
    log.info("stopped cleanly")
    return 0
