"""Small helpers for writing BigQuery-dialect SQL with named parameters.

Every value a check compares against goes through `Params`, so no value is ever
formatted into SQL text; only validated identifiers and JSON paths are.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Literal

ParamType = Literal["DATE", "FLOAT64", "INT64", "STRING", "TIMESTAMP", "BOOL"]

_PARAM_NAME = re.compile(r"[^a-z0-9_]+")


@dataclass(frozen=True)
class QueryParam:
    name: str
    type: ParamType
    value: object


@dataclass(frozen=True)
class Query:
    """A BigQuery Standard SQL statement and the parameters it references as `@name`."""

    sql: str
    params: tuple[QueryParam, ...]
    description: str = ""
    # Which check(s) the query answers: a job label in BigQuery, for cost attribution.
    label: str = "cycle"

    def param_values(self) -> dict[str, object]:
        return {p.name: p.value for p in self.params}


@dataclass
class Params:
    """Collects named parameters while SQL is assembled; names stay readable in the console."""

    _params: dict[str, QueryParam] = field(default_factory=dict)

    def add(self, hint: str, value: object, type_: ParamType) -> str:
        base = _PARAM_NAME.sub("_", hint.lower()).strip("_") or "p"
        name, n = base, 1
        while name in self._params:
            if self._params[name].value == value and self._params[name].type == type_:
                return "@" + name
            n += 1
            name = f"{base}_{n}"
        self._params[name] = QueryParam(name, type_, value)
        return "@" + name

    def date(self, hint: str, value: dt.date) -> str:
        return self.add(hint, value, "DATE")

    def float(self, hint: str, value: float) -> str:
        return self.add(hint, float(value), "FLOAT64")

    def int(self, hint: str, value: int) -> str:
        return self.add(hint, int(value), "INT64")

    def string(self, hint: str, value: str) -> str:
        return self.add(hint, value, "STRING")

    def freeze(self) -> tuple[QueryParam, ...]:
        return tuple(self._params.values())


def ident(name: str) -> str:
    """Quote an already-validated identifier for BigQuery."""
    return f"`{name}`"


def table_ref(path: str) -> str:
    """Quote a validated `[project.]dataset.table` path as one BigQuery reference."""
    return f"`{path}`"


def json_path_literal(path: str) -> str:
    """JSONPath is part of the query's shape (BigQuery wants a constant); it is validated
    against a strict grammar at config load, so quoting it as a literal is safe."""
    return "'" + path + "'"


def renamed(column: str, name: str) -> str:
    """`column` selected as `name`: where one statement's columns become another's names
    (the join's under the aggregate row's or attribution's), with no `x AS x` noise while
    the two agree."""
    return column if column == name else f"{column} AS {name}"
