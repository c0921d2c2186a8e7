"""Long work shows its steps on stderr when stderr is a terminal, and nothing else changes:
piped (a log collector, a Cloud Run job), stderr carries no progress at all."""

from __future__ import annotations

import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path

from tests.lab import ROOT, featmon


def _on_a_terminal(args: list[str], cwd: Path) -> tuple[int, str, str]:
    """Run featmon with stderr on a pseudo-terminal (stdout piped): what a person sees."""
    master, slave = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("FEATMON_NO_PROGRESS", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=slave,
        text=True,
    )
    os.close(slave)
    chunks: list[bytes] = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # the terminal's other end closed
            break
        if not data:
            break
        chunks.append(data)
    stdout, _ = proc.communicate(timeout=120)
    os.close(master)
    return proc.returncode, stdout, b"".join(chunks).decode()


def test_demo_build_shows_its_steps_on_a_terminal_and_nothing_when_piped(tmp_path: Path) -> None:
    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")
    code, stdout, terminal = _on_a_terminal(["demo", "--no-check"], tmp_path)
    assert code == 0, terminal
    assert "featmon demo: building the demo's rows (" in terminal
    assert "featmon demo: replaying featmon at 23:15 the evening before" in terminal
    assert terminal.endswith("\r\x1b[2K")  # the line is cleared before the command's output
    assert "demo warehouse" in stdout and "\x1b" not in stdout  # stdout untouched

    piped = featmon("demo", "--no-check", cwd=tmp_path)
    assert piped.returncode == 0, piped.stderr
    assert "featmon demo:" not in piped.stderr and "\x1b" not in piped.stderr


def test_check_shows_its_stages_on_a_terminal(tmp_path: Path) -> None:
    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")
    assert featmon("demo", "--no-check", cwd=tmp_path).returncode == 0
    code, stdout, terminal = _on_a_terminal(["check", "--format", "json"], tmp_path)
    assert code == 0, terminal
    steps = ["checking ", "deciding and sending notifications", "publishing metrics"]
    positions = [terminal.index(f"featmon check: {s}") for s in steps]
    assert positions == sorted(positions)
    assert stdout.lstrip().startswith("{")  # the JSON on stdout is untouched
