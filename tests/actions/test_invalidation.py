"""The cache-invalidation signal: real `featmon` processes recording store versions, the
official Pub/Sub client against the real emulator (a subscription pulls what a worker
would receive), and the webhook against a local receiver."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from featmon_guard import version_fingerprint
from monitor.config import ConfigError, parse_config
from monitor.demo.schema import STORE_TABLE
from monitor.invalidation.announce import CRASH_AFTER_PUBLISH
from monitor.persistence.invalidations import InvalidationLog
from monitor.warehouse.duckdb import DuckDBWarehouse
from tests.lab import DAY, ROOT, Lab, default_config_data, featmon, utc, write_config
from tests.monitor.test_daemon import daemon, stop, wait_for, write  # noqa: F401
from tests.peers.pubsub import Subscription
from tests.peers.webhook import Receiver

TOKEN = "inv-token-never-printed-7731"
DAY_BEFORE, DAY_AFTER = DAY - dt.timedelta(days=1), DAY + dt.timedelta(days=1)


def config(lab: Lab, tmp_path: Path, invalidation: dict[str, Any], **extra: Any) -> Path:
    extra.setdefault("history", {})
    data = lab.config_data(actions={"invalidation": invalidation}, **extra)
    data["window"] = {"from": DAY_BEFORE.isoformat(), "to": DAY_AFTER.isoformat()}
    return write_config(tmp_path / "featmon.yaml", data)


def snapshot(path: Path, at: dt.datetime, **env: str) -> subprocess.CompletedProcess[str]:
    """`featmon snapshot` at `at` (on DAY's clock, today is DAY in New York)."""
    full = {**os.environ, "FEATMON_NOW": at.isoformat(), "INVALIDATION_TOKEN": TOKEN, **env}
    return featmon("snapshot", "-c", str(path), env=full)


def log_rows(lab: Lab) -> list[dict[str, Any]]:
    with DuckDBWarehouse(lab.path) as wh:
        return InvalidationLog(wh, "featmon_state").all_rows()


def test_a_rewrite_is_announced_once_with_its_fields_and_the_date_as_ordering_key(
    lab: Lab, tmp_path: Path, subscription: Subscription
) -> None:
    lab.add_store("a", written_at=utc("18:05"), quality=65.46)
    lab.add_store("b", written_at=utc("18:05"), quality=65.46)
    lab.flush()
    path = config(lab, tmp_path, {"pubsub_topic": subscription.topic})
    assert snapshot(path, utc("21:00")).returncode == 0
    [first] = subscription.pull()
    assert first.data["written_at"] == "2026-02-03T18:05:00Z"

    lab.rewrite_store(utc("22:30:07"), 87.59)
    proc = snapshot(path, utc("22:35"))
    assert proc.returncode == 0, proc.stderr
    [message] = subscription.pull()
    fingerprint = version_fingerprint(DAY, utc("22:30:07"))
    assert message.data == {
        "game_date": "2026-02-03",
        "written_at": "2026-02-03T22:30:07Z",
        "rows": 2,
        "quality_avg": 87.59,
        "fingerprint": fingerprint,
        "source": "featmon",
        "table": STORE_TABLE,
    }
    assert message.ordering_key == "2026-02-03"
    assert message.attributes == {"game_date": "2026-02-03", "fingerprint": fingerprint}

    # A rerun records nothing new, and announces nothing again.
    assert snapshot(path, utc("22:40")).returncode == 0
    assert subscription.pull() == []
    assert [(r["status"], r["attempts"]) for r in log_rows(lab)] == [("sent", 1), ("sent", 1)]


def test_a_crash_between_publish_and_record_makes_one_duplicate_then_nothing(
    lab: Lab, tmp_path: Path, subscription: Subscription
) -> None:
    lab.add_store("a", written_at=utc("22:30:07"), quality=87.59)
    lab.flush()
    path = config(lab, tmp_path, {"pubsub_topic": subscription.topic})
    crashed = snapshot(path, utc("22:35"), **{CRASH_AFTER_PUBLISH: "1"})
    assert crashed.returncode == 75
    [published] = subscription.pull()
    assert [r["status"] for r in log_rows(lab)] == ["sending"]

    assert snapshot(path, utc("22:40")).returncode == 0
    [duplicate] = subscription.pull()  # Pub/Sub cannot be asked: published again, once
    assert duplicate.data == published.data
    assert snapshot(path, utc("22:45")).returncode == 0
    assert subscription.pull() == []
    assert [(r["status"], r["attempts"]) for r in log_rows(lab)] == [("sent", 2)]


def test_past_dates_are_not_announced_and_each_date_comes_in_write_order(
    lab: Lab, tmp_path: Path, subscription: Subscription
) -> None:
    lab.add_store("a", written_at=utc("10:00", DAY_BEFORE), day=DAY_BEFORE)
    lab.add_store("a", written_at=utc("19:00"), quality=80.0)
    lab.add_store("b", written_at=utc("18:05"), quality=65.46)
    lab.add_store("a", written_at=utc("20:00"), quality=90.0, day=DAY_AFTER)
    lab.flush()
    path = config(lab, tmp_path, {"pubsub_topic": subscription.topic})
    assert snapshot(path, utc("21:00")).returncode == 0
    received = subscription.pull()
    assert sorted(m.data["game_date"] for m in received) == ["2026-02-03"] * 2 + ["2026-02-04"]
    today = [m.data["written_at"] for m in received if m.ordering_key == "2026-02-03"]
    assert today == ["2026-02-03T18:05:00Z", "2026-02-03T19:00:00Z"]

    # A rewrite of a played date is recorded in the history, never announced.
    lab.rewrite_store(utc("21:30"), 88.0, day=DAY_BEFORE)
    assert snapshot(path, utc("21:35")).returncode == 0
    assert subscription.pull() == []


def test_two_overlapping_runs_announce_a_version_once(
    lab: Lab, tmp_path: Path, subscription: Subscription
) -> None:
    lab.add_store("a", written_at=utc("22:30:07"), quality=87.59)
    lab.flush()
    path = config(lab, tmp_path, {"pubsub_topic": subscription.topic})
    env = {
        **os.environ,
        "FEATMON_NOW": utc("22:35").isoformat(),
        "PYTHONPATH": str(ROOT),
    }
    command = [sys.executable, "-m", "monitor", "snapshot", "-c", str(path)]
    procs = [
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    assert len(subscription.pull()) == 1


def test_the_webhook_gets_one_post_per_version_with_its_secret_header(
    lab: Lab, tmp_path: Path, receiver: Receiver
) -> None:
    lab.add_store("a", written_at=utc("18:05"), quality=65.46)
    lab.add_store("z", written_at=utc("10:00", DAY_BEFORE), day=DAY_BEFORE)
    lab.flush()
    hook = {"url": receiver.url, "headers": {"Authorization": "Bearer ${INVALIDATION_TOKEN}"}}
    path = config(lab, tmp_path, {"webhook": hook})
    first = snapshot(path, utc("21:00"))
    assert first.returncode == 0, first.stderr
    lab.rewrite_store(utc("22:30:07"), 87.59)
    second = snapshot(path, utc("22:35"))
    assert snapshot(path, utc("22:40")).returncode == 0
    assert [(p["game_date"], p["written_at"], p["quality_avg"]) for p in receiver.posts] == [
        ("2026-02-03", "2026-02-03T18:05:00Z", 65.46),
        ("2026-02-03", "2026-02-03T22:30:07Z", 87.59),
    ]
    assert {h["Authorization"] for h in receiver.headers} == {f"Bearer {TOKEN}"}
    for proc in (first, second):
        assert TOKEN not in proc.stdout + proc.stderr


def test_a_webhook_that_is_down_keeps_the_event_pending_and_says_so_once(
    lab: Lab, tmp_path: Path, receiver: Receiver
) -> None:
    lab.add_store("a", written_at=utc("22:30:07"), quality=87.59)
    lab.flush()
    path = config(lab, tmp_path, {"webhook": {"url": receiver.url}})
    receiver.status = 503
    down = snapshot(path, utc("22:35"))
    assert down.returncode == 3
    assert "store version not announced (kept pending): webhook: webhook answered HTTP 503" in (
        down.stderr
    )
    assert [r["status"] for r in log_rows(lab)] == ["pending"]
    receiver.status = 200
    assert snapshot(path, utc("22:40")).returncode == 0
    assert [p["written_at"] for p in receiver.posts] == ["2026-02-03T22:30:07Z"]


def test_an_unset_webhook_secret_keeps_events_pending_naming_the_variable(
    lab: Lab, tmp_path: Path, receiver: Receiver
) -> None:
    lab.add_store("a", written_at=utc("22:30:07"), quality=87.59)
    lab.flush()
    hook = {"url": receiver.url, "headers": {"X-Token": "${UNSET_INVALIDATION_TOKEN}"}}
    proc = snapshot(config(lab, tmp_path, {"webhook": hook}), utc("22:35"))
    assert proc.returncode == 3
    assert "actions.invalidation.webhook.headers.X-Token: environment variable " in proc.stderr
    assert receiver.posts == []


def test_each_daemon_cycle_announces_the_writes_it_records(
    lab: Lab,
    tmp_path: Path,
    receiver: Receiver,
    daemon: Callable[..., subprocess.Popen[str]],  # noqa: F811
) -> None:
    """`featmon run` on a one-second schedule: a rewrite made while it runs is announced by
    the next cycle (the real clock: the date is the day after tomorrow)."""
    day = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=2)
    lab.add_store("a", written_at=dt.datetime.now(dt.UTC), quality=65.46, day=day)
    lab.flush()
    data = lab.config_data(history={}, actions={"invalidation": {"webhook": {"url": receiver.url}}})
    data["window"] = {"from": day.isoformat(), "to": day.isoformat()}
    data["schedule"] = {"every": "1s"}
    data["checks"] = {"low_quality": {}}
    proc = daemon(write_config(tmp_path / "daemon.yaml", data))
    assert wait_for(lambda: len(receiver.posts) == 1)
    write(
        lab,
        f"UPDATE {STORE_TABLE} SET updated_at = TIMESTAMPTZ '2030-01-01 00:00:00+00', "
        f"feature_quality_score = 87.59 WHERE game_date = DATE '{day}'",
    )
    assert wait_for(lambda: len(receiver.posts) == 2)
    stop(proc, tmp_path)
    assert [p["quality_avg"] for p in receiver.posts] == [65.46, 87.59]


@pytest.mark.parametrize(
    ("invalidation", "expected"),
    [
        ({"pubsub_topic": "store-writes"}, "actions.invalidation.pubsub_topic"),
        ({}, "give `pubsub_topic`, `webhook`, or both"),
        ({"webhook": {"url": "ftp://x"}}, "actions.invalidation.webhook"),
        ({"pubsub_topic": "projects/p-roj/topics/x", "catch_up": "soon"}, "catch_up"),
    ],
)
def test_bad_invalidation_settings_name_their_field(
    invalidation: dict[str, Any], expected: str
) -> None:
    data = {**default_config_data(), "history": {}, "actions": {"invalidation": invalidation}}
    with pytest.raises(ConfigError) as e:
        parse_config(data, env={})
    assert any(expected in p for p in e.value.problems), e.value.problems


def test_the_signal_needs_the_history() -> None:
    data = {**default_config_data(), "actions": {"invalidation": {"webhook": {"url": "http://h"}}}}
    data.pop("history", None)
    with pytest.raises(ConfigError) as e:
        parse_config(data, env={})
    assert e.value.problems == [
        "actions.invalidation: needs `history` (the store versions it announces)"
    ]


def test_a_write_also_in_the_run_log_is_one_event_and_a_logged_write_alone_is_announced(
    lab: Lab, tmp_path: Path, subscription: Subscription
) -> None:
    """The pipeline's run log (history.log_table) records the same write a minute later:
    one version, one event (from the store's reading). A logged write featmon never saw in
    the store is still a write: announced without values."""
    lab.add_store("a", written_at=utc("22:30:07"), quality=87.59)
    lab.add_run(utc("22:31"))
    lab.add_run(utc("20:00"), day=DAY_AFTER)
    lab.flush()
    history = {"log_table": {"table": "nba_reference.processor_run_history"}}
    path = config(lab, tmp_path, {"pubsub_topic": subscription.topic}, history=history)
    assert snapshot(path, utc("22:35")).returncode == 0
    received = sorted(subscription.pull(), key=lambda m: m.data["game_date"])
    assert [(m.data["game_date"], m.data["source"], m.data["rows"]) for m in received] == [
        ("2026-02-03", "featmon", 1),
        ("2026-02-04", "log_table", None),
    ]
