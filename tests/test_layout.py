"""The layout's one rule, checked on the source: imports flow monitor -> alerts -> checks and
never up, and the CLI builds its command tree without the heavy libraries."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from tests.lab import ROOT

# package -> the top-level packages of this project it must not import
FORBIDDEN = {
    "checks": {"alerts", "monitor", "featmon_guard"},
    "alerts": {"monitor", "featmon_guard"},
    # Workers import the guard alone: it must not pull in featmon's layers.
    "featmon_guard": {"checks", "alerts", "monitor"},
}


def imported_packages(path: str) -> set[str]:
    tree = ast.parse((ROOT / path).read_text(), filename=path)
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_never_flow_up(package: str) -> None:
    offenders = {
        str(p.relative_to(ROOT)): sorted(imported_packages(str(p.relative_to(ROOT))) & banned)
        for p in (ROOT / package).rglob("*.py")
        for banned in [FORBIDDEN[package]]
        if imported_packages(str(p.relative_to(ROOT))) & banned
    }
    assert offenders == {}


def test_the_command_tree_loads_without_heavy_libraries() -> None:
    """`featmon --help` must start at once: building the CLI imports only click."""
    heavy = ["pydantic", "duckdb", "sqlglot", "google.cloud", "slack_sdk", "matplotlib", "rich"]
    code = f"import sys, monitor.cli; print([m for m in {heavy!r} if m in sys.modules])"
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert proc.stdout.strip() == "[]"
