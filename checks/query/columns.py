"""The names of the shared join's columns and of its aggregate row: the join contract.

checks/query/join.py writes every one of these names; the checks' fragments, the impact
table, attribution and the recorded history read them. Both sides go through the
accessors here and never rebuild a name from a string, so renaming a column is a
one-line change, and a misspelt accessor is an AttributeError (and a mypy error) when
the query is built instead of a column that reads as NULL, or a count that reads as 0.

Two levels:
  JoinColumns    one row per prediction (what a fragment's per-prediction SQL sees);
  the functions  one row per game date (what `Check.results` and the impact table read).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal


def _checked(i: int, what: str, available: tuple[str, ...]) -> int:
    """`i` if it names one of `available`: an index past the config is an error here,
    not a column the join never wrote."""
    if not 0 <= i < len(available):
        raise IndexError(f"{what} {i} does not exist (there are {len(available)})")
    return i


@dataclass(frozen=True)
class Logged:
    """A number a prediction logged, looked up in candidate locations (the quality, or one
    feature). `locations` are the configured locations, described, in config order."""

    prefix: str
    logged: str  # the number logged: the first location that holds one
    unparseable: str  # no number, and some location held something that is not one
    locations: tuple[str, ...]

    def location(self, i: int) -> str:
        """Location i's number (NULL when absent or not a number)."""
        return f"{self.prefix}_loc{_checked(i, 'location', self.locations)}"

    def location_bad(self, i: int) -> str:
        """Location i holds something that is not a number."""
        return f"{self.location(i)}_bad"


@dataclass(frozen=True)
class FeatureColumns(Logged):
    """One configured feature: what the prediction logged (the `Logged` columns) and the
    value the store holds for it.

    For a feature with live locations (`live: true`), `logged` is the number at the
    first store-side location only: a live input logged under the feature's name is not
    the store's value, so it never reaches a comparison (or attribution's version match).
    """

    index: int
    name: str
    store: str
    # The store holds a value for it, but not a finite one (inf, NaN): never compared.
    store_non_finite: str
    live_value: str  # the number at the first live location that holds one (else NULL)
    live: str  # no store-side number, but a live one: counted, never compared


@dataclass(frozen=True)
class JoinColumns:
    """The per-prediction columns the shared join exposes to check fragments.

    The fixed columns are class constants (`cols.made_at`); the ones that depend on the
    config (keys, quality locations, features) are methods checked against it.
    """

    key_names: tuple[str, ...]  # predictions.keys, in config order
    date_column: str  # predictions.date_column (a key, but not the entity's)
    quality_locations: tuple[str, ...]  # predictions.quality, described
    feature_locations: tuple[tuple[str, tuple[str, ...]], ...]  # name -> locations, described
    dimension_names: tuple[str, ...] = ()  # predictions.dimensions, in config order

    prediction_id: ClassVar[str] = "prediction_id"
    # Rows the table holds for this prediction id (>1: a writer duplicated it; one counts).
    prediction_copies: ClassVar[str] = "prediction_copies"
    game_date: ClassVar[str] = "game_date"
    made_at: ClassVar[str] = "made_at"
    store_present: ClassVar[str] = "store_present"  # the store has a row for the keys
    written_at: ClassVar[str] = "written_at"  # the store row's write time
    store_quality: ClassVar[str] = "store_quality"  # NULL when not a finite number
    store_quality_non_finite: ClassVar[str] = "store_quality_non_finite"  # inf or NaN
    logged_quality: ClassVar[str] = "logged_quality"
    quality_unparseable: ClassVar[str] = "quality_unparseable"
    graded_correct: ClassVar[str] = "graded_correct"  # only with grading
    graded_high_edge: ClassVar[str] = "graded_high_edge"  # only with grading
    graded_line: ClassVar[str] = "graded_line"  # only with grading: the prop line
    graded_predicted: ClassVar[str] = "graded_predicted"  # only with grading: the prediction

    @property
    def features(self) -> tuple[str, ...]:
        """The configured feature names, in config order."""
        return tuple(name for name, _ in self.feature_locations)

    def key(self, i: int) -> str:
        """The i-th key (predictions.keys on the prediction side, feature_store.keys on the
        store side: they pair one to one)."""
        return f"key_{_checked(i, 'key', self.key_names)}"

    def dimension(self, i: int) -> str:
        """The i-th dimension's value (predictions.dimensions), per prediction and on the
        aggregate row: the same name at both levels, as the GROUP BY key."""
        return dimension_column(_checked(i, "dimension", self.dimension_names))

    @property
    def dimensions(self) -> list[tuple[str, str]]:
        """(configured name, column) of every dimension, in config order."""
        return [(name, self.dimension(i)) for i, name in enumerate(self.dimension_names)]

    @property
    def entity_keys(self) -> list[tuple[str, str]]:
        """(key name, column) of every key but the date: what identifies the entity."""
        return [
            (name, self.key(i)) for i, name in enumerate(self.key_names) if name != self.date_column
        ]

    @property
    def entity_key(self) -> str:
        """The first key that is not the date: what `missing_features` counts distinct
        values of and orders its examples by."""
        return self._entity[1]

    @property
    def entity_key_name(self) -> str:
        """The configured name of `entity_key`, for messages."""
        return self._entity[0]

    @property
    def _entity(self) -> tuple[str, str]:
        # Keys that are all the date leave only the date to count by.
        return (self.entity_keys or [(self.key_names[0], self.key(0))])[0]

    @property
    def quality(self) -> Logged:
        return Logged(
            prefix="quality",
            logged=self.logged_quality,
            unparseable=self.quality_unparseable,
            locations=self.quality_locations,
        )

    def quality_location(self, i: int) -> str:
        """The number at quality location i (NULL when absent or not a number)."""
        return self.quality.location(i)

    def feature(self, which: str | int) -> FeatureColumns:
        """One feature's columns, by name or by position in the config."""
        names = self.features
        if isinstance(which, str):
            if which not in names:
                raise KeyError(f"feature {which!r} is not configured ({', '.join(names)})")
            index = names.index(which)
        else:
            index = _checked(which, "feature", names)
        prefix = f"f{index}"
        return FeatureColumns(
            prefix=prefix,
            logged=f"{prefix}_logged",
            unparseable=f"{prefix}_unparseable",
            locations=self.feature_locations[index][1],
            index=index,
            name=names[index],
            store=f"{prefix}_store",
            store_non_finite=f"{prefix}_store_non_finite",
            live_value=f"{prefix}_live_value",
            live=f"{prefix}_live",
        )

    @property
    def feature_columns(self) -> list[FeatureColumns]:
        return [self.feature(i) for i in range(len(self.feature_locations))]


# The aggregate row: one per game date. GAME_DATE also keys the store summary's rows.
GAME_DATE = "game_date"
TOTAL = "total"  # predictions of the date (each prediction id once)
DUPLICATES = "duplicate_prediction_rows"  # extra rows of ids the table holds more than once
FLAG = "flag"  # every check's "any problem" column (prefixed by `check_column`)
IMPACT_AFFECTED = "impact__affected"  # predictions any problem check flags

# With dimensions the statement returns, per date, one row per combination of dimension
# values and the date's total: DATE_TOTAL is 1 on the total row (SQL GROUPING()).
DATE_TOTAL = "date_total"
# Readers attach a date's per-dimension rows to its total row under this key (in Python:
# checks/query/dimensions.py), so a check reads one row per date as before.
BY_DIMENSION = "by_dimension"


def dimension_column(i: int) -> str:
    """The column of the i-th dimension (see `JoinColumns.dimension`)."""
    return f"dim_{i}"


HitCount = Literal["graded", "correct"]
HitGroup = Literal["affected", "unaffected"]
HIT_GROUPS: tuple[HitGroup, HitGroup] = ("affected", "unaffected")


def check_column(check: str, name: str) -> str:
    """A column a check adds, per prediction or per date: prefixed so fragments never
    collide."""
    return f"{check}__{name}"


def check_flag(check: str) -> str:
    """The check's "any problem" column (the one the impact table counts)."""
    return check_column(check, FLAG)


def flag_count(flag: str) -> str:
    """How many predictions of the date the per-prediction boolean `flag` marks."""
    return f"{flag}_count"


def flag_examples(flag: str) -> str:
    """The worst predictions `flag` marks (absent when examples are off)."""
    return f"{flag}_examples"


def hit_count(kind: HitCount, group: HitGroup, *, high_edge: bool = False) -> str:
    """Graded (or correct) predictions among those affected (or not) by a problem check,
    overall or high-edge only (only with grading)."""
    return f"hit__{kind}_{group}{'_high_edge' if high_edge else ''}"
