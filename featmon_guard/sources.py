"""Where the guard learns a game date's latest store version: featmon's store-version
endpoint, or the warehouse itself with one partition-pruned query (BigQuery or a DuckDB
file). Each source answers `latest(game_date)`: the version, None when the date has no
store rows, or an exception the guard turns into an "unknown" answer.

Only the standard library is imported here; `google.cloud.bigquery` and `duckdb` are
imported when their source is used, so a worker pays only for the one it uses.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from featmon_guard.version import StoreVersion

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TABLE = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+){1,2}$")


class Source(Protocol):
    def latest(self, game_date: dt.date) -> StoreVersion | None: ...


class SourceError(Exception):
    """A source that answered, but not with a version (a bad status, a malformed body)."""


class Endpoint:
    """featmon's store-version endpoint: `GET <url>?game_date=YYYY-MM-DD` answers 200 with
    `{game_date, written_at, rows, quality_avg, fingerprint}`, or 404 when the date has no
    version. Header values (a token) never appear in errors."""

    def __init__(
        self, url: str, *, timeout_s: float = 2.0, headers: Mapping[str, str] | None = None
    ) -> None:
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise ValueError("the store-version endpoint must be an http:// or https:// URL")
        self.url = url
        self.timeout_s = timeout_s
        self.headers = dict(headers or {})

    def latest(self, game_date: dt.date) -> StoreVersion | None:
        sep = "&" if "?" in self.url else "?"
        query = urllib.parse.urlencode({"game_date": game_date.isoformat()})
        request = urllib.request.Request(f"{self.url}{sep}{query}", headers=self.headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                data = json.loads(response.read())
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return None
            raise SourceError(f"store-version endpoint answered HTTP {e.code}") from None
        try:
            return StoreVersion.from_json(data)
        except (KeyError, TypeError, ValueError) as e:
            raise SourceError(f"store-version endpoint sent a malformed answer: {e}") from None


class StoreTable:
    """The feature-store names the warehouse query needs (the production ones by default);
    each is checked as an identifier, since they are written into the SQL."""

    def __init__(
        self,
        table: str = "nba_predictions.ml_feature_store_v2",
        *,
        date_column: str = "game_date",
        written_at_columns: Sequence[str] = ("updated_at", "created_at"),
        quality_column: str | None = "feature_quality_score",
    ) -> None:
        if not _TABLE.match(table):
            raise ValueError(f"{table!r} is not a table name (dataset.table)")
        names = [date_column, *written_at_columns] + ([quality_column] if quality_column else [])
        for name in names:
            if not _IDENT.match(name):
                raise ValueError(f"{name!r} is not a column name")
        if not written_at_columns:
            raise ValueError("give at least one write-time column")
        self.table = table
        self.date_column = date_column
        self.written_at_columns = tuple(written_at_columns)
        self.quality_column = quality_column

    def sql(self, quote: str, float_type: str, param: str) -> str:
        """The latest write of one date, in one scan of one partition: the rows written at
        the date's last write time, their count and average quality."""

        def q(name: str) -> str:
            return f"{quote}{name}{quote}"

        table = ".".join(q(part) for part in self.table.split("."))
        written = ", ".join(q(c) for c in self.written_at_columns)
        written = f"COALESCE({written})" if len(self.written_at_columns) > 1 else written
        quality = (
            f"CAST({q(self.quality_column)} AS {float_type})"
            if self.quality_column
            else f"CAST(NULL AS {float_type})"
        )
        return (
            "SELECT written_at, COUNT(*) AS row_count, AVG(quality) AS quality_avg\n"
            f"FROM (SELECT {written} AS written_at, {quality} AS quality\n"
            f"      FROM {table} WHERE {q(self.date_column)} = {param}) AS s\n"
            "WHERE written_at IS NOT NULL\n"
            "GROUP BY written_at ORDER BY written_at DESC LIMIT 1"
        )


def _version(game_date: dt.date, row: Sequence[Any] | None) -> StoreVersion | None:
    if row is None:
        return None
    written_at, rows, quality = row
    if written_at.tzinfo is None:
        written_at = written_at.replace(tzinfo=dt.UTC)
    return StoreVersion(
        game_date=game_date,
        written_at=written_at,
        rows=int(rows),
        quality_avg=None if quality is None else round(float(quality), 6),
    )


class BigQuery:
    """The feature store in BigQuery, through the worker's own `google.cloud.bigquery.Client`
    (its credentials and project). The query filters on the partition column, so it reads
    one partition (the table's `require_partition_filter` is satisfied)."""

    def __init__(self, client: Any, store: StoreTable | None = None, *, timeout_s: float = 10.0):
        self.client = client
        self.store = store or StoreTable()
        self.timeout_s = timeout_s
        self.sql = self.store.sql("`", "FLOAT64", "@game_date")

    def latest(self, game_date: dt.date) -> StoreVersion | None:
        from google.cloud import bigquery

        config = bigquery.QueryJobConfig(
            query_parameters=[bigquery.ScalarQueryParameter("game_date", "DATE", game_date)],
            labels={"app": "featmon-guard"},
        )
        job = self.client.query(self.sql, job_config=config, timeout=self.timeout_s)
        rows = [tuple(r.values()) for r in job.result(timeout=self.timeout_s)]
        return _version(game_date, rows[0] if rows else None)


class DuckDB:
    """The feature store in a DuckDB file, opened read-only for each lookup (so the guard
    never holds the file's lock between calls). A file another process is writing fails
    at once; the guard answers "unknown" with that reason."""

    def __init__(self, path: str | Path, store: StoreTable | None = None) -> None:
        self.path = Path(path)
        self.store = store or StoreTable()
        self.sql = self.store.sql('"', "DOUBLE", "?")

    def latest(self, game_date: dt.date) -> StoreVersion | None:
        import duckdb

        if not self.path.exists():
            raise SourceError(f"no DuckDB file at {self.path}")
        con = duckdb.connect(str(self.path), read_only=True)
        try:
            row = con.execute(self.sql, [game_date]).fetchone()
        finally:
            con.close()
        return _version(game_date, row)
