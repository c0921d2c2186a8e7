"""Start bqemulator offline: its startup `INSTALL spatial` would download a DuckDB
extension (no network here), so that step is made a no-op. Usage: launch.py REST GRPC.

One translation bug is fixed on the way: its `SAFE.f(...)` -> `TRY(f(...))` rewrite
replaces outer calls first, so a SAFE. call nested in another (`SAFE.PARSE_JSON(JSON_VALUE(
SAFE.PARSE_JSON(col), ...))`, valid BigQuery) kept its inner `SAFE.` and failed as an
unknown function. Rewriting the innermost first gives BigQuery's answer."""

import sys

import bqemulator.sql.rewriter.safe_helpers as safe_helpers
import bqemulator.storage.engine as engine
from bqemulator.cli import main
from sqlglot import exp

engine.DuckDBEngine._load_spatial = lambda self, *args, **kwargs: None  # type: ignore[method-assign]


def _rewrite_safe_funcs_innermost_first(tree: exp.Expression) -> bool:
    nodes = list(tree.find_all(exp.SafeFunc))  # breadth first: reversed, inner ones first
    for node in reversed(nodes):
        if node.this is not None:
            node.replace(exp.Anonymous(this="TRY", expressions=[node.this.copy()]))
    return bool(nodes)


safe_helpers._rewrite_safe_funcs = _rewrite_safe_funcs_innermost_first  # type: ignore[attr-defined]

rest, grpc = sys.argv[1], sys.argv[2]
sys.argv = [
    "bqemulator",
    "start",
    "--rest-port",
    rest,
    "--grpc-port",
    grpc,
    "--project",
    "test-proj",
]
main()
