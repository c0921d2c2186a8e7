"""A store version as featmon announces and serves it: the one JSON shape shared by the
invalidation event, the store-version endpoint and the guard.

Kept to the standard library: prediction workers import this without featmon's CLI stack.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any


def iso_z(moment: dt.datetime) -> str:
    """ISO 8601 in UTC with `Z` (microseconds kept: write times are compared exactly)."""
    utc = moment.astimezone(dt.UTC) if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return utc.isoformat().replace("+00:00", "Z")


def parse_iso(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def version_fingerprint(game_date: dt.date, written_at: dt.datetime) -> str:
    """The id of a store version: its game date and write time, hashed. Whoever computes it
    (the event featmon publishes, the endpoint, a guard reading the warehouse) gets the
    same value, so subscribers can deduplicate on (game_date, fingerprint)."""
    key = f"{game_date.isoformat()}|{iso_z(written_at)}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class StoreVersion:
    """The latest write of a game date in the feature store: when, how many rows it wrote,
    their average quality (None when the store has no quality column or the write was only
    seen in a log)."""

    game_date: dt.date
    written_at: dt.datetime
    rows: int | None
    quality_avg: float | None

    @property
    def fingerprint(self) -> str:
        return version_fingerprint(self.game_date, self.written_at)

    def to_json(self) -> dict[str, Any]:
        """`{game_date, written_at, rows, quality_avg, fingerprint}`: the endpoint's answer
        to `GET <url>?game_date=YYYY-MM-DD`, and the core of the invalidation event."""
        return {
            "game_date": self.game_date.isoformat(),
            "written_at": iso_z(self.written_at),
            "rows": self.rows,
            "quality_avg": self.quality_avg,
            "fingerprint": self.fingerprint,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StoreVersion:
        rows, quality = data.get("rows"), data.get("quality_avg")
        return cls(
            game_date=dt.date.fromisoformat(str(data["game_date"])),
            written_at=parse_iso(str(data["written_at"])),
            rows=None if rows is None else int(rows),
            quality_avg=None if quality is None else float(quality),
        )
