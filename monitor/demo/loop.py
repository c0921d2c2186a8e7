"""`featmon demo --loop`: the whole loop of docs/actions.md on the demo's incident, on the
demo's clock (the evening before today, local time), in a few printed lines:

1. store write -> signal: featmon records the store's versions at 21:00 and 22:35 and
   announces those of today's game date to a webhook receiver the demo runs on 127.0.0.1
   (the events as a worker receives them);
2. stale batch -> alert: at 23:15 featmon checks the batch a worker served at 23:12:42 from
   its cached version, and alerts (the grouped message's header, as the console preview
   shows it);
3. alert -> regeneration: `remediation.mode: auto` asks the demo's coordinator
   (monitor/demo/coordinator.py, on 127.0.0.1), which accepts and, as the demo's clock
   reaches its batch, supersedes the date's predictions with regenerated ones;
4. the next run: the incident resolves, with its recovery figures.

Every step is featmon's own code (the history, the announcer, the checks, the lifecycle,
the remediation protocol, the recovery query); the demo only provides the peers and the
clock. The coordinator's API key is a fixed demo value, set in this process's environment
only; no configured sink, topic, webhook or coordinator is used (sinks only with --notify).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from alerts.model import Alert, alerts_from
from checks.times import for_people
from monitor.config import Config
from monitor.config.models import (
    ActionsConfig,
    HistoryConfig,
    InvalidationConfig,
    RemediationConfig,
)
from monitor.demo.coordinator import DemoCoordinator
from monitor.demo.incident import DemoData, _load, _replay, build_demo_data
from monitor.demo.schema import create_tables
from monitor.pipeline.run import RunOutcome, run_once
from monitor.pipeline.window import DateWindow
from monitor.warehouse.duckdb import DuckDBWarehouse

KEY_ENV = "FEATMON_DEMO_COORDINATOR_KEY"
KEY = "demo-only-coordinator-key"  # a fixed demo value: the demo's coordinator checks it
# The demo's clock, local time on the evening before today: the runs of the replay, then
# the coordinator's batch and the next run.
RECORD_RUNS = ("21:00", "22:35")
ALERT_RUN, BATCH, NEXT_RUN = "23:15", "23:19", "23:25"


@dataclass
class Received:
    at: dt.datetime  # on the demo's clock
    event: dict[str, Any]


@dataclass
class EventReceiver:
    """A worker's end of the webhook: records each POSTed event with the demo's time."""

    now: dt.datetime
    events: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.events.append(Received(receiver.now, json.loads(body)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/store-writes"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def loop_config(config: Config, receiver_url: str, coordinator_url: str) -> Config:
    """The demo's config with the loop's peers: the history (the signal needs it), the
    invalidation webhook to the demo's receiver, and regeneration in `auto` against the
    demo's coordinator, in place of whatever actions and remediation are configured."""
    actions = ActionsConfig(
        invalidation=InvalidationConfig.model_validate({"webhook": {"url": receiver_url}})
    )
    remediation = RemediationConfig.model_validate(
        {
            "coordinator_url": coordinator_url,
            "api_key": f"${{{KEY_ENV}}}",
            "mode": "auto",
            "timeout": "5s",
            "deadline": "10s",
        }
    )
    history = config.history or HistoryConfig()
    return config.model_copy(
        update={"history": history, "actions": actions, "remediation": remediation}
    )


def run_loop(
    config: Config, path: Path, today: dt.date, echo: Callable[[str], None]
) -> tuple[DemoData, RunOutcome]:
    """Build the demo warehouse while telling the loop; returns the data and the last run."""
    zone = config.zone()
    evening = today - dt.timedelta(days=1)

    def at(clock: str) -> dt.datetime:
        local = dt.datetime.combine(evening, dt.time.fromisoformat(clock), tzinfo=zone)
        return local.astimezone(dt.UTC)

    def when(moment: dt.datetime) -> str:
        return for_people(moment, zone)

    os.environ[KEY_ENV] = KEY  # this process only: the demo's coordinator checks it
    receiver = EventReceiver(at(RECORD_RUNS[0]))
    coordinator = DemoCoordinator(path, KEY)
    try:
        cfg = loop_config(config, receiver.url, coordinator.url)
        data = build_demo_data(today, zone)
        _fresh(path)
        echo(
            f"The whole loop on game date {today} (the demo's clock: the evening before, "
            f"{config.timezone}):"
        )
        for clock in RECORD_RUNS:
            receiver.now = at(clock)
            _load(path, data, receiver.now)
            _replay(cfg, receiver.now, check=False)
        echo("1. store write -> signal (actions.invalidation: the events a worker receives)")
        for got in receiver.events:
            if got.event.get("game_date") == today.isoformat():
                written = dt.datetime.fromisoformat(got.event["written_at"])
                echo(
                    f"   {when(got.at)}  featmon records the store's write of {today} at "
                    f"{for_people(written, zone, 'clock')} and announces it:"
                )
                echo(f"     {json.dumps(got.event)}")

        alert_at = at(ALERT_RUN)
        _load(path, data, alert_at)
        first = _run(cfg, today, alert_at)
        alerts = [
            a for a in alerts_from(first.report.results) if a.labels.get("game_date") == str(today)
        ]
        echo("2. stale batch -> alert (a worker served its cached version at 23:12:42)")
        for line in _preview(cfg, alerts):
            echo(f"   {when(alert_at)}  {line}")

        echo("3. alert -> regeneration (remediation.mode auto, the demo's coordinator)")
        accepted = [a for a in coordinator.pending if a.game_date == today]
        for a in accepted:
            echo(
                f"   {when(alert_at)}  POST {coordinator.url}/regenerate-with-supersede "
                f"{json.dumps(a.body, sort_keys=True)}"
            )
            echo(f"   -> 202 {json.dumps({'status': 'accepted', 'batch_id': a.batch_id})}")
        for batch in coordinator.run_batches(at(BATCH)):
            if batch.game_date == today:
                echo(
                    f"   {when(batch.at)}  batch {batch.batch_id}: {batch.superseded} "
                    f"predictions superseded, {batch.written} regenerated from the store's "
                    "current rows"
                )

        next_at = at(NEXT_RUN)
        last = _run(cfg, today, next_at)
        echo("4. the next run -> recovery")
        recovery = last.recoveries.get(str(today))
        resolved = sorted(
            s.labels.get("check", "")
            for s in last.resolved
            if s.labels.get("game_date") == str(today)
        )
        echo(f"   {when(next_at)}  resolved: {', '.join(resolved) or 'nothing'}")
        echo(f"   {recovery.text() if recovery else 'Recovery: the date has not recovered.'}")
        return data, last
    finally:
        coordinator.stop()
        receiver.stop()


def _fresh(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", ".wal"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    wh = DuckDBWarehouse(path, read_only=False)
    try:
        create_tables(wh)
    finally:
        wh.close()


def _run(config: Config, day: dt.date, now: dt.datetime) -> RunOutcome:
    """`featmon check --date day` at `now` on the demo's clock: the loop watches its one
    game date (the replay's other dates, played by then, would ask for regenerations of
    their own). Its problems are the demo's failure."""
    outcome = run_once(config, DateWindow(day, day), now=now)
    problems = outcome.problems()
    if problems:  # a demo that hid a failure would tell the wrong story
        raise RuntimeError(f"demo loop at {for_people(now, config.zone())}: {'; '.join(problems)}")
    return outcome


def _preview(config: Config, alerts: list[Alert]) -> list[str]:
    """The header of the date's grouped message, as the console preview prints it, and the
    line that names the version the batch was built from."""
    from alerts.sinks.slack_message import as_text, group_message, preview_group

    members = preview_group(alerts, config.alerts.group_by)
    if not members:
        return ["no alert fired"]
    lines = as_text(group_message(members, None, None, None, zone=config.zone())).splitlines()
    version = [ln.replace("*", "") for ln in lines if ln.startswith("*Version used:*")]
    return [lines[0], *version[:1]]
