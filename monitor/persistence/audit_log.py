"""Feature-store writes from BigQuery audit logs in Cloud Logging.

A finished job that wrote the store shows `protoPayload.metadata.jobChange.after =
"DONE"` with the store as `jobConfig.queryConfig|loadConfig.destinationTable` (a MERGE is
a query job whose destination is the real table). The entry gives the end time and
`writeDisposition`, not the values, and a game date only when a load names a partition
(`table$20260203`): the history keeps these as versions with unknown values.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Any

from checks.times import iso_utc
from monitor.persistence.history import ExternalWrite

_DECORATOR = re.compile(r"\$(\d{8})$")
_KINDS = (("queryConfig", "query"), ("loadConfig", "load"), ("tableCopyConfig", "copy"))


def table_resource(project: str, table: str) -> str:
    """`dataset.table` (or `project.dataset.table`) as audit logs name it."""
    parts = table.split(".")
    if len(parts) == 3:
        project, *parts = parts
    return f"projects/{project}/datasets/{parts[0]}/tables/{parts[1]}"


def audit_filter(resource: str, since: dt.datetime) -> str:
    """The Logging query. `:` matches a prefix, so partition decorators match too; the
    names are validated identifiers, so quoting them is safe. Mentioning `timestamp` keeps
    the client from adding its own 24-hour limit."""
    job = "protoPayload.metadata.jobChange"
    config = f"{job}.job.jobConfig"
    return (
        'protoPayload.serviceName="bigquery.googleapis.com"\n'
        f'AND {job}.after="DONE"\n'
        f'AND ({config}.queryConfig.destinationTable:"{resource}"\n'
        f'  OR {config}.loadConfig.destinationTable:"{resource}")\n'
        f'AND timestamp>="{iso_utc(since)}"'
    )


def _time(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(dt.UTC)


def write_from(payload: Mapping[str, Any], resource: str, logged_at: Any) -> ExternalWrite | None:
    """The write one audit entry records, or None (another table, or a failed job)."""
    job = payload.get("metadata", {}).get("jobChange", {}).get("job", {})
    if job.get("jobStatus", {}).get("errorResult"):
        return None
    job_config = job.get("jobConfig", {})
    for key, kind in _KINDS:
        spec = job_config.get(key)
        if not spec:
            continue
        destination = str(spec.get("destinationTable", ""))
        if destination.split("$")[0] != resource:
            return None
        ended = _time(job.get("jobStats", {}).get("endTime")) or logged_at
        if ended is None:
            return None
        m = _DECORATOR.search(destination)
        day = dt.datetime.strptime(m[1], "%Y%m%d").date() if m else None
        disposition = spec.get("writeDisposition", "")
        name = str(job.get("jobName", "")).rsplit("/", 1)[-1]
        detail = " ".join(x for x in (f"{kind} job", name, disposition) if x)
        return ExternalWrite(written_at=ended, game_date=day, detail=detail)
    return None


def writes_from(entries: Iterable[Any], resource: str) -> list[ExternalWrite]:
    out = []
    for entry in entries:
        payload = getattr(entry, "payload", None)
        if isinstance(payload, Mapping):
            write = write_from(payload, resource, getattr(entry, "timestamp", None))
            if write is not None:
                out.append(write)
    return out


def fetch_writes(
    project: str, table: str, since: dt.datetime, endpoint: str | None = None
) -> list[ExternalWrite]:
    """Store writes since `since`, read with the official client (REST transport).
    `endpoint` points it at a local server in tests."""
    from google.cloud import logging as cloud_logging

    kwargs: dict[str, Any] = {"project": project, "_use_grpc": False}
    if endpoint:
        from google.auth.credentials import AnonymousCredentials

        kwargs["credentials"] = AnonymousCredentials()  # type: ignore[no-untyped-call]
        kwargs["client_options"] = {"api_endpoint": endpoint}
    client = cloud_logging.Client(**kwargs)  # type: ignore[no-untyped-call]
    resource = table_resource(project, table)
    entries = client.list_entries(  # type: ignore[no-untyped-call]
        resource_names=[f"projects/{project}"],
        filter_=audit_filter(resource, since),
        order_by=cloud_logging.ASCENDING,
        page_size=500,
    )
    return writes_from(entries, resource)
