"""Which config keys a "cannot run" error is about, so its alert names the line to fix.

A check that cannot run is nearly always the config naming something the warehouse does not
have: a misspelt column, a table that moved. The database's error quotes the name it could
not find; the config key whose value holds that name is the one to fix. What the error
suggests instead ("Did you mean ...", "Candidate bindings: ...") is left out, since those are
names that exist. When no configured name is quoted, the keys the check reads are named.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from monitor.config.models import Config

# The sections that name warehouse objects (never `alerts`: it holds secrets).
_SECTIONS = ("feature_store", "predictions", "grading", "history", "warehouse", "state")
_DOTTED = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$-]*")
_PREFIX = re.compile(r"^featmon cannot run check \S+: ")
_SUGGESTIONS = re.compile(r"did you mean|candidate bindings", re.IGNORECASE)
# SQL words a configured expression holds that name nothing of the warehouse.
_SQL_WORDS = {
    "and", "or", "not", "null", "is", "in", "true", "false", "coalesce", "cast", "as", "if",
    "safe_cast", "timestamp", "date", "string", "int64", "float64", "bool", "json_value",
    "table", "column", "select", "from", "where",
}  # fmt: skip

# The keys each check reads, named when the error quotes nothing configured.
CHECK_KEYS: dict[str, tuple[str, ...]] = {
    "stale_predictions": ("predictions.made_at", "feature_store.written_at"),
    "quality_mismatch": ("predictions.quality", "feature_store.quality"),
    "feature_mismatch": (
        "predictions.features",
        "feature_store.feature_names_column",
        "feature_store.feature_values_column",
    ),
    "missing_quality": ("predictions.quality",),
    "low_quality": ("predictions.quality",),
    "missing_features": ("predictions.keys", "feature_store.keys"),
    "store_freshness": ("feature_store.table", "feature_store.written_at"),
    "hit_rate_drop": ("grading",),
}


def _leaves(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, f"{path}[{i}]")
    elif isinstance(value, str):
        yield path, value


def _names(text: str) -> set[str]:
    """Identifiers in `text`: a dotted table name as itself and its table part (not its
    dataset, which other tables share), and every other word."""
    out = set()
    for dotted in _DOTTED.findall(text):
        out |= {dotted.lower(), dotted.rsplit(".", 1)[-1].lower()}
    for word in _IDENTIFIER.findall(_DOTTED.sub(" ", text)):
        if word.lower() not in _SQL_WORDS and len(word) > 2:
            out.add(word.lower())
    return out


def config_keys(config: Config, check: str, error: str) -> list[str]:
    """The config keys (`predictions.quality[0].column`) whose configured names the error
    quotes; else the keys `check` reads; [] when neither applies."""
    # What the error could not find is on its first line; what follows (suggestions, the
    # statement's text) names things that exist.
    error = _PREFIX.sub("", error)
    first = _SUGGESTIONS.split(error, maxsplit=1)[0].strip().split("\n", 1)[0]
    quoted = _names(first)
    data = config.model_dump(mode="json", include=set(_SECTIONS))
    found = [path for path, value in _leaves(data, "") if _names(value) & quoted]
    # A key and the same name under its list items: keep the most specific.
    found = [k for k in found if not any(o != k and o.startswith(k) for o in found)]
    if found:
        return found
    return [k for k in CHECK_KEYS.get(check, ()) if _configured(config, k)]


def _configured(config: Config, key: str) -> bool:
    value: Any = config
    for part in key.split("."):
        value = getattr(value, part, None)
        if value is None:
            return False
    return True
