"""Predictions that have no feature-store row for their keys.

Either the store never wrote that entity for that date (a rerun never deletes players
missing from it, so the reverse cannot be detected from the store alone), or the whole
date is missing from the store.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from checks.base import Check, CheckResult, Fragment, Reported, over_ratio, pct
from checks.missing_quality import RatioSettings
from checks.query.sql import Params


class MissingFeatures(Check):
    name = "missing_features"
    settings_model = RatioSettings
    meaning = "These predictions have no row in the feature store for their keys."

    def fragment(self, params: Params) -> Fragment:
        flag, c = self.flag_column, self.cols
        return Fragment(
            columns=[(flag, f"NOT {c.store_present}")],
            aggregates=[
                (self.col("entities"), f"COUNT(DISTINCT IF({flag}, {c.entity_key}, NULL))"),
                (self.col("store_rows_matched"), f"COUNTIF({c.store_present})"),
            ],
            reported=[Reported(flag, c.entity_key, one_per=c.entity_key)],
        )

    def results(self, row: Mapping[str, Any], game_date: dt.date) -> list[CheckResult]:
        assert isinstance(self.settings, RatioSettings)
        affected, total = self.affected(row), self.total(row)
        entities = self.count(row, "entities")
        whole_date = total > 0 and self.count(row, "store_rows_matched") == 0
        details = {"entities": entities, "whole_date_missing": whole_date}
        if whole_date:
            message = f"the feature store has no rows matching any of the {total} predictions"
        elif not affected:
            message = f"all {total} predictions have a feature-store row"
        else:
            message = (
                f"{affected} of {total} predictions ({pct(affected, total)}) for {entities} "
                f"{self.cols.entity_key_name} values have no feature-store row"
            )
        alert = over_ratio(affected, total, self.settings.max_ratio)
        return [self.result(row, game_date, alert=alert, message=message, details=details)]
