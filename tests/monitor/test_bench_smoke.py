"""The season benchmark runs end to end on tiny sizes (its numbers are not asserted here)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from tests.lab import ROOT


def test_bench_quick_run_agrees_and_prints_its_line(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "season.py"), "--quick", "--workdir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    last = proc.stdout.strip().splitlines()[-1]
    # The three implementations are asserted to agree inside the script before this prints.
    assert re.fullmatch(
        r"ratio_vs_sql=[0-9.]+ ratio_vs_pandas=[0-9.]+ rss_2x_over_1x=[0-9.]+ "
        r"ratio_by_model_vs_sql=[0-9.]+",
        last,
    ), last


def test_startup_bench_runs_and_prints_its_ratios() -> None:
    """bench/startup.py end to end (one run each): it broke once, unnoticed, when the demo
    moved to its own file."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "startup.py"), "--runs", "1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    last = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(last["ratios"]) == {"help", "check", "check_cold"}
