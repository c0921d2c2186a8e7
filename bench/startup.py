"""Start-up benchmark: how long featmon's commands take beyond the libraries they cannot avoid.

In one run, interleaved so that machine noise hits every command alike, it times (median of
`--runs` fresh processes each):
  (a) `featmon --help`                      vs  `python -c "import click, yaml"`
  (b) a one-day `featmon check` on the demo  vs  `python -c "import duckdb, sqlglot, pydantic,
      yaml, click, rich.table"` (what a check cannot avoid importing)
and prints the two ratios with their goals (a <= 3, b <= 2). The check is timed warm (the
transpiled-SQL cache filled by an earlier run, as on any machine that ran featmon before)
and cold (`FEATMON_CACHE_DIR` pointing at an empty folder each time), both against the
same demo warehouse. The last line is machine-readable JSON.

Usage: python bench/startup.py [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
GOALS = {"help": 3.0, "check": 2.0}


def timed(argv: list[str], env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    elapsed = time.perf_counter() - started
    if proc.returncode not in (0, 1):  # a check that finds alerts exits 0 (1 with a flag)
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    py = sys.executable
    featmon = [py, "-m", "monitor"]
    with tempfile.TemporaryDirectory() as tmp:
        config = yaml.safe_load((ROOT / "config.yaml").read_text())
        # The file `featmon demo` builds beside its config (it never writes another).
        demo_file = Path(tmp) / ".featmon" / "demo.duckdb"
        config["warehouse"] = {"backend": "duckdb", "path": str(demo_file)}
        config_path = Path(tmp) / "config.yaml"
        config_path.write_text(yaml.safe_dump(config))
        subprocess.run(
            [*featmon, "demo", "--no-check", "-c", str(config_path)],
            check=True,
            cwd=ROOT,
            capture_output=True,
        )
        day = subprocess.run(
            [
                py,
                "-c",
                "import datetime as d, zoneinfo as z; "
                "print(d.datetime.now(z.ZoneInfo('America/New_York')).date())",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        check = [*featmon, "check", "-c", str(config_path), "--date", day]
        warm_env = {**os.environ, "FEATMON_CACHE_DIR": str(Path(tmp) / "cache")}
        timed(check, warm_env)  # fills the cache (and the OS file cache) once
        commands = {
            "help": [*featmon, "--help"],
            "help_libs": [py, "-c", "import click, yaml"],
            "check_warm": check,
            "check_cold": check,
            "check_libs": [py, "-c", "import duckdb, sqlglot, pydantic, yaml, click, rich.table"],
        }
        samples: dict[str, list[float]] = {name: [] for name in commands}
        for i in range(args.runs):
            for name, argv in commands.items():
                env = warm_env
                if name == "check_cold":
                    env = {**os.environ, "FEATMON_CACHE_DIR": str(Path(tmp) / f"cold{i}")}
                samples[name].append(timed(argv, env))
    med = {name: statistics.median(values) for name, values in samples.items()}
    ratios = {
        "help": med["help"] / med["help_libs"],
        "check": med["check_warm"] / med["check_libs"],
        "check_cold": med["check_cold"] / med["check_libs"],
    }
    print(f"medians of {args.runs} fresh processes each (seconds):")
    for name, value in med.items():
        print(f"  {name:<11} {value:.3f}")
    print(f"featmon --help / import click,yaml:         {ratios['help']:.2f}x (goal <= 3)")
    print(f"one-day check (warm) / unavoidable imports: {ratios['check']:.2f}x (goal <= 2)")
    print(f"one-day check (cold cache), same baseline:  {ratios['check_cold']:.2f}x")
    ok = ratios["help"] <= GOALS["help"] and ratios["check"] <= GOALS["check"]
    print(json.dumps({"medians_s": med, "ratios": ratios, "within_goals": ok}))


if __name__ == "__main__":
    main()
