"""What every check shares: its settings, its result, and the fragment contract.

A check never talks to the warehouse. It adds per-prediction columns (a boolean
`flag` at least) to the shared join, aggregates over them per game date, and turns the
aggregate row into results: the Soda "checks ask for metrics" shape, so that all
enabled checks are answered by one scan.
"""

from __future__ import annotations

import datetime as dt
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pydantic import BaseModel

from checks.query.columns import (
    FLAG,
    TOTAL,
    JoinColumns,
    check_column,
    flag_count,
    flag_examples,
)
from checks.query.dimensions import breakdown
from checks.query.sql import Params
from checks.tables import CONFIG_MODEL

Severity = Literal["critical", "warning", "info"]
Status = Literal["ok", "alert", "error"]


class CheckSettings(BaseModel):
    model_config = CONFIG_MODEL

    enabled: bool = True
    severity: Severity = "warning"
    # Its own schedule in `featmon run` (validated by the config): cron string or {every: 2m}.
    schedule: str | dict[str, str] | None = None


@dataclass
class CheckResult:
    """One check's verdict for one game date (and feature, for per-feature checks)."""

    check: str
    game_date: dt.date | None
    status: Status
    severity: Severity
    total: int = 0
    affected: int = 0
    message: str = ""
    feature: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    examples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def affected_ratio(self) -> float:
        return round(self.affected / self.total, 4) if self.total else 0.0


@dataclass(frozen=True)
class Reported:
    """A per-prediction boolean a check reports on (one result each): the builder counts it
    (`flag_count(flag)`) and collects its worst examples (`flag_examples(flag)`, by `order`)."""

    flag: str
    order: str
    extra: list[tuple[str, str]] = field(default_factory=list)
    # A join column: the examples show one prediction per value of it (the first by
    # `order`), with how many predictions that value stands for as `predictions`, so that
    # a player with four systems' predictions is one example row, not four identical ones.
    one_per: str | None = None


@dataclass(frozen=True)
class Fragment:
    """SQL a check adds: `columns` are computed per prediction (over the join's columns),
    `aggregates` per game date (over those and the join's). Each item is (alias, sql).
    `columns` always include the check's own `flag_column` (any problem), which the
    impact table counts. The join's columns are named through `Check.cols`, never spelt."""

    columns: list[tuple[str, str]]
    aggregates: list[tuple[str, str]]
    reported: list[Reported]


class Check(ABC):
    """Base for one check type. Subclasses live one per module under checks/."""

    name: ClassVar[str]
    settings_model: ClassVar[type[CheckSettings]] = CheckSettings
    uses_features: ClassVar[bool] = False
    uses_quality: ClassVar[bool] = False
    uses_store_quality: ClassVar[bool] = False
    uses_grading: ClassVar[bool] = False
    # "join": answered by the shared prediction-to-store join. "store": answered by the
    # per-date store summary (checks/query/store_summary.py), for dates with no predictions yet.
    # "volume": the join's per-date prediction count beside the store summary's row count.
    scope: ClassVar[Literal["join", "store", "volume"]] = "join"
    # Whether its flag marks a prediction as affected (the impact table, hit rates).
    problem: ClassVar[bool] = True
    # One sentence on-call reads next to the numbers.
    meaning: ClassVar[str] = ""

    def __init__(self, settings: CheckSettings, cols: JoinColumns) -> None:
        self.settings = settings
        self.cols = cols

    def col(self, name: str) -> str:
        """Prefix a column this check adds, so fragments never collide."""
        return check_column(self.name, name)

    @property
    def flag_column(self) -> str:
        """This check's "any problem" column: every fragment defines it."""
        return self.col(FLAG)

    @abstractmethod
    def fragment(self, params: Params) -> Fragment:
        """The per-prediction columns (including `flag`) and aggregates this check adds."""

    @abstractmethod
    def results(self, row: Mapping[str, Any], game_date: dt.date) -> list[CheckResult]:
        """Turn one game date's aggregate row into this check's results."""

    @staticmethod
    def total(row: Mapping[str, Any]) -> int:
        """The date's predictions."""
        return int(row[TOTAL] or 0)

    def count(self, row: Mapping[str, Any], name: str) -> int:
        """An integer aggregate this check added (NULL counts as 0)."""
        return int(row[self.col(name)] or 0)

    def affected(self, row: Mapping[str, Any], flag: str = FLAG) -> int:
        """The predictions this check's `flag` (unprefixed, as given to `col`) marks."""
        return int(row[flag_count(self.col(flag))] or 0)

    def result(
        self,
        row: Mapping[str, Any],
        game_date: dt.date,
        *,
        alert: bool,
        message: str,
        details: dict[str, Any],
        flag: str = FLAG,
        feature: str | None = None,
    ) -> CheckResult:
        """The result for the predictions marked by `flag`, with its ranked examples
        (none when examples are off) and, with dimensions, its counts per dimension value
        (`details.by_dimension`, worst first)."""
        total = self.total(row)
        affected = self.affected(row, flag)
        examples = list(row.get(flag_examples(self.col(flag))) or [])
        per_value = breakdown(row, self.cols, flag_count(self.col(flag)))
        if per_value is not None:
            details = {
                **details,
                "dimensions": list(self.cols.dimension_names),
                "by_dimension": per_value,
            }
        return CheckResult(
            check=self.name,
            game_date=game_date,
            status="alert" if alert else "ok",
            severity=self.settings.severity,
            total=total,
            affected=affected,
            message=message,
            feature=feature,
            details=details,
            examples=[dict(e) for e in examples],
        )


def pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.1f}%" if whole else "0.0%"


def over_ratio(part: int, whole: int, max_ratio: float) -> bool:
    return whole > 0 and part / whole > max_ratio


def rounded(value: Any, digits: int = 2) -> float | None:
    """A figure for people and JSON: None when absent or not finite (a difference of two
    huge finite values can overflow to inf), so no report ever prints NaN or Infinity."""
    if value is None or not math.isfinite(float(value)):
        return None
    return round(float(value), digits)
