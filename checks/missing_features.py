"""Predictions that have no feature-store row for their keys.

Either the store never wrote that entity for that date (a rerun never deletes players
missing from it, so the reverse cannot be detected from the store alone), or the whole
date is missing from the store.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from pydantic import Field

from checks.base import Check, CheckResult, CheckSettings, Fragment, pct
from checks.sql import Params


class MissingFeaturesSettings(CheckSettings):
    max_ratio: float = Field(default=0.0, ge=0, le=1)


class MissingFeatures(Check):
    name = "missing_features"
    settings_model = MissingFeaturesSettings
    meaning = "These predictions have no row in the feature store for their keys."

    def fragment(self, params: Params) -> Fragment:
        flag = self.col("flag")
        return Fragment(
            columns=[(flag, "NOT store_present")],
            aggregates=[
                (self.col("entities"), f"COUNT(DISTINCT IF({flag}, key_0, NULL))"),
                (self.col("store_rows_matched"), "COUNTIF(store_present)"),
            ],
            examples=[(flag, "key_0", [])],
        )

    def results(self, row: Mapping[str, Any], game_date: dt.date) -> list[CheckResult]:
        assert isinstance(self.settings, MissingFeaturesSettings)
        affected = int(row[self.col("flagged")] or 0)
        total = int(row["total"] or 0)
        entities = int(row[self.col("entities")] or 0)
        whole_date = total > 0 and int(row[self.col("store_rows_matched")] or 0) == 0
        details = {"entities": entities, "whole_date_missing": whole_date}
        if whole_date:
            message = f"the feature store has no rows matching any of the {total} predictions"
        elif not affected:
            message = f"all {total} predictions have a feature-store row"
        else:
            message = (
                f"{affected} of {total} predictions ({pct(affected, total)}) for {entities} "
                f"{self.cols.key_names[0]} values have no feature-store row"
            )
        alert = total > 0 and affected / total > self.settings.max_ratio
        return [
            self.result(
                row,
                game_date,
                affected=affected,
                alert=alert,
                message=message,
                details=details,
                examples_column=self.col("flag") + "_examples",
            )
        ]
