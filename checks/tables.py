"""How the monitored tables are laid out: the `feature_store` and `predictions` config.

Kept apart from the top-level config so that `checks/` can build SQL from these
descriptions without depending on how the config file is found or loaded.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    field_validator,
    model_validator,
)

from checks.safety import check_expression, check_identifier, check_json_path, check_table

Identifier = Annotated[str, AfterValidator(check_identifier)]
TableName = Annotated[str, AfterValidator(check_table)]
SqlExpression = Annotated[str, AfterValidator(check_expression)]
JsonPath = Annotated[str, AfterValidator(check_json_path)]


# How every config model reads its input: unknown keys are errors, values are not coerced
# (`threshold: true` or a quoted "70" is a mistake, not 1.0 or 70.0) and numbers are finite
# (`1.0e400` is inf, which would make every comparison false: a silent green).
CONFIG_MODEL = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class Strict(BaseModel):
    model_config = CONFIG_MODEL


class Location(Strict):
    """One place a prediction may have logged a value.

    `path` as a list means the value at each step is itself a JSON-encoded string that
    has to be parsed again (the production bug that nested the snapshot inside
    `critical_features` as a string).

    `live` marks a place where the worker logged a live input under the store feature's
    name (it overwrites the vegas features with the live prop line at prediction time):
    a value read there is not the store's, so it is counted, never compared. StrictBool,
    so `live: "no"` is an error rather than a truthy string.
    """

    column: Identifier | None = None
    json_column: Identifier | None = None
    # One JSONPath, or a list of them (each step a JSON-encoded string parsed again).
    path: Annotated[
        list[JsonPath] | None,
        Field(
            json_schema_extra={
                "anyOf": [
                    {"type": "string"},
                    {"type": "array", "items": {"type": "string"}, "minItems": 1},
                    {"type": "null"},
                ]
            }
        ),
    ] = None
    live: StrictBool = False

    @field_validator("path", mode="before")
    @classmethod
    def _one_path_is_a_list(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @model_validator(mode="after")
    def _exactly_one_source(self) -> Location:
        if (self.column is None) == (self.json_column is None):
            raise ValueError("give exactly one of `column` or `json_column`")
        if self.json_column is not None and not self.path:
            raise ValueError("`json_column` needs a `path` (e.g. $.feature_quality_score)")
        if self.column is not None and self.path:
            raise ValueError("`path` only applies to `json_column`")
        return self

    def describe(self) -> str:
        if self.column is not None:
            return self.column
        return f"{self.json_column}:{' -> '.join(self.path or [])}"


class QualityLocation(Location):
    """A place the feature quality was logged: the store's own score, never a live input,
    so `live` is refused here rather than silently taking the quality out of the checks."""

    @field_validator("live")
    @classmethod
    def _never_live(cls, v: bool) -> bool:
        if v:
            raise ValueError(
                "the feature quality is never a live input "
                "(`live` applies to predictions.features locations)"
            )
        return v


def _store_side_first(locations: list[Location]) -> list[Location]:
    """Store-side locations first, then live ones, and at least one store-side.

    The first location holding a number wins, so a store-side copy listed after a live
    location would only be read when no live value was logged: a worker's stale copy of
    the store would go unseen whenever it also logged the live line. A feature whose
    locations are all live could never be compared, so its check could never fire.
    The order also lets the join read the store-side and the live value as two COALESCEs.
    """
    live = [i for i, loc in enumerate(locations) if loc.live]
    if not live:
        return locations
    if len(live) == len(locations):
        raise ValueError(
            "every location is live, so nothing would be compared with the store: list a "
            "store-side copy first (such as $.fs_vegas_points_line) or leave the feature out"
        )
    late = [i for i, loc in enumerate(locations) if not loc.live and i > live[0]]
    if late:
        raise ValueError(
            f"[{late[0]}] is store-side but comes after live [{live[0]}]: the first location "
            "holding a number wins, so list the store-side locations first and the live "
            "ones after"
        )
    return locations


Locations = Annotated[list[Location], Field(min_length=1), AfterValidator(_store_side_first)]


class WriteTimes(Strict):
    """Where the store's write times come from (see docs/bigquery.md "Where write times come from").

    `row`: `written_at` per store row. `log_table`: the latest logged write of the date
    (e.g. nba_reference.processor_run_history) counts for every entity of that date.
    `partitions`: INFORMATION_SCHEMA.PARTITIONS.last_modified_time of the date's
    partition (BigQuery only).
    """

    source: Literal["row", "log_table", "partitions"] = "row"
    table: TableName | None = None
    date_column: Identifier = "data_date"
    time_column: Identifier = "processed_at"
    where: SqlExpression | None = None

    @model_validator(mode="after")
    def _log_table_is_named(self) -> WriteTimes:
        if self.source == "log_table" and not self.table:
            raise ValueError(
                "`source: log_table` needs `table` (e.g. nba_reference.processor_run_history)"
            )
        return self


class FeatureStoreTable(Strict):
    table: TableName = "nba_predictions.ml_feature_store_v2"
    keys: Annotated[list[Identifier], Field(min_length=1)] = ["player_lookup", "game_date"]
    date_column: Identifier = "game_date"
    written_at: SqlExpression = "COALESCE(updated_at, created_at)"
    quality: Identifier | None = "feature_quality_score"
    feature_names_column: Identifier | None = "feature_names"
    feature_values_column: Identifier | None = "features"
    write_times: WriteTimes = WriteTimes()

    @model_validator(mode="after")
    def _names_and_values_together(self) -> FeatureStoreTable:
        if (self.feature_names_column is None) != (self.feature_values_column is None):
            raise ValueError(
                "`feature_names_column` and `feature_values_column` go together (both or neither)"
            )
        return self


class PredictionsTable(Strict):
    table: TableName = "nba_predictions.player_prop_predictions"
    id_column: Identifier = "prediction_id"
    keys: Annotated[list[Identifier], Field(min_length=1)] = ["player_lookup", "game_date"]
    date_column: Identifier = "game_date"
    made_at: SqlExpression = "COALESCE(predicted_at, created_at)"
    where: SqlExpression | None = "is_active"
    quality: list[QualityLocation] = []
    features: dict[Identifier, Locations] = {}
    # Logging columns that keep JSON as text (STRING, VARCHAR) rather than a JSON type:
    # parsed with SAFE.PARSE_JSON, so a row that is not JSON is counted as unparseable
    # instead of failing the query. (On BigQuery a JSON column must not be listed.)
    json_text_columns: list[Identifier] = []
    # Columns to break every count down by (the model: `system_id`): GROUP BY keys of the
    # one shared query, next to the date's total, never a query per value.
    dimensions: list[Identifier] = []

    @field_validator("dimensions")
    @classmethod
    def _dimensions_once(cls, v: list[str]) -> list[str]:
        repeated = sorted({d for d in v if v.count(d) > 1})
        if repeated:
            raise ValueError(f"{', '.join(repeated)} listed more than once")
        return v


class WriteLog(Strict):
    """A table where the pipeline logs each feature-store write (one row per run)."""

    table: TableName = "nba_reference.processor_run_history"
    date_column: Identifier = "data_date"
    time_column: Identifier = "processed_at"
    where: SqlExpression | None = None


class GradingTable(Strict):
    """Graded outcomes (`grading`): joined to predictions on `keys`, which carry the same
    names in both tables (the production table has no prediction_id)."""

    table: TableName = "nba_predictions.prediction_accuracy"
    keys: Annotated[list[Identifier], Field(min_length=1)] = [
        "player_lookup",
        "game_id",
        "game_date",
        "system_id",
    ]
    date_column: Identifier = "game_date"
    correct_column: Identifier = "prediction_correct"  # BOOL; NULL for PASS / pushes
    line_column: Identifier = "line_value"
    predicted_column: Identifier = "predicted_points"
    # A prediction is "high edge" when |predicted - line| >= high_edge.
    high_edge: Annotated[float, Field(ge=0)] = 5.0
    where: SqlExpression | None = "NOT COALESCE(is_voided, FALSE)"
