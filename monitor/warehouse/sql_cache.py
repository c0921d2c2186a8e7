"""Transpiled SQL kept on disk, so a one-shot run does not parse the same statements again.

featmon's statements are BigQuery SQL with `@parameters`: their text depends on the config,
never on the checked dates or values, so the DuckDB translation of a statement is the same
run after run. Parsing them with sqlglot was most of a short `featmon check` (about 20
statements, ~30 ms each); a content-addressed file per statement makes every run after the
first skip it.

The key covers everything the translation depends on: the statement, sqlglot's version and
the source of the module that translates (so editing a rewrite invalidates the cache). A
cache that cannot be read or written is skipped silently: it only ever costs time.
`FEATMON_CACHE_DIR` moves it (default: $XDG_CACHE_HOME/featmon, else ~/.cache/featmon);
`FEATMON_CACHE_DIR=off` turns it off.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

CACHE_ENV = "FEATMON_CACHE_DIR"


def cache_dir() -> Path | None:
    configured = os.environ.get(CACHE_ENV)
    if configured == "off":
        return None
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "featmon"


class SqlCache:
    def __init__(self, namespace: str, salt: str, directory: Path | None = None) -> None:
        """`salt`: whatever else the translation depends on (library version, code)."""
        self.directory = (directory or cache_dir() or Path()) / namespace
        self.enabled = directory is not None or cache_dir() is not None
        self.salt = salt

    def _path(self, sql: str) -> Path:
        digest = hashlib.sha256(f"{self.salt}\x00{sql}".encode()).hexdigest()
        return self.directory / f"{digest[:40]}.sql"

    def get_or_make(self, sql: str, make: Callable[[str], str]) -> str:
        if not self.enabled:
            return make(sql)
        path = self._path(sql)
        with contextlib.suppress(OSError):
            return path.read_text(encoding="utf-8")
        translated = make(sql)
        with contextlib.suppress(OSError):
            self.directory.mkdir(parents=True, exist_ok=True)
            # Written whole, then renamed: a concurrent reader sees all of it or nothing.
            fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(translated)
            os.replace(tmp, path)
        return translated
