"""BigQuery: the production warehouse.

Every job carries named query parameters (never formatted values), `maximum_bytes_billed`,
and labels (`app=featmon`, `check=<name>`, plus the configured ones) so its cost can be
found in billing exports. Results are read page by page. Transient failures are retried
with backoff inside `retry_deadline_s`; permanent ones become a message naming the table,
permission or limit involved, so on-call knows what to fix without reading a stack trace.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud import bigquery
from google.cloud.bigquery.retry import DEFAULT_RETRY

from checks.query.sql import Query
from monitor.config import BigQueryWarehouse as BigQuerySettings
from monitor.warehouse.base import QueryError, Warehouse, WarehouseUnavailable

PAGE_SIZE = 500
TRANSIENT = (
    gexc.ServerError,
    gexc.TooManyRequests,
    gexc.RetryError,
    ConnectionError,
    TimeoutError,
)


def make_client(settings: BigQuerySettings) -> bigquery.Client:
    from google.api_core.client_options import ClientOptions

    options = ClientOptions(api_endpoint=settings.endpoint) if settings.endpoint else None
    credentials: Any = None
    if settings.credentials == "anonymous":
        from google.auth.credentials import AnonymousCredentials

        credentials = AnonymousCredentials()  # type: ignore[no-untyped-call]
    elif settings.credentials != "adc":
        from google.oauth2 import service_account

        key_file = settings.credentials
        credentials = service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
            key_file
        )
    return bigquery.Client(
        project=settings.project,
        location=settings.location,
        credentials=credentials,
        client_options=options,
    )


class BigQueryWarehouse(Warehouse):
    name = "bigquery"

    def __init__(self, settings: BigQuerySettings, client: bigquery.Client | None = None) -> None:
        self.settings = settings
        try:
            self.client = client or make_client(settings)
        except Exception as e:  # credentials not found, unreadable key file
            raise WarehouseUnavailable(f"cannot create a BigQuery client: {e}") from e
        deadline = settings.retry_deadline_s
        self.retry = DEFAULT_RETRY.with_deadline(deadline).with_delay(initial=0.5, maximum=8.0)

    def job_config(self, query: Query, *, dry_run: bool = False) -> bigquery.QueryJobConfig:
        params = [
            bigquery.ScalarQueryParameter(p.name, p.type, p.value)  # type: ignore[arg-type]
            for p in query.params
        ]
        return bigquery.QueryJobConfig(
            query_parameters=params,
            maximum_bytes_billed=self.settings.maximum_bytes_billed,
            labels={**self.settings.labels, "app": "featmon", "check": _label(query.label)},
            dry_run=dry_run,
            use_query_cache=not dry_run,
        )

    def rows(self, query: Query) -> Iterator[dict[str, Any]]:
        try:
            result = self._run(query)
            for row in result:
                yield dict(row.items())
        except gexc.GoogleAPICallError as e:
            raise self._translate(e, query) from e
        except TRANSIENT as e:
            raise WarehouseUnavailable(
                f"BigQuery unreachable after retrying for {self.settings.retry_deadline_s:g}s: {e}"
            ) from e

    def _run(self, query: Query) -> Any:
        """Start the job and wait for its first page, re-running it when the job itself
        failed transiently (backendError, rateLimitExceeded), all within one deadline.

        The client's own job retry is off (`job_retry=None`): it wraps inserts in a fixed
        ten-minute retry that would ignore `retry_deadline_s`. API calls are retried by
        `self.retry`, which has that deadline.
        """
        deadline = time.monotonic() + self.settings.retry_deadline_s
        delay = 0.5
        while True:
            try:
                job = self.client.query(
                    query.sql,
                    job_config=self.job_config(query),
                    job_id_prefix="featmon_",
                    retry=self.retry,
                    job_retry=None,
                    timeout=self.settings.job_timeout_s,
                )
                return job.result(
                    page_size=PAGE_SIZE, timeout=self.settings.job_timeout_s, retry=self.retry
                )
            except gexc.GoogleAPICallError as e:
                if not _job_failed_transiently(e) or time.monotonic() + delay > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 8.0)

    def bytes_processed(self, query: Query) -> int:
        """What the query would scan (a dry run: free, and it validates the SQL)."""
        try:
            job = self.client.query(
                query.sql, job_config=self.job_config(query, dry_run=True), retry=self.retry
            )
        except gexc.GoogleAPICallError as e:
            raise self._translate(e, query) from e
        except TRANSIENT as e:
            raise WarehouseUnavailable(f"BigQuery unreachable: {e}") from e
        return int(job.total_bytes_processed or 0)

    def columns_of(self, dataset: str) -> dict[str, set[str]] | None:
        """API calls (tables.list, tables.get), not query jobs: each DDL statement featmon
        would otherwise send every run is a job of its own."""
        timeout = min(self.settings.job_timeout_s, 30.0)
        try:
            listed = self.client.list_tables(
                f"{self.settings.project}.{dataset}", retry=self.retry, timeout=timeout
            )
            return {
                t.table_id: {
                    f.name.lower()
                    for f in self.client.get_table(
                        t.reference, retry=self.retry, timeout=timeout
                    ).schema
                }
                for t in listed
            }
        except gexc.NotFound:
            return {}
        except Exception:  # no permission to list, an emulator without the call: use DDL
            return None

    def _translate(self, e: gexc.GoogleAPICallError, query: Query) -> Exception:
        reasons = _reasons(e)
        message = _first_message(e)
        if isinstance(e, TRANSIENT) or reasons & {"backendError", "rateLimitExceeded"}:
            return WarehouseUnavailable(
                f"BigQuery kept failing for {self.settings.retry_deadline_s:g}s: {message}"
            )
        if "bytesBilledLimitExceeded" in reasons or "bytes billed" in message.lower():
            limit = self.settings.maximum_bytes_billed
            return QueryError(
                f"refused by the cost guard: the query would bill more than "
                f"warehouse.maximum_bytes_billed={limit:,} bytes ({message}). Check that the "
                "partition filters prune (window size), or raise the limit deliberately."
            )
        if isinstance(e, gexc.Forbidden) or reasons & {"accessDenied"}:
            return QueryError(
                f"permission denied: {message}. The job's service account needs "
                "roles/bigquery.dataViewer on the datasets of feature_store.table and "
                f"predictions.table, and roles/bigquery.jobUser (bigquery.jobs.create) on "
                f"project {self.settings.project}."
            )
        if isinstance(e, gexc.NotFound) or reasons & {"notFound"}:
            return QueryError(
                f"not found: {message}. Check feature_store.table / predictions.table "
                "(and warehouse.dataset_project, warehouse.location)."
            )
        return QueryError(f"BigQuery rejected the query: {message}")


def _reasons(e: gexc.GoogleAPICallError) -> set[str]:
    return {str(err.get("reason", "")) for err in (e.errors or []) if isinstance(err, dict)}


def _job_failed_transiently(e: gexc.GoogleAPICallError) -> bool:
    return isinstance(e, gexc.ServerError) or bool(
        _reasons(e) & {"backendError", "rateLimitExceeded", "internalError"}
    )


def _first_message(e: gexc.GoogleAPICallError) -> str:
    for err in e.errors or []:
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
    return str(e.message or e)


def _label(value: str) -> str:
    return re.sub(r"[^a-z0-9_-]", "_", value.lower())[:63] or "cycle"
