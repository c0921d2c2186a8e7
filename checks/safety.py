"""Validation for the only pieces of config text that end up inside SQL.

Table names, column names and JSON paths are interpolated into the generated query,
so they must match strict grammars. The few SQL expressions a team may configure
(`written_at`, `made_at`, `where`) are parsed with sqlglot and must be a single scalar
expression over bare columns: no statements, subqueries, aggregates or parameters.
"""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,299}$")
# A GCP project id may contain hyphens; datasets and tables may not.
PROJECT = re.compile(r"^[a-z][a-z0-9-]{4,61}[a-z0-9]$")
JSON_PATH = re.compile(r"^\$(\.[A-Za-z_][A-Za-z0-9_]*|\[[0-9]{1,6}\])+$")

_FORBIDDEN: tuple[tuple[type, str], ...] = (
    (exp.Query, "a subquery or statement"),
    (exp.Subquery, "a subquery"),
    (exp.DDL, "a statement"),
    (exp.DML, "a statement"),
    (exp.Command, "a statement"),
    (exp.Star, "*"),
    (exp.Placeholder, "a parameter"),
    (exp.Parameter, "a parameter"),
    (exp.Window, "a window function"),
    (exp.AggFunc, "an aggregate function"),
    (exp.Table, "a table reference"),
    (exp.Anonymous, "an unknown function"),
)


def check_identifier(value: str) -> str:
    if not IDENTIFIER.match(value):
        raise ValueError(
            f"{value!r} is not a plain identifier (letters, digits, _; not first digit)"
        )
    return value


def check_table(value: str) -> str:
    parts = value.split(".")
    if not 1 <= len(parts) <= 3:
        raise ValueError(f"{value!r} must be table, dataset.table or project.dataset.table")
    if len(parts) == 3 and not PROJECT.match(parts[0]):
        raise ValueError(f"{value!r}: {parts[0]!r} is not a valid project id")
    for part in parts[-2:] if len(parts) == 3 else parts:
        if not IDENTIFIER.match(part):
            raise ValueError(f"{value!r}: {part!r} is not a plain identifier")
    return value


def check_json_path(value: str) -> str:
    if not JSON_PATH.match(value):
        raise ValueError(
            f"{value!r} is not a supported JSONPath (use $.key, $.key.sub or $.key[0])"
        )
    return value


def check_expression(value: str) -> str:
    """Return the expression normalised to BigQuery SQL, or raise ValueError saying why not."""
    text = value.strip()
    if not text:
        raise ValueError("must not be empty")
    try:
        statements = sqlglot.parse(text, read="bigquery")
    except ParseError as e:
        first = e.errors[0]["description"] if e.errors else str(e)
        raise ValueError(f"not valid SQL: {first}") from None
    if len(statements) != 1 or statements[0] is None:
        raise ValueError("must be a single expression, not several statements")
    tree = statements[0]
    for node in tree.walk():
        for kind, label in _FORBIDDEN:
            if isinstance(node, kind):
                raise ValueError(f"must be a scalar expression over columns, found {label}")
        if isinstance(node, exp.Column) and node.table:
            raise ValueError(f"use bare column names, not {node.sql('bigquery')!r}")
    return tree.sql(dialect="bigquery")
