"""The on-disk cache of transpiled statements: hit, miss on any change of what the
translation depends on, and never a failure when the cache cannot be used."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.warehouse.sql_cache import CACHE_ENV, SqlCache, cache_dir


def test_a_statement_is_translated_once_then_read_back(tmp_path: Path) -> None:
    calls: list[str] = []

    def make(sql: str) -> str:
        calls.append(sql)
        return sql.lower()

    first = SqlCache("duckdb-sql", "v1", tmp_path)
    assert first.get_or_make("SELECT 1 AS A", make) == "select 1 as a"
    again = SqlCache("duckdb-sql", "v1", tmp_path)  # a later process
    assert again.get_or_make("SELECT 1 AS A", make) == "select 1 as a"
    assert calls == ["SELECT 1 AS A"]
    assert again.get_or_make("SELECT 2 AS A", make) == "select 2 as a"  # another statement
    changed = SqlCache("duckdb-sql", "v2", tmp_path)  # sqlglot or the rewrites changed
    assert changed.get_or_make("SELECT 1 AS A", make) == "select 1 as a"
    assert calls == ["SELECT 1 AS A", "SELECT 2 AS A", "SELECT 1 AS A"]


def test_an_unwritable_cache_only_costs_time(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache folder should be")
    cache = SqlCache("duckdb-sql", "v1", blocker)
    assert cache.get_or_make("SELECT 1", str.lower) == "select 1"
    assert cache.get_or_make("SELECT 1", str.lower) == "select 1"


def test_the_cache_folder_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    monkeypatch.setenv(CACHE_ENV, "off")
    assert cache_dir() is None
    calls: list[str] = []
    off = SqlCache("duckdb-sql", "v1")
    for _ in range(2):
        off.get_or_make("SELECT 1", lambda s: calls.append(s) or s)  # type: ignore[func-returns-value]
    assert calls == ["SELECT 1", "SELECT 1"] and not (tmp_path / "c").exists()
