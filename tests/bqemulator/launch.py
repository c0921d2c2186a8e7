"""Start bqemulator offline: its startup `INSTALL spatial` would download a DuckDB
extension (no network here), so that step is made a no-op. Usage: launch.py REST GRPC."""

import sys

import bqemulator.storage.engine as engine
from bqemulator.cli import main

engine.DuckDBEngine._load_spatial = lambda self, *args, **kwargs: None  # type: ignore[method-assign]

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
