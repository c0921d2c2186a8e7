"""The embedded warehouse: DuckDB running the checks' BigQuery SQL through sqlglot.

sqlglot gets almost everything right; the rewrites below cover the constructs it
transpiles into something DuckDB cannot run, each kept to the narrowest AST shape.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp

from checks.query.sql import Query
from monitor.warehouse.base import QueryError, Warehouse, WarehouseUnavailable
from monitor.warehouse.sql_cache import SqlCache

FETCH_BATCH = 1000


def _position_lookup(node: exp.Subquery) -> exp.Expression | None:
    """`CAST(values[list_position(names, $p)] AS DOUBLE)` for the store-side lookup
    checks/query/join.py writes for "position of a name in an array" (BigQuery has no
    ARRAY_POSITION), None for any other subquery.

    The lookup is a correlated subquery that DuckDB decorrelates into a join per feature
    (slow over a season); DuckDB has the function itself. Matched on the tree, so alias
    names, quoting and whitespace do not matter:

        (SELECT CAST(<values>[SAFE_ORDINAL(i)] AS FLOAT64)
         FROM UNNEST(GENERATE_ARRAY(1, ARRAY_LENGTH(<names>))) AS i
         WHERE <names>[ORDINAL(i)] = @param LIMIT 1)

    Same answer: the first position of the name (NULL when absent), and NULL when the
    values are shorter than the names, which is what DuckDB gives for an index past the
    end of a list.
    """
    select = node.this
    if node.args.get("alias") or not isinstance(select, exp.Select):
        return None
    if {k for k, v in select.args.items() if v} != {"expressions", "from_", "where", "limit"}:
        return None
    # FROM UNNEST(GENERATE_ARRAY(1, ARRAY_LENGTH(<names>))) AS i
    unnest = select.args["from_"].this
    if not isinstance(unnest, exp.Unnest) or unnest.args.get("offset"):
        return None
    if len(unnest.expressions) != 1 or len(unnest.alias_column_names) != 1:
        return None
    [walk], [i] = unnest.expressions, unnest.alias_column_names
    if not isinstance(walk, exp.GenerateSeries) or set(_set_args(walk)) != {"start", "end"}:
        return None
    length = walk.args["end"]
    if not (_is_int(walk.args["start"], 1) and isinstance(length, exp.ArraySize)):
        return None
    if set(_set_args(length)) != {"this"}:
        return None
    names = length.this
    # SELECT CAST(<values>[SAFE_ORDINAL(i)] AS FLOAT64)
    if len(select.expressions) != 1:
        return None
    cast = select.expressions[0]
    if type(cast) is not exp.Cast or not cast.to.is_type(exp.DataType.Type.DOUBLE):
        return None
    read = cast.this
    if not _reads_at(read, i, safe=True):
        return None
    values = read.this
    # WHERE <names>[ORDINAL(i)] = @param
    condition = select.args["where"].this
    if not isinstance(condition, exp.EQ):
        return None
    lookup, param = condition.this, condition.expression
    if isinstance(lookup, exp.Parameter):
        lookup, param = param, lookup
    if not (isinstance(param, exp.Parameter) and _reads_at(lookup, i, safe=False)):
        return None
    if lookup.this != names or _uses(values, i) or _uses(names, i):
        return None
    # LIMIT 1
    limit = select.args["limit"]
    if set(_set_args(limit)) != {"expression"} or not _is_int(limit.expression, 1):
        return None
    position = exp.Anonymous(this="list_position", expressions=[names.copy(), param.copy()])
    # offset=1: the position is 1-based, as DuckDB's list index is, so nothing is shifted.
    index = exp.Bracket(this=values.copy(), expressions=[position], offset=1)
    return exp.Cast(this=index, to=exp.DataType.build("DOUBLE"))


def _set_args(node: exp.Expression) -> list[str]:
    return [k for k, v in node.args.items() if v]


def _is_int(node: exp.Expression, value: int) -> bool:
    return isinstance(node, exp.Literal) and not node.is_string and node.this == str(value)


def _reads_at(node: exp.Expression, i: str, *, safe: bool) -> bool:
    """`node` is `x[ORDINAL(i)]` (or `x[SAFE_ORDINAL(i)]` when `safe`)."""
    return (
        isinstance(node, exp.Bracket)
        and node.args.get("offset") == 1
        and bool(node.args.get("safe")) == safe
        and len(node.expressions) == 1
        and _is_column(node.expressions[0], i)
    )


def _is_column(node: exp.Expression, name: str) -> bool:
    return isinstance(node, exp.Column) and not node.table and node.name == name


def _uses(node: exp.Expression, name: str) -> bool:
    return any(_is_column(c, name) for c in node.find_all(exp.Column))


def _rewrite_for_duckdb(node: exp.Expression) -> Any:
    # SAFE.PARSE_JSON(s) -> TRY_CAST(s AS JSON): NULL for malformed JSON, as in BigQuery.
    if isinstance(node, exp.SafeFunc) and isinstance(node.this, exp.ParseJSON):
        # The replacement's children are not visited again: rewrite inside it first (a
        # text column parsed safely inside a nested step's SAFE.PARSE_JSON).
        text = node.this.this.transform(_rewrite_for_duckdb)
        return exp.TryCast(this=text, to=exp.DataType.build("JSON"))
    # BigQuery evaluates a CTE where it is referenced; DuckDB may materialize it whole,
    # holding every row of the window in memory. Each CTE is referenced once: inline it.
    if isinstance(node, exp.CTE):
        node.set("materialized", False)
    if isinstance(node, exp.Subquery):
        return _position_lookup(node) or node
    return node


def _batch_json_reads(tree: exp.Expression) -> None:
    """Read every path a table scan needs from one JSON column in one call per kind.

    BigQuery stores JSON parsed; DuckDB stores it as text and re-parses the whole document
    for each path read from it, which made the logged-value lookups most of a season's
    query time. The list forms parse once: `json_extract_string` for JSON_VALUE reads
    (scalar text; JSON null is NULL), `json_extract` for JSON_QUERY reads (JSON, `null`
    kept, so "present but not a number" is still seen). A list no surviving column uses
    is pruned by DuckDB. One leniency: for an object or array JSON_VALUE returns NULL
    in BigQuery and its JSON text here, which only matters where that text is parsed again.
    """
    for select in list(tree.find_all(exp.Select)):
        source = select.args.get("from_")
        if source is None or not isinstance(source.this, exp.Table):
            continue
        reads: dict[str, list[Any]] = {}
        for node in select.find_all(exp.JSONExtract, exp.JSONExtractScalar):
            column = _json_column(node.this)
            if node.find_ancestor(exp.Select) is not select:
                continue
            if column is not None:
                reads.setdefault(column, []).append(node)
        extra: list[Any] = []
        for column_name, nodes in reads.items():
            if len({_path(n) for n in nodes}) < 2:
                continue
            for kind, function in (("text", "json_extract_string"), ("json", "json_extract")):
                mine = [n for n in nodes if (kind == "text") == _is_value_read(n)]
                paths = list(dict.fromkeys(_path(n) for n in mine))
                if not paths:
                    continue
                alias = f"__fm_{column_name}_{kind}"
                extra.append(
                    sqlglot.parse_one(
                        f'{function}(TRY_CAST("{column_name}" AS JSON), [{", ".join(paths)}]) '
                        f"AS {alias}",
                        read="duckdb",
                    )
                )
                for n in mine:
                    element = f"{alias}[{paths.index(_path(n)) + 1}]"
                    n.replace(sqlglot.parse_one(element, read="duckdb"))
        if extra:
            inner = exp.select("*", *extra).from_(source.this.copy())
            source.set("this", inner.subquery("__fm_source"))


def _safe_json_columns(tree: exp.Expression) -> None:
    """Every JSON read of a bare column reads `TRY_CAST(column AS JSON)`: a no-op on a JSON
    column, and NULL instead of a "Malformed JSON" error for a VARCHAR row that is not JSON,
    even when the config does not list the column in `predictions.json_text_columns` (then
    such a row reads as "not logged" rather than being counted)."""
    json_type = exp.DataType.build("JSON")
    for node in list(tree.find_all(exp.JSONExtract, exp.JSONExtractScalar)):
        column = node.this
        if isinstance(column, exp.Column):
            node.set("this", exp.TryCast(this=column.copy(), to=json_type.copy()))


def _json_column(node: exp.Expression) -> str | None:
    """The column a JSON read reads, bare or as `TRY_CAST(column AS JSON)` (a text column
    parsed safely); None for a read of anything else."""
    if isinstance(node, exp.TryCast) and node.to.is_type(exp.DataType.Type.JSON):
        node = node.this
    if isinstance(node, exp.Column) and not node.table:
        return node.name
    return None


def _path(node: Any) -> str:
    return str(node.expression.sql(dialect="bigquery"))


def _is_value_read(node: exp.Expression) -> bool:
    return isinstance(node, exp.JSONExtractScalar)


def _transpile(sql: str) -> str:
    tree = sqlglot.parse_one(sql, read="bigquery").transform(_rewrite_for_duckdb)
    _batch_json_reads(tree)
    _safe_json_columns(tree)
    return str(tree.sql(dialect="duckdb"))


# The translation depends on sqlglot and on this module's rewrites: both are in the key.
_SOURCE = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
_CACHE = SqlCache("duckdb-sql", f"{getattr(sqlglot, '__version__', '')}:{_SOURCE}")


@lru_cache(maxsize=64)
def to_duckdb(sql: str) -> str:
    """The BigQuery statement as DuckDB runs it (memoised in the process and on disk)."""
    return _CACHE.get_or_make(sql, _transpile)


class DuckDBWarehouse(Warehouse):
    name = "duckdb"

    def __init__(
        self,
        path: Path | str,
        *,
        read_only: bool = True,
        memory_limit: str | None = None,
        threads: int | None = None,
    ) -> None:
        self.path = Path(path)
        if read_only and not self.path.exists():
            raise WarehouseUnavailable(
                f"embedded warehouse {self.path} does not exist (run `featmon demo` to build "
                "the demo warehouse, or point warehouse.path at your DuckDB file)"
            )
        settings: dict[str, Any] = {}
        if memory_limit:
            settings["memory_limit"] = memory_limit
        if threads:
            settings["threads"] = threads
        try:
            self.con = duckdb.connect(str(self.path), read_only=read_only, config=settings)
        except duckdb.Error as e:
            raise WarehouseUnavailable(f"cannot open embedded warehouse {self.path}: {e}") from e
        # Without the ICU extension (not bundled, and offline it cannot be fetched)
        # DuckDB already works in UTC; with it, pin UTC so TIMESTAMP casts match BigQuery.
        with contextlib.suppress(duckdb.Error):
            self.con.execute("SET TimeZone = 'UTC'")

    def rows(self, query: Query) -> Iterator[dict[str, Any]]:
        sql = to_duckdb(query.sql)
        try:
            cur = self.con.cursor()
            cur.execute(sql, query.param_values())
            if cur.description is None:  # DDL: nothing to read
                return
            names = [d[0] for d in cur.description]
            while batch := cur.fetchmany(FETCH_BATCH):
                for values in batch:
                    yield dict(zip(names, values, strict=True))
        except (duckdb.IOException, duckdb.ConnectionException) as e:
            raise WarehouseUnavailable(f"embedded warehouse {self.path}: {e}") from e
        except duckdb.Error as e:
            raise QueryError(_first_line(str(e))) from e

    def columns_of(self, dataset: str) -> dict[str, set[str]] | None:
        try:
            found = self.con.execute(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = $dataset",
                {"dataset": dataset},
            ).fetchall()
        except duckdb.Error:
            return None
        out: dict[str, set[str]] = {}
        for table, column in found:
            out.setdefault(str(table), set()).add(str(column).lower())
        return out

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> None:
        """Native DuckDB statements, for building demo and test warehouses."""
        self.con.execute(sql, params or {})

    def close(self) -> None:
        self.con.close()


def _first_line(message: str) -> str:
    return message.strip().splitlines()[0] if message.strip() else "query failed"
