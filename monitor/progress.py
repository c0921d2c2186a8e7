"""Progress of long work (building the demo, `--estimate`'s dry runs, a long `check` or
`impact` window), on stderr and only when stderr is a terminal: a person waiting sees what
featmon is doing, while a pipe, a log collector or a Cloud Run job gets nothing extra (their
stderr carries the problems on-call must read, and nothing else).

Each step overwrites the previous one on the same line; `done` clears it, so what the
command prints afterwards starts on a clean line.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import TextIO

# Turn progress off even on a terminal (screen recordings, golden terminal sessions).
OFF_ENV = "FEATMON_NO_PROGRESS"

# What work that may be long takes to report its steps (None: it reports nothing).
Step = Callable[[str], None]


class Progress:
    """`step("building the store")` -> `featmon demo: building the store (2/5, 3.1s)`."""

    def __init__(self, what: str, total: int | None = None, stream: TextIO | None = None):
        self.what, self.total = what, total
        self.stream = stream if stream is not None else sys.stderr
        self.count = 0
        self.started = time.monotonic()
        self.shown = _is_terminal(self.stream)

    def step(self, label: str) -> None:
        self.count += 1
        if not self.shown:
            return
        of = f"{self.count}/{self.total}, " if self.total else ""
        elapsed = time.monotonic() - self.started
        self.stream.write(f"\r\x1b[2K{self.what}: {label} ({of}{elapsed:.1f}s)")
        self.stream.flush()

    def done(self) -> None:
        if self.shown and self.count:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.done()


def _is_terminal(stream: TextIO) -> bool:
    if os.environ.get(OFF_ENV):
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
