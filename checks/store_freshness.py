"""The store must be written for each upcoming game date before predictions are made.

For every game date from today on: once the deadline (`must_be_written_by`, local time
on game day in the config's time zone, DST included) has passed, the date must have
rows and its latest write must be at most `max_age` older than the deadline. Otherwise
the next predictions will be built from old or missing features. Past dates are not
judged (their games are over) and before the deadline nothing is due yet.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import field_validator

from checks.base import Check, CheckResult, CheckSettings, Fragment
from checks.durations import Duration, parse_duration
from checks.query.sql import Params
from checks.times import for_people, iso_utc


class StoreFreshnessSettings(CheckSettings):
    must_be_written_by: str = "17:00"
    max_age: Duration = "6h"

    @field_validator("must_be_written_by")
    @classmethod
    def _clock(cls, v: str) -> str:
        try:
            dt.time.fromisoformat(v)
        except ValueError:
            raise ValueError(f"{v!r} is not a time of day like 17:00") from None
        return v


def deadline(day: dt.date, clock: str, zone: ZoneInfo) -> dt.datetime:
    """`clock` on `day` in `zone`, as UTC: 17:00 in New York is 21:00Z in summer and
    22:00Z in winter."""
    local = dt.datetime.combine(day, dt.time.fromisoformat(clock), tzinfo=zone)
    return local.astimezone(dt.UTC)


class StoreFreshness(Check):
    name = "store_freshness"
    settings_model = StoreFreshnessSettings
    scope = "store"
    problem = False
    meaning = "Predictions for this date are about to be made on old or missing features."

    def fragment(self, params: Params) -> Fragment:
        raise NotImplementedError("store_freshness reads the store summary, not the join")

    def results(self, row: Mapping[str, Any], game_date: dt.date) -> list[CheckResult]:
        assert isinstance(self.settings, StoreFreshnessSettings)
        s = self.settings
        zone = ZoneInfo(row["timezone"])
        now: dt.datetime = row["checked_at"]
        due = deadline(game_date, s.must_be_written_by, zone)
        oldest = due - parse_duration(s.max_age)
        rows = int(row.get("store_rows") or 0)
        last: dt.datetime | None = row.get("last_written_at")
        details: dict[str, Any] = {
            "deadline": iso_utc(due),
            "max_age": s.max_age,
            "store_rows": rows,
            "last_written_at": iso_utc(last) if last else None,
        }
        local_due = f"{for_people(due, zone, 'clock_minutes')} on {game_date}"
        alert = False
        if game_date < now.astimezone(zone).date():
            message = "game date is over: not judged"
        elif now < due:
            message = f"not due yet (deadline {local_due})"
        elif rows == 0 or last is None:
            alert = True
            message = f"no feature-store rows for {game_date}; the deadline {local_due} passed"
        elif last < oldest:
            alert = True
            age = due - last
            written = for_people(last, zone)
            message = (
                f"feature store for {game_date} last written {written}, {_hours(age)} "
                f"before the deadline {local_due} (max_age {s.max_age})"
            )
        else:
            message = f"written {for_people(last, zone)} ({rows} rows)"
        return [
            CheckResult(
                check=self.name,
                game_date=game_date,
                status="alert" if alert else "ok",
                severity=s.severity,
                total=rows,
                affected=rows if alert else 0,
                message=message,
                details=details,
            )
        ]


def _hours(delta: dt.timedelta) -> str:
    return f"{delta.total_seconds() / 3600:.1f}h"
