"""Recovery figures of a date whose alerts resolve: how long the incident took to detect, to
act on and to recover from, and how many predictions the fix superseded.

- time to detect: the first bad prediction (the earliest the fix superseded, see below;
  when none was superseded, the earliest made before the alert) -> the alert's start;
- time to act: the alert's start -> the latest regeneration request for the date sent after
  it (featmon's own, automatic or `featmon remediate --execute`); none when the date was
  fixed another way;
- time to recover: the request (or, without one, the alert) -> the resolution;
- superseded: what the fix replaced: per prediction key (`predictions.keys`), the key's
  latest batch made before the request (or, without one, the alert) -- its predictions
  within `history.batch_gap` of the key's last -- where no longer active (`NOT
  predictions.where`, production's `is_active`). A batch the platform had already replaced
  before the incident (an earlier run of the date) is not the fix's, so it counts neither
  here nor as the first bad prediction.

One small query on the predictions table per resolving date (partition-filtered,
parameterized), only when a dated alert resolves. Figures go into the resolution's message,
Cloud Monitoring and the timeline.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from alerts.lifecycle import AlertState, Notification
from checks.durations import parse_duration
from checks.query.sql import Params, Query, ident, table_ref
from checks.times import utc
from monitor.config import Config
from monitor.persistence.remediations import Remediation, RemediationLog
from monitor.warehouse.base import Warehouse


@dataclass(frozen=True)
class Recovery:
    game_date: dt.date
    first_bad_at: dt.datetime | None
    alert_at: dt.datetime
    request_at: dt.datetime | None
    batch_id: str
    resolved_at: dt.datetime
    superseded: int | None

    @property
    def detect(self) -> dt.timedelta | None:
        return None if self.first_bad_at is None else self.alert_at - self.first_bad_at

    @property
    def act(self) -> dt.timedelta | None:
        return None if self.request_at is None else self.request_at - self.alert_at

    @property
    def recover(self) -> dt.timedelta:
        return self.resolved_at - (self.request_at or self.alert_at)

    def text(self) -> str:
        """One sentence for the resolution message."""
        parts = [
            f"detected {duration(self.detect)} after the first bad prediction"
            if self.detect is not None
            else "time to detect unknown (no prediction made before the alert)",
        ]
        if self.act is not None:
            batch = f", batch {self.batch_id}" if self.batch_id else ""
            parts.append(f"regeneration requested {duration(self.act)} after the alert{batch}")
            parts.append(f"recovered {duration(self.recover)} after the request")
        else:
            parts.append(
                f"no regeneration requested; recovered {duration(self.recover)} after the alert"
            )
        if self.superseded is not None:
            parts.append(f"{self.superseded} predictions superseded")
        return "Recovery: " + "; ".join(parts) + "."

    def metrics(self) -> dict[str, float]:
        """The figures as Cloud Monitoring points (seconds; absent when unknown)."""
        out = {"recovery_seconds": self.recover.total_seconds()}
        if self.detect is not None:
            out["time_to_detect_seconds"] = self.detect.total_seconds()
        if self.act is not None:
            out["time_to_act_seconds"] = self.act.total_seconds()
        if self.superseded is not None:
            out["superseded_predictions"] = float(self.superseded)
        return out


def duration(span: dt.timedelta) -> str:
    """`1h 05m`, `12m 30s`, `45s` (negative spans, a clock skew, read as 0s)."""
    seconds = max(0, int(span.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def recoveries(
    config: Config,
    wh: Warehouse,
    notes: Sequence[Notification],
    now: dt.datetime,
    still_firing: Iterable[str] = (),
) -> dict[str, Recovery]:
    """By game date: the recovery of each date whose last firing alerts resolve in `notes`
    (a date with an alert still firing has not recovered: one in `notes`, or in
    `still_firing`, the dates with an alert firing after the run that did not notify)."""
    resolving: dict[str, list[AlertState]] = {}
    for n in notes:
        day = n.state.labels.get("game_date", "")
        if n.kind == "resolved" and day and n.state.labels.get("kind") != "error":
            resolving.setdefault(day, []).append(n.state)
    still = {n.state.labels.get("game_date") for n in notes if n.kind != "resolved"}
    still |= set(still_firing)
    out: dict[str, Recovery] = {}
    for day, states in resolving.items():
        if day in still:
            continue
        alert_at = min(utc(s.started_at) for s in states)
        resolved_at = utc(max((s.resolved_at or now) for s in states))
        date = dt.date.fromisoformat(day)
        request = _request(wh, config, date, alert_at)
        cutoff = alert_at if request is None else max(alert_at, utc(request.created_at))
        first_bad, superseded = _predictions(config, wh, date, alert_at, cutoff)
        out[day] = Recovery(
            date,
            first_bad,
            alert_at,
            None if request is None else utc(request.created_at),
            "" if request is None else request.batch_id,
            resolved_at,
            superseded,
        )
    return out


def with_recovery(
    config: Config,
    wh: Warehouse,
    notes: list[Notification],
    now: dt.datetime,
    still_firing: Iterable[str] = (),
) -> tuple[list[Notification], dict[str, Recovery]]:
    """Resolutions of recovered dates carry their recovery figures after their outcome."""
    found = recoveries(config, wh, notes, now, still_firing)
    if not found:
        return notes, found
    out = []
    for n in notes:
        day = n.state.labels.get("game_date", "")
        if n.kind == "resolved" and day in found:
            text = found[day].text()
            n = replace(n, outcome=f"{n.outcome} {text}".strip())
        out.append(n)
    return out, found


def _request(
    wh: Warehouse, config: Config, day: dt.date, alert_at: dt.datetime
) -> Remediation | None:
    """The latest request for the date sent after the alert started (and not refused)."""
    existing = wh.columns_of(config.state.dataset)
    if existing is not None and "remediations" not in existing:
        return None
    rows = RemediationLog(wh, config.state.dataset).of_date(day)
    sent = [
        r for r in rows if r.status in ("accepted", "sending") and utc(r.created_at) >= alert_at
    ]
    return sent[0] if sent else None


def _predictions(
    config: Config, wh: Warehouse, day: dt.date, alert_at: dt.datetime, cutoff: dt.datetime
) -> tuple[dt.datetime | None, int | None]:
    """The first bad prediction and how many the fix superseded (see the module's notes)."""
    p = config.predictions
    gap = config.history.batch_gap if config.history is not None else "10m"
    params = Params()
    p_day = params.date("day", day)
    p_alert = params.add("alert_at", alert_at, "TIMESTAMP")
    p_cutoff = params.add("cutoff", cutoff, "TIMESTAMP")
    p_gap = params.int("gap_s", int(parse_duration(gap).total_seconds()))
    inactive = "FALSE" if p.where is None else f"NOT COALESCE(({p.where}), FALSE)"
    keys = ", ".join(ident(k) for k in p.keys)
    sql = (
        f"WITH made AS (SELECT ({p.made_at}) AS made_at, {inactive} AS inactive, "
        f"MAX(({p.made_at})) OVER (PARTITION BY {keys}) AS key_last "
        f"FROM {table_ref(config.table_path(p.table))} "
        f"WHERE {ident(p.date_column)} = {p_day} AND ({p.made_at}) <= {p_cutoff}), "
        f"fixed AS (SELECT made_at, inactive AND "
        f"TIMESTAMP_DIFF(key_last, made_at, SECOND) <= {p_gap} AS by_fix FROM made) "
        f"SELECT MIN(IF(by_fix, made_at, NULL)) AS first_superseded, "
        f"MIN(IF(made_at <= {p_alert}, made_at, NULL)) AS first_made, "
        f"COUNTIF(by_fix) AS superseded FROM fixed"
    )
    [row] = list(wh.rows(Query(sql=sql, params=params.freeze(), label="recovery")))
    first = row["first_superseded"] or row["first_made"]
    superseded = None if p.where is None else int(row["superseded"] or 0)
    return (None if first is None else utc(first)), superseded
