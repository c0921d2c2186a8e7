"""One run of featmon, the entry point `featmon check`, `featmon demo` and every daemon cycle
call: the checks (one warehouse query per cycle), then the lifecycle and delivery, then
telemetry. It returns what happened; printing it is the command line's job.

Exit codes (a contract for Cloud Run and cron): 0 the run completed (alerts may have fired);
1 an alert fired and the caller asked to fail on alerts; 2 usage or config error (the CLI's);
3 a check could not run, or the alert state was unavailable.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from alerts.dispatch import DispatchReport
from alerts.lifecycle import AlertState, Notification
from monitor.clock import now_utc
from monitor.config import Config
from monitor.pipeline.cycle import RunReport, run_cycle
from monitor.pipeline.notify import notify, preview
from monitor.pipeline.outage import announce_outage, announce_recovery
from monitor.pipeline.window import DateWindow
from monitor.progress import Step
from monitor.remediation.recovery import Recovery
from monitor.telemetry.publish import log_run, publish_metrics
from monitor.warehouse import WarehouseError

EXIT_OK, EXIT_ALERT, EXIT_USAGE, EXIT_CHECK_ERROR = 0, 1, 2, 3


@dataclass
class RunOutcome:
    report: RunReport
    # What was delivered (None: nothing to notify, a dry run, or the state was unavailable).
    delivery: DispatchReport | None = None
    resolved: list[AlertState] = field(default_factory=list)
    # `dry_run`: what would have been notified.
    would_notify: list[Notification] = field(default_factory=list)
    state_error: str | None = None
    metric_problems: list[str] = field(default_factory=list)
    # Another run held the notification lease throughout: it notifies, this run did not.
    left_to: str | None = None
    # The "featmon cannot run" notice (state unavailable) or its resolution, undelivered.
    health_problems: list[str] = field(default_factory=list)
    # `remediation.mode: auto`: what went wrong asking for regenerations (never the key).
    remediation_problems: list[str] = field(default_factory=list)
    # By game date: the recovery of each date whose last alerts this run resolved.
    recoveries: dict[str, Recovery] = field(default_factory=dict)

    def problems(self) -> list[str]:
        """Everything that went wrong without stopping the run, in the order it happened,
        worded for on-call."""
        out = []
        if self.state_error is not None:
            out.append(f"alert state unavailable, nothing notified this run: {self.state_error}")
        out += self.health_problems
        out += self.report.problems
        if self.left_to is not None:
            out.append(
                f"another featmon run ({self.left_to}) holds the notification lease: "
                "this run leaves notifying to it"
            )
        if self.delivery is not None:
            out += [
                f"notification not delivered (kept pending): {p}" for p in self.delivery.problems
            ]
            if self.delivery.elsewhere:
                out.append(
                    f"{self.delivery.elsewhere} notification(s) being sent by another featmon "
                    "run right now: left to it"
                )
        out += self.remediation_problems
        out += [f"metrics not written: {p}" for p in self.metric_problems]
        return out

    def exit_code(self, fail_on_alert: bool = False) -> int:
        if self.report.status == "error" or self.state_error is not None:
            return EXIT_CHECK_ERROR
        if fail_on_alert and self.report.status == "alert":
            return EXIT_ALERT
        return EXIT_OK


def run_once(
    config: Config,
    window: DateWindow,
    only: Sequence[str] | None = None,
    *,
    configured_window: bool = False,
    scheduled: bool = False,
    dry_run: bool = False,
    log_format: str | None = None,
    now: dt.datetime | None = None,
    step: Step | None = None,
) -> RunOutcome:
    """Check `window` (all enabled checks, or `only`), then notify and publish (each stage
    told to `step`, which the CLI shows on a terminal).

    The run changes only the alerts it looked at (alerts/lifecycle.py, `RunScope`): say
    `configured_window` when `window` is the config's (no `--date`, `--from/--to`), and
    `scheduled` when the run stands for the schedule (a daemon cycle; `featmon check` with
    neither window flags nor `--only`). The defaults are a narrow run's: it may fire new
    alerts, and resolves only what it evaluated and found passing.

    `dry_run` records nothing and sends nothing: the notifications the run would make are
    returned instead, by the same rules.
    """
    step = step or (lambda _: None)
    step(f"checking {len(window.dates())} game date(s), {window.start} .. {window.end}")
    report = run_cycle(config, window, list(only) if only else None, now=now, record=not dry_run)
    scope = report.scope(configured_window=configured_window, scheduled=scheduled)
    now = now or now_utc()
    outcome = RunOutcome(report)
    recoveries: dict[dt.date, dict[str, float]] = {}
    if dry_run:
        outcome.would_notify = preview(config, report, now, scope)
        return outcome
    step("deciding and sending notifications")
    try:
        notified = notify(config, report, now, scope)
    except WarehouseError as e:  # e.g. another process holds the DuckDB write lock
        outcome.state_error = str(e)
        notified = None
    if outcome.state_error is not None:  # said anyway, remembered outside the warehouse
        outcome.health_problems = announce_outage(config, outcome.state_error, now)
    if notified is not None:
        outcome.delivery, outcome.resolved = notified.delivery, notified.resolved
        outcome.left_to = notified.left_to
        outcome.health_problems = announce_recovery(config, now)
        outcome.remediation_problems = _remediate(config, now)
        outcome.recoveries = dict(notified.recoveries)
        recoveries = {r.game_date: r.metrics() for r in notified.recoveries.values()}
    log_run(config, report, outcome.resolved, now, log_format)
    step("publishing metrics")
    outcome.metric_problems = publish_metrics(config, report, now, recoveries)
    return outcome


def _remediate(config: Config, now: dt.datetime) -> list[str]:
    """`remediation.mode: auto`: the regeneration requests this run's alerts call for
    (monitor/remediation/act.py), after their messages went out (the outcome is a reply in
    their thread); problems, never raised."""
    if config.remediation.mode != "auto":
        return []
    from monitor.remediation.act import auto

    try:
        return auto(config, now).problems
    except WarehouseError as e:
        return [f"regeneration not requested: {e}"]
    except Exception as e:  # never let acting break the run's log and metrics
        return [f"regeneration step failed: {type(e).__name__}: {e}"]
