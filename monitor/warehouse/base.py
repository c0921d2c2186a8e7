"""The one interface featmon needs from a warehouse: run a parameterized query, stream rows.

Checks are written once in BigQuery Standard SQL; an adapter is the only place that
knows how its engine differs. Errors are split by what the caller should do next.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from types import TracebackType
from typing import Any

from checks.query.sql import Query


class WarehouseError(Exception):
    """Base for warehouse failures; the message is meant for an on-call engineer."""


class QueryError(WarehouseError):
    """The warehouse rejected this statement (unknown table or column, bad SQL, limits).

    Another statement may still succeed, so a cycle can isolate the failing check.
    """


class WarehouseUnavailable(WarehouseError):
    """The warehouse cannot be reached or opened: nothing will succeed this cycle."""


class EstimateUnsupported(WarehouseError):
    """This warehouse has no dry run."""


class Warehouse(ABC):
    name: str = "warehouse"

    @abstractmethod
    def rows(self, query: Query) -> Iterator[dict[str, Any]]:
        """Run `query` and yield its rows as dicts, streaming (never the whole result)."""

    def bytes_processed(self, query: Query) -> int:
        """Bytes the query would scan, without running it (BigQuery dry runs)."""
        raise EstimateUnsupported(
            f"the {self.name} warehouse cannot estimate bytes: dry runs need "
            "warehouse.backend: bigquery"
        )

    def columns_of(self, dataset: str) -> dict[str, set[str]] | None:
        """The tables of `dataset` with their (lower-case) column names, read from the catalog
        without a query job; {} when the dataset does not exist, None when it cannot tell.
        featmon asks it before touching its own tables, so a run sends no DDL when they are in
        place."""
        return None

    def close(self) -> None:  # noqa: B027 - most adapters hold nothing to release
        pass

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
