"""featmon's guard for prediction workers: before predicting from cached features, ask
whether they are still the feature store's latest version for the game date.

    from featmon_guard import Guard
    guard = Guard.endpoint("http://featmon:8080/store-version")   # or .bigquery(client)
    answer = guard.check(game_date, written_at=cached.written_at)
    if not answer.use_cache(fail_open=True):
        features = reload(game_date)

Standard library only at import (no click, pydantic, sqlglot, nor featmon's CLI):
docs/actions.md.
"""

from featmon_guard.guard import Answer, Guard
from featmon_guard.sources import BigQuery, DuckDB, Endpoint, SourceError, StoreTable
from featmon_guard.version import StoreVersion, iso_z, parse_iso, version_fingerprint

__all__ = [
    "Answer",
    "BigQuery",
    "DuckDB",
    "Endpoint",
    "Guard",
    "SourceError",
    "StoreTable",
    "StoreVersion",
    "iso_z",
    "parse_iso",
    "version_fingerprint",
]
