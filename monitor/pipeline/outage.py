"""When a run cannot reach its alert state, a person still hears about it.

Every alert is deduplicated through the state in the warehouse, so a corrupted or missing
DuckDB file, or BigQuery refusing, would silence featmon entirely. Instead the run sends the
"featmon cannot run" notice (alerts/health.py) straight to the sinks and remembers it in a
small JSON file kept apart from the warehouse (`state.health_file`): once per outage and
per `alerts.repeat_interval`, then resolved by the first run that gets through. A DuckDB file
locked by another process past `state.wait_s` is contention, usually over by the next run:
it is announced only when a second run in a row meets it. Where that
file did not survive (a fresh container), Slack's channel history is asked whether the
notice is already up (its message metadata), so a new disk does not mean a new message.
Overlapping runs take a lock on the file, so five runs in one outage post once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alerts.health import HealthNotice, HealthSink, NoticeKind
from checks.durations import parse_duration
from monitor.config import Config
from monitor.pipeline.sinks import sinks_from
from monitor.warehouse import is_lock_conflict

log = logging.getLogger("featmon.outage")


def health_path(config: Config) -> Path:
    return (config.base_dir / config.state.health_file).resolve()


def announce_outage(config: Config, error: str, now: dt.datetime) -> list[str]:
    """Tell the sinks the state is unavailable, unless told within the repeat interval;
    returns what could not be delivered (for the run's problems)."""
    sinks = _health_sinks(config)
    if not sinks:
        return []
    repeat = parse_duration(config.alerts.repeat_interval)
    problems: list[str] = []
    with _memory(health_path(config), problems) as memory:
        fresh_disk = not memory
        if not memory.get("open"):
            if is_lock_conflict(error) and "strike" not in memory:
                memory["strike"] = now.isoformat()  # the first run in a row: wait for another
                return problems
            since = memory.pop("strike", None) or now.isoformat()
            memory.update(open=True, since=since, error=error, sinks={})
        since = dt.datetime.fromisoformat(memory["since"])
        told: dict[str, dict[str, Any]] = memory["sinks"]
        for sink in sinks:
            entry = told.get(sink.name)
            if entry is None and fresh_disk:
                ref = _already_up(sink, now - repeat)
                if ref is not None:
                    told[sink.name] = {"ref": ref, "at": now.isoformat()}
                    continue
            if entry is not None and now - dt.datetime.fromisoformat(entry["at"]) < repeat:
                continue
            kind: NoticeKind = "firing" if entry is None else "repeat"
            earlier = entry["ref"] if entry else None
            delivery = sink.health(_notice(config, kind, since, error, earlier))
            if delivery.ok:
                told[sink.name] = {"ref": delivery.ref or earlier, "at": now.isoformat()}
                log.info("'featmon cannot run' sent to %s (%s)", sink.name, kind)
            else:
                problems.append(f"'featmon cannot run' not delivered: {delivery.error}")
    return problems


def announce_recovery(config: Config, now: dt.datetime) -> list[str]:
    """The state is back: resolve the notice where it was sent. Cheap when there was no
    outage (one small file read)."""
    path = health_path(config)
    if not path.exists():
        return []
    problems: list[str] = []
    with _memory(path, problems) as memory:
        memory.pop("strike", None)  # contention that ended before it was announced
        if not memory.get("open"):
            return problems
        since = dt.datetime.fromisoformat(memory["since"])
        told: dict[str, dict[str, Any]] = memory["sinks"]
        for sink in _health_sinks(config):
            entry = told.get(sink.name)
            if entry is None:
                continue  # never told: nothing to resolve
            notice = _notice(config, "resolved", since, memory["error"], entry["ref"], now)
            delivery = sink.health(notice)
            if delivery.ok:
                del told[sink.name]
                log.info("'featmon cannot run' resolved in %s", sink.name)
            else:
                problems.append(f"'featmon runs again' not delivered: {delivery.error}")
        if not told:
            memory["open"] = False  # the file stays: this host remembers it was resolved
    return problems


def _health_sinks(config: Config) -> list[HealthSink]:
    return [s for s in sinks_from(config) if isinstance(s, HealthSink)]


def _already_up(sink: HealthSink, since: dt.datetime) -> str | None:
    find = getattr(sink, "find_health", None)
    return find(since) if find is not None else None


def _notice(
    config: Config,
    kind: NoticeKind,
    since: dt.datetime,
    error: str,
    ref: str | None,
    resolved_at: dt.datetime | None = None,
) -> HealthNotice:
    return HealthNotice(
        kind=kind,
        since=since,
        error=error,
        zone=config.zone(),
        repeat_every=config.alerts.repeat_interval,
        runbook_url=config.alerts.runbook_url,
        ref=ref,
        resolved_at=resolved_at,
    )


@contextlib.contextmanager
def _memory(path: Path, problems: list[str]) -> Iterator[dict[str, Any]]:
    """The file's content ({} when absent or unreadable), under an exclusive lock for the
    whole read-send-write, written back atomically. A file that cannot be kept is reported:
    the notice then goes out every run, which is noisy but never silent."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = path.with_name(path.name + ".lock").open("a")
    except OSError as e:
        problems.append(f"health file {path} not usable: {e.strerror or e}")
        yield {}
        return
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            memory = json.loads(path.read_text())
            if not isinstance(memory, dict):
                memory = {}
        except (OSError, ValueError):
            memory = {}
        yield memory
        try:
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(json.dumps(memory, indent=1, sort_keys=True))
            os.replace(tmp, path)
        except OSError as e:
            problems.append(f"health file {path} not written: {e.strerror or e}")
