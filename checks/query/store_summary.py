"""Per game date: how many rows the feature store has and when it was last written.

What store-scoped checks (store_freshness) read. It is a query of its own because it
must see dates that have no predictions yet (the shared join is driven by predictions),
and it reads only the date and write-time columns, so it stays cheap beside the join.
`checked_at` and `timezone` come back as columns so a check's verdict depends on the
row alone.
"""

from __future__ import annotations

import datetime as dt

from checks.query.columns import GAME_DATE
from checks.query.join import Tables, write_times_sql
from checks.query.sql import Params, Query, ident, table_ref


def store_summary_query(
    tables: Tables, date_from: dt.date, date_to: dt.date, now: dt.datetime, timezone: str
) -> Query:
    store = tables.store
    params = Params()
    p_from = params.date("date_from", date_from)
    p_to = params.date("date_to", date_to)
    write_ctes, write_join, written_at = write_times_sql(store, params, p_from, p_to)
    date = ident(store.date_column)
    with_clause = ("WITH\n" + ",\n".join(write_ctes) + "\n") if write_ctes else ""
    sql = (
        f"{with_clause}SELECT\n  {date} AS {GAME_DATE},\n  COUNT(*) AS store_rows,\n"
        f"  MAX({written_at}) AS last_written_at,\n"
        f"  {params.add('now', now, 'TIMESTAMP')} AS checked_at,\n"
        f"  {params.string('timezone', timezone)} AS timezone\n"
        f"FROM {table_ref(store.table)}{write_join}\n"
        f"WHERE {date} BETWEEN {p_from} AND {p_to}\n"
        f"GROUP BY {GAME_DATE}\nORDER BY {GAME_DATE}"
    )
    return Query(
        sql=sql, params=params.freeze(), description="featmon: store summary", label="store"
    )


def store_version_query(tables: Tables, game_date: dt.date) -> Query:
    """The latest write of one game date, read from the store itself: the rows written at
    the date's last write time, their count and average quality. One partition (the date
    filter on the partition column), the same shape as featmon_guard's own warehouse query,
    so `featmon serve` and a guard reading the store agree on a version's fingerprint."""
    store = tables.store
    params = Params()
    p_day = params.date("game_date", game_date)
    write_ctes, write_join, written_at = write_times_sql(store, params, p_day, p_day)
    quality = (
        f"CAST({ident(store.quality)} AS FLOAT64)" if store.quality else "CAST(NULL AS FLOAT64)"
    )
    with_clause = ("WITH\n" + ",\n".join(write_ctes) + "\n") if write_ctes else ""
    sql = (
        f"{with_clause}SELECT written_at, COUNT(*) AS row_count, AVG(quality) AS quality_avg\n"
        f"FROM (SELECT {written_at} AS written_at, {quality} AS quality\n"
        f"      FROM {table_ref(store.table)}{write_join}\n"
        f"      WHERE {ident(store.date_column)} = {p_day}) AS s\n"
        "WHERE written_at IS NOT NULL\nGROUP BY written_at ORDER BY written_at DESC LIMIT 1"
    )
    return Query(
        sql=sql, params=params.freeze(), description="featmon: store version", label="store"
    )
