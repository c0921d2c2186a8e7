"""Overlapping runs and grouped delivery: a group is one message, so it is claimed and sent
by one run. A group another live run is sending is left to it whole (not its other rows sent
as a message of their own), and a run that loses a row of the group to another run between
its read and its claim sends none of it and gives back what it had claimed. Real DuckDB
state stores (two holders, as two runs) and the Slack stand-in."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from alerts.dispatch import LoggedNotification, dispatch
from alerts.lifecycle import Notification, evaluate
from alerts.sinks.slack import SlackSettings, SlackSink
from monitor.config import load_config
from monitor.persistence.alert_state import StateStore
from monitor.persistence.holders import HOST
from monitor.pipeline.cycle import run_cycle
from monitor.pipeline.window import DateWindow
from monitor.warehouse.base import Warehouse
from monitor.warehouse.duckdb import DuckDBWarehouse
from tests.faults.incident import ALERTS, T0, posted_fingerprints, several_alerts, slack_at
from tests.lab import DAY, Lab
from tests.peers.slack import SlackStandIn

STATE = "featmon_state"


def one_group(lab: Lab, tmp_path: Path, slack: SlackStandIn) -> list[Notification]:
    """The incident's alerts (one per game date) grouped by check: one group of ALERTS."""
    config, _ = load_config(str(several_alerts(lab, tmp_path, slack_at(slack.base_url))))
    report = run_cycle(config, DateWindow(DAY, DAY + dt.timedelta(days=ALERTS - 1)))
    scope = report.scope(configured_window=True, scheduled=True)
    notes = evaluate({}, report.results, T0, scope=scope, group_by=["check"]).notifications
    assert len(notes) == ALERTS and len({n.state.group_id for n in notes}) == 1
    return notes


def slack_sink(slack: SlackStandIn) -> SlackSink:
    return SlackSink(SlackSettings(token="xoxb-t", base_url=slack.base_url, max_retries=0))


def log_rows(wh: DuckDBWarehouse) -> list[tuple[str, str | None]]:
    """(status, claimed_by) of each notification, in the order runs read them."""
    sql = f"SELECT status, claimed_by FROM {STATE}.notifications ORDER BY created_at, id"
    return [(status, by) for status, by in wh.con.execute(sql).fetchall()]


class Overtaken(StateStore):
    """A run whose claim of its `at`-th row is beaten by `rival`, which read the row as this
    run did and claims it just before (the interleaving of two real runs, made certain)."""

    def __init__(self, wh: Warehouse, rival: StateStore, at: int) -> None:
        super().__init__(wh, STATE)
        self.rival, self.at, self.tries = rival, at, 0

    def claim(self, row: LoggedNotification, now: dt.datetime) -> bool:
        self.tries += 1
        if self.tries == self.at:
            assert self.rival.claim(row, now)
        return super().claim(row, now)


def test_a_group_another_live_run_is_sending_is_left_to_it_whole(
    lab: Lab, slack: SlackStandIn, tmp_path: Path
) -> None:
    notes = one_group(lab, tmp_path, slack)
    with DuckDBWarehouse(lab.path, read_only=False) as wh:
        # The poster (alive: this process) has claimed the group's first row and is sending.
        poster = StateStore(wh, STATE, holder=f"{HOST}:{os.getpid()}:poster")
        poster.ensure()
        poster.record(notes, ["slack"], T0)
        first = poster.unsent("slack")[0]
        assert poster.claim(first, T0)

        other = dispatch(StateStore(wh, STATE), [slack_sink(slack)], [], T0)
        assert (other.sent, other.pending, other.elsewhere) == (0, ALERTS, 1)
        assert slack.calls == []  # not the other four alerts as a message of their own

        # The poster gives up (Slack failed it): the next run sends the whole group, once.
        poster.mark_pending(first.id, "Slack answered 503 (will retry next run)", T0)
        later = dispatch(StateStore(wh, STATE), [slack_sink(slack)], [], T0)
        assert (later.sent, later.pending, later.elsewhere) == (ALERTS, 0, 0)
    assert slack.methods() == ["chat.postMessage"]
    assert sorted(posted_fingerprints(slack)) == sorted(n.state.fingerprint for n in notes)


def test_a_run_that_loses_a_row_of_the_group_sends_none_and_gives_back_its_claims(
    lab: Lab, slack: SlackStandIn, tmp_path: Path
) -> None:
    notes = one_group(lab, tmp_path, slack)
    with DuckDBWarehouse(lab.path, read_only=False) as wh:
        rival = StateStore(wh, STATE, holder=f"{HOST}:{os.getpid()}:rival")
        rival.ensure()
        rival.record(notes, ["slack"], T0)
        run = Overtaken(wh, rival, at=3)
        report = dispatch(run, [slack_sink(slack)], [], T0)
        assert (report.sent, report.pending) == (0, ALERTS)
        assert report.elsewhere == ALERTS - 2  # the overtaken row and those after it
        assert slack.calls == []
        rows = log_rows(wh)
    # The two it had claimed are pending again; the third is the rival's; none was sent.
    assert [status for status, _ in rows] == ["pending", "pending", "sending"] + ["pending"] * (
        ALERTS - 3
    )
    assert rows[2][1] == rival.holder
