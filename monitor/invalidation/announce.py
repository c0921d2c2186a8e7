"""Announcing new store versions exactly once, across restarts and overlapping runs.

Called right after the history recorded a run's versions (monitor/pipeline/cycle.py, so
`featmon check`, every daemon cycle and `featmon snapshot`), in the same warehouse session
and under the `invalidation` lease (two overlapping runs: the second waits, then finds the
first's rows; one that waits `state.wait_s` in vain leaves announcing to the holder, and
what it recorded is announced by the next run, within `catch_up`). The lease works like the
notification lease (monitor/pipeline/notify.py: real clock at every try, free at once when
released, a database error raised as itself). For each target: the versions of dates from
today (in `timezone`) recorded within `catch_up` and not logged for it yet are logged as
pending (the intent), then every unsent row is published in write order per game date, each
marked `sending` before and `sent` after. A failed publish keeps the row pending (and holds
back the later versions of that date, to keep their order); a crash between publish and
mark leaves `sending`, which the next run publishes again: at most one duplicate per crash,
the reason subscribers deduplicate on (game_date, fingerprint).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from checks.durations import parse_duration
from monitor.config import Config
from monitor.invalidation.publishers import Publisher, publishers_from
from monitor.persistence.alert_state import StateStore
from monitor.persistence.invalidations import InvalidationLog, new_events
from monitor.pipeline.window import today_in
from monitor.warehouse.base import Warehouse

# Test hook: die right after a confirmed publish, before it is recorded.
CRASH_AFTER_PUBLISH = "FEATMON_FAULT_CRASH_AFTER_PUBLISH"
LEASE = "invalidation"

_log = logging.getLogger("featmon.invalidation")


@dataclass
class Announced:
    recorded: int = 0  # new events logged this run (per target)
    sent: int = 0
    pending: int = 0
    expired: int = 0
    problems: list[str] = field(default_factory=list)  # new errors, each reported once
    # The run that held the invalidation lease for all of `state.wait_s`: it announces.
    left_to: str | None = None


def announce(
    config: Config, wh: Warehouse, now: dt.datetime, env: Mapping[str, str] | None = None
) -> Announced:
    """Log and publish the new versions of today's and later game dates (see above)."""
    from monitor.pipeline.notify import lease

    inv = config.actions.invalidation
    assert inv is not None
    state = StateStore(wh, config.state.dataset)
    state.ensure()
    log = InvalidationLog(wh, config.state.dataset)
    log.ensure()
    today = today_in(config, now)
    since = now - parse_duration(inv.catch_up)
    table = config.feature_store.table
    report = Announced()
    publishers = publishers_from(config, env)
    try:
        with lease(state, config.state.wait_s, name=LEASE) as held:
            if not held:
                report.left_to = state.holder_of(LEASE) or "another run"
                _log.info(
                    "another featmon run (%s) holds the invalidation lease: it announces",
                    report.left_to,
                )
                return report
            versions = log.candidates(today, since)
            for publisher in publishers:
                events = new_events(versions, log.announced(today, publisher.name), since, table)
                log.record(events, publisher.name, now)
                report.recorded += len(events)
                _deliver(log, publisher, today, now, report)
    finally:
        for publisher in publishers:
            publisher.close()
    return report


def _deliver(
    log: InvalidationLog, publisher: Publisher, today: dt.date, now: dt.datetime, report: Announced
) -> None:
    blocked: set[dt.date] = set()  # a date whose earlier version is still pending
    for row in log.unsent(publisher.name):
        if row.game_date < today:
            log.mark(row, "expired", now, "the game date passed before it was sent")
            report.expired += 1
            continue
        if row.game_date in blocked:
            report.pending += 1
            continue
        log.mark(row, "sending", now)
        error = publisher.publish(row.game_date.isoformat(), row.fingerprint, row.payload)
        if error is None and os.environ.get(CRASH_AFTER_PUBLISH):
            os._exit(75)
        if error is None:
            log.mark(row, "sent", now)
            report.sent += 1
            continue
        log.mark(row, "pending", now, error)
        report.pending += 1
        blocked.add(row.game_date)
        if error != row.error:
            report.problems.append(f"{publisher.name}: {error}")
