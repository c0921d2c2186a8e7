"""The feature store's version history, recorded by featmon because the store keeps none.

Each cycle (and `featmon snapshot`) runs one INSERT ... SELECT in the warehouse: for the
window's dates, every store row whose (entity, write time) is not recorded yet becomes a
fingerprint (keys, write time, quality, feature_version, a hash of the whole feature
vector, and the values of the features the config names). An unchanged store inserts
nothing, so the history grows only with rewrites, and the cost is the window's store
partitions. Versions (one row per date and write time: rows, quality min/avg/max,
feature_version values) are derived from the fingerprints in the state dataset.

Writes featmon did not see are taken from the pipeline's own records: a run log table
(`history.log_table`) and BigQuery audit logs (`history.audit_log`, read through
google-cloud-logging). Those give write times without values; they are stored as
versions with unknown values, so the first version of a date is known even when
featmon was not running when it was written.

Like the alert state, every statement is BigQuery SQL run through the warehouse adapter.
"""

from __future__ import annotations

import datetime as dt
import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from checks.query.attribution import entity_sql
from checks.query.join import Tables, store_feature_sql
from checks.query.sql import Params, ParamType, Query, ident, table_ref
from monitor.config import HistoryConfig
from monitor.persistence.tables import ensure_tables, insert_sql
from monitor.warehouse.base import QueryError, Warehouse

OBSERVED, LOG_TABLE, AUDIT_LOG = "featmon", "log_table", "audit_log"

_FINGERPRINT_COLUMNS: dict[str, str] = {
    "game_date": "DATE",
    "entity": "STRING",
    "written_at": "TIMESTAMP",
    "quality": "FLOAT64",
    "feature_version": "STRING",
    "vector_hash": "STRING",
    "named_values": "STRING",
    "recorded_at": "TIMESTAMP",
}
_VERSION_COLUMNS: dict[str, ParamType] = {
    "game_date": "DATE",
    "written_at": "TIMESTAMP",
    "source": "STRING",
    "row_count": "INT64",
    "quality_min": "FLOAT64",
    "quality_avg": "FLOAT64",
    "quality_max": "FLOAT64",
    "feature_versions": "STRING",
    "detail": "STRING",
    "recorded_at": "TIMESTAMP",
}


# An outside record within this of a write featmon saw is the same write.
SAME_WRITE = dt.timedelta(minutes=2)


@dataclass
class Version:
    written_at: dt.datetime
    label: str  # A, B, ... for versions with known values; "?" when only the time is known
    rows: int | None = None
    quality_min: float | None = None
    quality_avg: float | None = None
    quality_max: float | None = None
    feature_versions: str = ""
    sources: list[str] = field(default_factory=list)

    @property
    def known(self) -> bool:
        return self.label != "?"


def _source(row: dict[str, Any]) -> str:
    return row["source"] if row["source"] == OBSERVED else f"{row['source']}: {row['detail']}"


def merge_versions(rows: list[dict[str, Any]]) -> list[Version]:
    """Versions featmon saw, with outside records of the same write folded in; outside
    records of writes featmon did not see stay as versions with unknown values."""
    seen = [r for r in rows if r["source"] == OBSERVED]
    versions = [
        Version(
            written_at=r["written_at"],
            label=string.ascii_uppercase[i % 26],
            rows=r["row_count"],
            quality_min=r["quality_min"],
            quality_avg=r["quality_avg"],
            quality_max=r["quality_max"],
            feature_versions=r["feature_versions"] or "",
            sources=["featmon"],
        )
        for i, r in enumerate(sorted(seen, key=lambda r: r["written_at"]))
    ]
    for r in rows:
        if r["source"] == OBSERVED:
            continue
        same = next(
            (v for v in versions if abs(v.written_at - r["written_at"]) <= SAME_WRITE), None
        )
        if same is not None:
            same.sources.append(_source(r))
        else:
            versions.append(Version(written_at=r["written_at"], label="?", sources=[_source(r)]))
    return sorted(versions, key=lambda v: (v.written_at, v.label))


def around(game_date: dt.date, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """When writes for a game date happen: from two days before to its end (local)."""
    start = dt.datetime.combine(game_date - dt.timedelta(days=2), dt.time(), tzinfo=zone)
    return start, dt.datetime.combine(game_date + dt.timedelta(days=1), dt.time(), tzinfo=zone)


def unseen_before(versions: list[Version], moment: dt.datetime) -> Version | None:
    """The latest write featmon did not see (values unknown) at or before `moment`."""
    unseen = [v for v in versions if not v.known and v.written_at <= moment]
    return max(unseen, key=lambda v: v.written_at) if unseen else None


def current_sql(
    tables: Tables, config: HistoryConfig, params: Params, date_from: dt.date, date_to: dt.date
) -> str:
    """The store's current rows of the dates as fingerprints (the fingerprint columns but
    `recorded_at`): what a recording inserts, and what attribution compares with when
    featmon recorded nothing (the store's current version is all that is known)."""
    store = tables.store
    p_from, p_to = params.date("date_from", date_from), params.date("date_to", date_to)
    # Keys named like the join's, which is what `entity_sql` reads.
    join_cols = tables.join_columns()
    keys = [(join_cols.key(i), ident(k)) for i, k in enumerate(store.keys)]
    features = list(tables.predictions.features) if store.feature_names_column else []
    named = ", ".join(
        f"{store_feature_sql(store, params, name)} AS {ident(name)}" for name in features
    )
    version = config.version_column
    cols = [
        *keys,
        ("game_date", ident(store.date_column)),
        ("written_at", f"({store.written_at})"),
        (
            "quality",
            f"CAST({ident(store.quality)} AS FLOAT64)"
            if store.quality
            else "CAST(NULL AS FLOAT64)",
        ),
        (
            "feature_version",
            f"CAST({ident(version)} AS STRING)" if version else "CAST(NULL AS STRING)",
        ),
        (
            "vector_hash",
            f"TO_HEX(MD5(TO_JSON_STRING({ident(store.feature_values_column)})))"
            if store.feature_values_column
            else "CAST(NULL AS STRING)",
        ),
        (
            "named_values",
            f"TO_JSON_STRING(STRUCT({named}))" if named else "CAST(NULL AS STRING)",
        ),
    ]
    select = ",\n    ".join(f"{sql} AS {alias}" for alias, sql in cols)
    partition = ", ".join(ident(k) for k in store.keys)
    return (
        f"SELECT s.game_date, {entity_sql(tables, 's.')} AS entity, s.written_at, "
        "s.quality, s.feature_version, s.vector_hash, s.named_values\n"
        f"FROM (\n  SELECT\n    {select}\n  FROM {table_ref(store.table)}\n"
        f"  WHERE {ident(store.date_column)} BETWEEN {p_from} AND {p_to}\n"
        f"  QUALIFY ROW_NUMBER() OVER (PARTITION BY {partition} "
        f"ORDER BY ({store.written_at}) DESC) = 1\n) AS s\n"
        "WHERE s.written_at IS NOT NULL"
    )


def retained_from(config: HistoryConfig, now: dt.datetime) -> dt.date:
    """The first game date `retention_days` keeps: older ones are deleted each recording,
    so they are never recorded (recording them would only delete them again)."""
    return (now - dt.timedelta(days=config.retention_days)).date()


@dataclass(frozen=True)
class ExternalWrite:
    """A write seen in someone else's records: a time, maybe a date, no values."""

    written_at: dt.datetime
    game_date: dt.date | None
    detail: str


@dataclass
class Recorded:
    fingerprints: int = 0
    versions: int = 0
    external: int = 0


class History:
    def __init__(self, wh: Warehouse, dataset: str, tables: Tables, config: HistoryConfig):
        self.wh = wh
        self.tables = tables
        self.config = config
        self.fingerprints_name = f"{dataset}.store_fingerprints"
        self.versions_name = f"{dataset}.store_versions"
        self.dataset = dataset
        self.fingerprints = table_ref(self.fingerprints_name)
        self.versions = table_ref(self.versions_name)

    def _run(self, sql: str, params: Params | None = None) -> list[dict[str, Any]]:
        query = Query(sql=sql, params=(params or Params()).freeze(), label="history")
        return list(self.wh.rows(query))

    def ensure(self) -> None:
        ensure_tables(
            self.wh,
            self.dataset,
            {"store_fingerprints": _FINGERPRINT_COLUMNS, "store_versions": _VERSION_COLUMNS},
        )

    def retained_from(self, now: dt.datetime) -> dt.date:
        return retained_from(self.config, now)

    def record(self, date_from: dt.date, date_to: dt.date, now: dt.datetime) -> None:
        """Fingerprints of new writes, the versions they make, log-table writes, retention.
        Dates older than the retention are left out (`retained_from`)."""
        date_from = max(date_from, self.retained_from(now))
        if date_from <= date_to:
            self._snapshot(date_from, date_to, now)
            self._observed_versions(date_from, date_to, now)
            if self.config.log_table is not None:
                self._log_table_versions(date_from, date_to, now)
        self._expire(now)

    def recorded_at(self, now: dt.datetime) -> Recorded:
        """What the recording at `now` added (for `featmon snapshot` to report)."""
        params = Params()
        p_now = params.add("now", now, "TIMESTAMP")
        p_observed = params.string("observed", OBSERVED)
        [row] = self._run(
            f"SELECT (SELECT COUNT(*) FROM {self.fingerprints} WHERE recorded_at = {p_now}) "
            f"AS fingerprints, (SELECT COUNTIF(source = {p_observed}) FROM {self.versions} "
            f"WHERE recorded_at = {p_now}) AS observed, (SELECT COUNTIF(source != {p_observed}) "
            f"FROM {self.versions} WHERE recorded_at = {p_now}) AS external",
            params,
        )
        return Recorded(*(int(row[k] or 0) for k in ("fingerprints", "observed", "external")))

    def current_sql(self, params: Params, date_from: dt.date, date_to: dt.date) -> str:
        return current_sql(self.tables, self.config, params, date_from, date_to)

    def _snapshot(self, date_from: dt.date, date_to: dt.date, now: dt.datetime) -> None:
        params = Params()
        current = self.current_sql(params, date_from, date_to)
        names = ", ".join(_FINGERPRINT_COLUMNS)
        self._run(
            f"INSERT INTO {self.fingerprints} ({names})\n"
            f"SELECT c.*, {params.add('now', now, 'TIMESTAMP')}\n"
            f"FROM ({current}) AS c\n"
            f"WHERE NOT EXISTS (\n  SELECT 1 FROM {self.fingerprints} AS f WHERE f.game_date = "
            "c.game_date\n  AND f.entity = c.entity AND f.written_at = c.written_at)",
            params,
        )

    def _observed_versions(self, date_from: dt.date, date_to: dt.date, now: dt.datetime) -> None:
        params = Params()
        p_from, p_to = params.date("date_from", date_from), params.date("date_to", date_to)
        p_source = params.string("source", OBSERVED)
        p_sep = params.string("separator", ", ")
        names = ", ".join(_VERSION_COLUMNS)
        self._run(
            f"INSERT INTO {self.versions} ({names})\n"
            f"SELECT f.game_date, f.written_at, {p_source}, COUNT(*), MIN(f.quality), "
            "AVG(f.quality), MAX(f.quality),\n"
            f"  STRING_AGG(DISTINCT f.feature_version, {p_sep} ORDER BY f.feature_version), "
            f"CAST(NULL AS STRING), {params.add('now', now, 'TIMESTAMP')}\n"
            f"FROM {self.fingerprints} AS f\n"
            f"WHERE f.game_date BETWEEN {p_from} AND {p_to} AND NOT EXISTS (\n"
            f"  SELECT 1 FROM {self.versions} AS v WHERE v.game_date = f.game_date\n"
            f"  AND v.written_at = f.written_at AND v.source = {p_source})\n"
            "GROUP BY f.game_date, f.written_at",
            params,
        )

    def _log_table_versions(self, date_from: dt.date, date_to: dt.date, now: dt.datetime) -> None:
        log = self.config.log_table
        assert log is not None
        params = Params()
        p_from, p_to = params.date("date_from", date_from), params.date("date_to", date_to)
        p_source = params.string("source", LOG_TABLE)
        date, time = ident(log.date_column), ident(log.time_column)
        where = f"{date} BETWEEN {p_from} AND {p_to} AND {time} IS NOT NULL"
        if log.where:
            where += f" AND ({log.where})"
        names = ", ".join(_VERSION_COLUMNS)
        self._run(
            f"INSERT INTO {self.versions} ({names})\n"
            f"SELECT DISTINCT l.game_date, l.written_at, {p_source}, CAST(NULL AS INT64), "
            "CAST(NULL AS FLOAT64), CAST(NULL AS FLOAT64), CAST(NULL AS FLOAT64), "
            f"CAST(NULL AS STRING), {params.string('detail', log.table)}, "
            f"{params.add('now', now, 'TIMESTAMP')}\n"
            f"FROM (SELECT {date} AS game_date, {time} AS written_at "
            f"FROM {table_ref(log.table)} WHERE {where}) AS l\n"
            f"WHERE NOT EXISTS (SELECT 1 FROM {self.versions} AS v WHERE v.game_date = "
            f"l.game_date AND v.written_at = l.written_at AND v.source = {p_source})",
            params,
        )

    def record_external(self, writes: Sequence[ExternalWrite], now: dt.datetime) -> int:
        """Audit-log writes not recorded yet (a handful per run)."""
        if not writes:
            return 0
        params = Params()
        p_source = params.string("source", AUDIT_LOG)
        since = min(w.written_at for w in writes)
        known = {
            r["written_at"]
            for r in self._run(
                f"SELECT written_at FROM {self.versions} WHERE source = {p_source} "
                f"AND written_at >= {params.add('since', since, 'TIMESTAMP')}",
                params,
            )
        }
        new = [w for w in writes if w.written_at not in known]
        if not new:
            return 0
        rows = [
            {
                "game_date": w.game_date,
                "written_at": w.written_at,
                "source": AUDIT_LOG,
                "row_count": None,
                "quality_min": None,
                "quality_avg": None,
                "quality_max": None,
                "feature_versions": None,
                "detail": w.detail,
                "recorded_at": now,
            }
            for w in new
        ]
        self._run(*insert_sql(self.versions_name, _VERSION_COLUMNS, rows))
        return len(new)

    def _expire(self, now: dt.datetime) -> None:
        params = Params()
        cutoff = params.date("cutoff", self.retained_from(now))
        self._run(f"DELETE FROM {self.fingerprints} WHERE game_date < {cutoff}", params)
        self._run(
            f"DELETE FROM {self.versions} WHERE COALESCE(game_date, DATE(written_at)) < {cutoff}",
            params,
        )

    def recorded_for(self, game_date: dt.date) -> bool:
        """Whether featmon recorded versions of this date (its tables exist and hold one it
        saw). Read without creating anything: an investigation after the fact, on a warehouse
        featmon never ran on, must leave it as it found it."""
        existing = self.wh.columns_of(self.dataset)
        if existing is not None and not {"store_fingerprints", "store_versions"} <= set(existing):
            return False
        params = Params()
        try:
            [row] = self._run(
                f"SELECT COUNT(*) AS n FROM {self.versions} WHERE game_date = "
                f"{params.date('game_date', game_date)} AND source = "
                f"{params.string('observed', OBSERVED)}",
                params,
            )
        except QueryError:  # the catalog could not be read and the table is not there
            return False
        return int(row["n"] or 0) > 0

    def latest_observed(self, game_date: dt.date) -> dict[str, Any] | None:
        """The latest version of a date featmon read from the store (`written_at`,
        `row_count`, `quality_avg`), None when it recorded none: what `featmon serve`'s
        store-version endpoint answers without touching the store. Reads only."""
        existing = self.wh.columns_of(self.dataset)
        if existing is not None and "store_versions" not in existing:
            return None
        params = Params()
        try:
            rows = self._run(
                f"SELECT written_at, row_count, quality_avg FROM {self.versions} "
                f"WHERE game_date = {params.date('game_date', game_date)} "
                f"AND source = {params.string('observed', OBSERVED)} "
                "ORDER BY written_at DESC LIMIT 1",
                params,
            )
        except QueryError:  # the catalog could not be read and the table is not there
            return None
        return rows[0] if rows else None

    def current_versions(
        self, game_date: dt.date, around: tuple[dt.datetime, dt.datetime]
    ) -> tuple[list[dict[str, Any]], list[str]]:
        """What is known of a date featmon did not record, as `versions_of` rows: the store's
        current rows (one version per write time, values known: the store holds them now),
        the run log's writes and the audit logs' (times only). Reads only. Also returns
        problems (an audit-log read that failed), never raised."""
        params = Params()
        current = self.current_sql(params, game_date, game_date)
        p_sep = params.string("separator", ", ")
        rows = [
            {**r, "source": OBSERVED, "detail": None}
            for r in self._run(
                f"SELECT c.game_date, c.written_at, COUNT(*) AS row_count, "
                "MIN(c.quality) AS quality_min, AVG(c.quality) AS quality_avg, "
                "MAX(c.quality) AS quality_max, STRING_AGG(DISTINCT c.feature_version, "
                f"{p_sep} ORDER BY c.feature_version) AS feature_versions\n"
                f"FROM ({current}) AS c GROUP BY c.game_date, c.written_at",
                params,
            )
        ]
        log = self.config.log_table
        if log is not None:
            params = Params()
            date, time = ident(log.date_column), ident(log.time_column)
            where = f"{date} = {params.date('game_date', game_date)} AND {time} IS NOT NULL"
            if log.where:
                where += f" AND ({log.where})"
            rows += [
                {**r, "source": LOG_TABLE, "detail": log.table}
                for r in self._run(
                    f"SELECT DISTINCT {date} AS game_date, {time} AS written_at "
                    f"FROM {table_ref(log.table)} WHERE {where}",
                    params,
                )
            ]
        problems: list[str] = []
        audit = self.config.audit_log
        if audit is not None:
            try:
                from monitor.persistence.audit_log import fetch_writes

                writes = fetch_writes(
                    audit.project, self.tables.store.table, around[0], audit.endpoint
                )
            except Exception as e:  # Cloud Logging down or forbidden: the rest stands
                problems.append(f"audit-log writes not read: {type(e).__name__}: {e}")
                writes = []
            rows += [
                {"game_date": w.game_date, "written_at": w.written_at, "source": AUDIT_LOG,
                 "detail": w.detail}
                for w in writes
                if w.game_date == game_date
                or (w.game_date is None and around[0] <= w.written_at <= around[1])
            ]  # fmt: skip
        for r in rows:
            for key in ("row_count", "quality_min", "quality_avg", "quality_max"):
                r.setdefault(key, None)
            r.setdefault("feature_versions", None)
        return sorted(rows, key=lambda r: (r["written_at"], r["source"])), problems

    def versions_of(
        self, game_date: dt.date, around: tuple[dt.datetime, dt.datetime]
    ) -> list[dict[str, Any]]:
        """The date's versions, plus table-level writes (audit logs without a date) in
        `around`: what the timeline and `explain` list."""
        params = Params()
        p_date = params.date("game_date", game_date)
        p_start = params.add("start", around[0], "TIMESTAMP")
        p_end = params.add("end", around[1], "TIMESTAMP")
        return self._run(
            f"SELECT * FROM {self.versions} WHERE game_date = {p_date} OR (game_date IS NULL "
            f"AND written_at BETWEEN {p_start} AND {p_end}) ORDER BY written_at, source",
            params,
        )
