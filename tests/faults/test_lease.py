"""The notification lease and overlapping runs: expiry from the real clock at every try, a
release frees it at once, a dead holder is taken over, a database error is that error;
five `featmon check` processes started together all end 0 and every alert reaches Slack
once. The invalidation signal's lease is the same lease under another name."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from monitor.persistence.alert_state import StateStore
from monitor.persistence.holders import HOST
from monitor.pipeline.notify import LEASE_TTL, lease
from monitor.warehouse import QueryError
from monitor.warehouse.duckdb import DuckDBWarehouse
from tests.actions.test_invalidation import config as invalidation_config
from tests.actions.test_invalidation import snapshot
from tests.alerts.scenario import ENV, check, setup
from tests.faults.incident import ALERTS, T0, posted_fingerprints, several_alerts, slack_at
from tests.lab import ROOT, Lab, utc, write_config
from tests.peers.slack import SlackStandIn
from tests.peers.webhook import Receiver

FROZEN = dt.datetime(2026, 2, 3, 5, 0, tzinfo=dt.UTC)  # a clock frozen at process start


@pytest.fixture
def store(tmp_path: Path) -> StateStore:
    wh = DuckDBWarehouse(tmp_path / "state.duckdb", read_only=False)
    state = StateStore(wh, "featmon_state")
    state.ensure()
    return state


def test_a_released_lease_is_free_for_a_waiter_whatever_its_clock(store: StateStore) -> None:
    """The old release wrote the releaser's `now` as the expiry: a waiter whose clock was
    frozen earlier could never take it."""
    assert store.acquire("notify", "run-a", FROZEN + dt.timedelta(minutes=1), LEASE_TTL)
    assert not store.acquire("notify", "run-b", FROZEN, LEASE_TTL)
    store.release("notify", "run-a")
    assert store.acquire("notify", "run-b", FROZEN, LEASE_TTL)
    assert store.holder_of("notify") == "run-b"


def test_an_expired_lease_is_taken_and_a_live_one_is_not(store: StateStore) -> None:
    assert store.acquire("notify", "run-a", FROZEN, LEASE_TTL)
    assert not store.acquire("notify", "run-b", FROZEN + LEASE_TTL / 2, LEASE_TTL)
    assert store.acquire("notify", "run-b", FROZEN + LEASE_TTL, LEASE_TTL)


def test_a_lease_whose_holder_died_on_this_host_is_taken_at_once(store: StateStore) -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # reaped: no process has that pid now
    assert store.acquire("notify", f"{HOST}:{child.pid}:x", FROZEN, LEASE_TTL)
    assert store.acquire("notify", "run-b", FROZEN + dt.timedelta(seconds=1), LEASE_TTL)


def test_a_waiter_gives_up_without_error_while_a_live_run_holds_the_lease(
    store: StateStore,
) -> None:
    """The lease's expiry is read from the real clock: held by a live holder for the next
    two minutes, a waiter with no patience is told it is not its turn (no exception)."""
    assert store.acquire("notify", f"{HOST}:1:init", dt.datetime.now(dt.UTC), LEASE_TTL)
    with lease(store, max_wait_s=0) as held:
        assert held is False


def test_a_database_error_while_taking_the_lease_is_that_error(
    lab: Lab, slack: SlackStandIn, tmp_path: Path
) -> None:
    """Not "another featmon run holds the notification lease" with no other run alive."""
    config = setup(lab, slack, tmp_path, repeat_interval="1h")
    data = yaml.safe_load(config.read_text())
    data["state"] = {"wait_s": 2}
    write_config(config, data)
    assert check(config, T0).returncode == 0
    with DuckDBWarehouse(lab.path, read_only=False) as wh:
        wh.execute("DROP TABLE featmon_state.leases")
        wh.execute(
            "CREATE VIEW featmon_state.leases AS SELECT 'notify' AS name, "
            "'x' AS holder, TIMESTAMP '2000-01-01' AS expires_at"
        )
    broken = check(config, T0 + dt.timedelta(minutes=5))
    assert broken.returncode == 3
    assert "alert state unavailable" in broken.stderr
    assert "lease" not in broken.stderr.replace("featmon_state.leases", "")
    with pytest.raises(QueryError), DuckDBWarehouse(lab.path, read_only=False) as wh:
        StateStore(wh, "featmon_state").acquire("notify", "me", T0, LEASE_TTL)


def test_five_overlapping_checks_all_end_0_and_each_alert_reaches_slack_once(
    lab: Lab, slack: SlackStandIn, tmp_path: Path
) -> None:
    """On the real clock (no FEATMON_NOW): each run's `now` is its own start, so a lease
    released at the releaser's `now` was never free for the runs started before it."""
    config = several_alerts(lab, tmp_path, slack_at(slack.base_url))
    data = yaml.safe_load(config.read_text())
    data["state"] = {"wait_s": 5}
    write_config(config, data)
    env = {k: v for k, v in ENV.items() if k != "FEATMON_NOW"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "monitor", "check", "-c", str(config)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(5)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 5, [err for _, err in results]
    for _, err in results:
        assert "gave up" not in err
    sent = sum(
        int(line.split()[1].removeprefix("sent="))
        for out, _ in results
        for line in out.splitlines()
        if line.startswith("notifications:")
    )
    assert sent == ALERTS
    assert len(posted_fingerprints(slack)) == ALERTS == len(set(posted_fingerprints(slack)))
    assert slack.methods() == ["chat.postMessage"] * ALERTS


def test_a_run_that_cannot_get_the_lease_leaves_notifying_to_its_holder_and_ends_0(
    lab: Lab, slack: SlackStandIn, tmp_path: Path
) -> None:
    """The holder (this test process: alive, on this host) keeps the lease for the next hour;
    the run waits `state.wait_s`, then says who notifies instead of failing."""
    config = setup(lab, slack, tmp_path)
    data = yaml.safe_load(config.read_text())
    data["state"] = {"wait_s": 1}
    write_config(config, data)
    assert check(config, T0).returncode == 0  # the state tables exist
    holder = f"{HOST}:{os.getpid()}:holder"
    with DuckDBWarehouse(lab.path, read_only=False) as wh:
        store = StateStore(wh, "featmon_state")
        assert store.acquire("notify", holder, dt.datetime.now(dt.UTC), dt.timedelta(hours=1))
    waiter = check(config, T0 + dt.timedelta(minutes=5))
    assert waiter.returncode == 0, waiter.stderr
    assert f"another featmon run ({holder}) holds the notification lease: this run leaves " in (
        waiter.stderr
    )


def test_a_run_that_cannot_get_the_invalidation_lease_leaves_announcing_to_its_holder(
    lab: Lab, receiver: Receiver, tmp_path: Path
) -> None:
    """The `invalidation` lease, held by a live run for the next hour: a run waits
    `state.wait_s`, announces nothing and reports no failure (its holder announces); once
    released, the next run announces the version, once."""
    lab.add_store("a", written_at=utc("22:30:07"), quality=87.59)
    lab.flush()
    path = invalidation_config(
        lab, tmp_path, {"webhook": {"url": receiver.url}}, state={"wait_s": 1}
    )
    holder = f"{HOST}:{os.getpid()}:holder"
    with DuckDBWarehouse(lab.path, read_only=False) as wh:
        state = StateStore(wh, "featmon_state")
        state.ensure()
        assert state.acquire("invalidation", holder, dt.datetime.now(dt.UTC), LEASE_TTL * 30)
    waiter = snapshot(path, utc("22:35"))
    assert waiter.returncode == 0, waiter.stderr
    assert "not announced" not in waiter.stderr and "lease" not in waiter.stderr
    assert receiver.posts == []

    with DuckDBWarehouse(lab.path, read_only=False) as wh:
        StateStore(wh, "featmon_state").release("invalidation", holder)
    after = snapshot(path, utc("22:40"))
    assert after.returncode == 0, after.stderr
    assert [p["written_at"] for p in receiver.posts] == ["2026-02-03T22:30:07Z"]
