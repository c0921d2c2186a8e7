"""A differential test of the checks' SQL (issue 12): hypothesis generates prediction and
store rows with hostile values (JSON nested and JSON-in-a-string, strings as numbers,
NaN/Infinity as strings and as stored doubles, numbers too big for a double, unicode, JSON
nulls, malformed text in STRING columns, duplicate ids, superseded rows), featmon counts
them on DuckDB (BigQuery SQL -> sqlglot -> DuckDB), and a small pure-Python reading of
each check's documented rule counts them again. Any difference is a bug in one of them.

Left out on purpose, because the engines disagree among themselves (BigQuery and DuckDB)
rather than with featmon: numeric strings with spaces or `_` (DuckDB casts them), bare
NaN/Infinity JSON tokens (DuckDB's JSON parser reads them; so a nested snapshot string
"NaN" parses there and fails on BigQuery: both leave the value unusable, only the
`unparseable` count differs), and an object where a JSON-encoded string is expected.
"""

from __future__ import annotations

import json
import math
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checks.base import CheckResult
from monitor.config import parse_config
from monitor.pipeline.cycle import run_cycle
from monitor.pipeline.window import DateWindow
from monitor.warehouse.duckdb import DuckDBWarehouse
from tests.lab import DAY, NAMES, Lab, default_config_data, utc

PREDICTIONS = "nba_predictions.player_prop_predictions"
PLAYERS = "abcd"
TIMES = [utc("18:00"), utc("21:00"), utc("23:30")]
QUALITY_TOLERANCE, FEATURE_TOLERANCE, EPSILON, LOW_QUALITY = 0.5, 0.05, 1e-9, 70.0
FEATURES = ["points_avg_last_5", "points_avg_last_10", "vegas_points_line"]


@dataclass(frozen=True)
class Raw:
    """A JSON token written as is (a number a double cannot hold)."""

    text: str


def dump(value: Any) -> str:
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {dump(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(dump(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


# -- generation ---------------------------------------------------------------------------

NUMERIC_TEXT = ["12.5", "-3", "1e3", "1E+2", ".5", "+5", "NaN", "Infinity", "-Infinity", "inf"]
OTHER_TEXT = ["n/a", "", "١٢", "12,5", "0x10", "null"]


def scalars(raw: bool) -> st.SearchStrategy[Any]:
    out = [
        st.none(),
        st.booleans(),
        st.integers(-(10**30), 10**30),
        st.floats(allow_nan=False, allow_infinity=False),
        st.floats(min_value=0, max_value=100),
        st.sampled_from(NUMERIC_TEXT + OTHER_TEXT),
        st.text(alphabet="abxyzé日本", max_size=3),
    ]
    if raw:
        out.append(st.sampled_from([Raw("1e400"), Raw("-1e400"), Raw("1" + "0" * 400)]))
    return st.one_of(out)


def values(raw: bool) -> st.SearchStrategy[Any]:
    leaf = scalars(raw)
    return st.one_of(
        leaf,
        st.lists(leaf, max_size=2),
        st.dictionaries(st.sampled_from(["x", "points_avg_last_5"]), leaf, max_size=2),
    )


LOGGED_KEYS = ["feature_quality_score", *FEATURES, "fs_vegas_points_line"]


def snapshots(raw: bool) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from(LOGGED_KEYS), values(raw), max_size=4)


@st.composite
def criticals(draw: st.DrawFn, raw: bool) -> dict[str, Any]:
    doc = draw(
        st.dictionaries(
            st.sampled_from(["feature_quality_score", "fs_vegas_points_line", "vegas_points_line"]),
            values(raw),
            max_size=3,
        )
    )
    nested = draw(
        st.one_of(
            st.none(),
            snapshots(raw).map(dump),  # the production bug: a snapshot as a JSON string
            st.sampled_from(["hello", "", "null", "42", "12.5", '{"points_avg_last_5": 1']),
            st.integers(-5, 5),
        )
    )
    if nested is not None:
        doc["features_snapshot"] = nested
    return doc


def documents(raw: bool, malformed: bool) -> st.SearchStrategy[str | None]:
    docs: list[st.SearchStrategy[str | None]] = [st.none(), snapshots(raw).map(dump)]
    if malformed:
        docs.append(st.sampled_from(["hello world", "", "null", "42", '"s"', "[1, 2]", '{"a": 1']))
    return st.one_of(docs)


def store_numbers() -> st.SearchStrategy[float | None]:
    return st.one_of(
        st.none(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.floats(min_value=0, max_value=40),
        st.sampled_from([math.inf, -math.inf, math.nan]),
    )


@st.composite
def datasets(draw: st.DrawFn, text: bool) -> dict[str, Any]:
    """Store rows (at most one per player) and predictions (some duplicated, some
    superseded) for one game date."""
    store = []
    for player in draw(st.sets(st.sampled_from(PLAYERS))):
        store.append(
            {
                "player": player,
                "written_at": draw(st.sampled_from(TIMES)),
                "quality": draw(st.one_of(st.none(), st.integers(0, 9999).map(lambda q: q / 100))),
                "values": [draw(store_numbers()) for _ in NAMES],
            }
        )
    predictions = []
    for _ in range(draw(st.integers(0, 6))):
        critical = draw(criticals(raw=text))
        predictions.append(
            {
                "player": draw(st.sampled_from(PLAYERS)),
                "made_at": draw(st.sampled_from(TIMES)),
                "quality": draw(
                    st.one_of(st.none(), st.floats(0, 100), st.sampled_from([math.inf, math.nan]))
                ),
                "snapshot": draw(documents(raw=text, malformed=text)),
                "critical": draw(
                    st.one_of(st.none(), st.just(dump(critical)))
                    if not text
                    else st.one_of(st.just(dump(critical)), documents(raw=True, malformed=True))
                ),
                "active": draw(st.sampled_from([True, True, True, False])),
                "copies": draw(st.sampled_from([1, 1, 1, 2, 3])),
            }
        )
    return {"store": store, "predictions": predictions}


# -- the reference: each check's rule, read in Python -------------------------------------

_FAILED = object()  # a text that is not JSON
MISSING = object()  # no such key
_NUMBER = re.compile(r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$")
_SPECIAL = re.compile(r"^[+-]?(inf|infinity|nan)$", re.IGNORECASE)


def parse(text: str | None) -> Any:
    """SAFE.PARSE_JSON: None for SQL NULL, _FAILED for text that is not JSON."""
    if text is None:
        return None
    try:
        return json.loads(text, parse_constant=lambda token: _raise(token))
    except (ValueError, RecursionError):
        return _FAILED


def _raise(token: str) -> None:
    raise ValueError(token)


def cast(value: Any) -> float | None:
    """SAFE_CAST(JSON_VALUE(...) AS FLOAT64), then finite only: the number featmon uses."""
    if value is MISSING or value is None or isinstance(value, bool | dict | list):
        return None
    if isinstance(value, float):
        number = value
    elif isinstance(value, int):
        try:
            number = float(value)
        except OverflowError:  # a JSON integer too big for a double
            number = math.inf
    elif _NUMBER.match(value):
        number = float(value)
    elif _SPECIAL.match(value):
        number = math.nan
    else:
        return None
    return number if math.isfinite(number) else None


def at(doc: Any, key: str) -> Any:
    """JSON_QUERY(doc, '$.key'): MISSING when not there (JSON null is None)."""
    if isinstance(doc, dict) and key in doc:
        return doc[key]
    return MISSING


def scalar_text(found: Any) -> str | None:
    """JSON_VALUE: the text of a scalar (a string's content), NULL otherwise."""
    if found is MISSING or found is None or isinstance(found, dict | list):
        return None
    if isinstance(found, str):
        return found
    return json.dumps(found)


def location(row: dict[str, Any], column: str, path: list[str], text: bool) -> tuple[Any, bool]:
    """(number, "present but not a usable number") at one JSON location."""
    doc = parse(row[column]) if text else json.loads(row[column]) if row[column] else None
    broken = text and row[column] is not None and doc is _FAILED
    if doc is _FAILED:
        doc = None
    for step in path[:-1]:
        inner = scalar_text(at(doc, step.removeprefix("$.")))
        doc = parse(inner)
        if inner is not None and doc is _FAILED:
            broken = True
        if doc is _FAILED:
            doc = None
    found = at(doc, path[-1].removeprefix("$."))
    value = cast(found)
    if found is not MISSING and found is not None and value is None:
        broken = True
    return value, broken


SNAP, CRIT = "snapshot", "critical"
QUALITY_LOCATIONS = [
    (SNAP, ["$.feature_quality_score"]),
    (CRIT, ["$.feature_quality_score"]),
    (CRIT, ["$.features_snapshot", "$.feature_quality_score"]),
]


def feature_locations(name: str) -> list[tuple[str, list[str], bool]]:
    if name == "vegas_points_line":
        return [
            (CRIT, ["$.fs_vegas_points_line"], False),
            (SNAP, ["$.fs_vegas_points_line"], False),
            (CRIT, ["$.vegas_points_line"], True),
            (SNAP, ["$.vegas_points_line"], True),
        ]
    return [(SNAP, [f"$.{name}"], False), (CRIT, ["$.features_snapshot", f"$.{name}"], False)]


def first(values: list[float | None]) -> float | None:
    return next((v for v in values if v is not None), None)


def reference(data: dict[str, Any], text: bool) -> dict[tuple[str, str | None], dict[str, Any]]:
    """Each check's counts for the date, by (check, feature)."""
    store = {s["player"]: s for s in data["store"]}
    rows = [p for p in data["predictions"] if p["active"]]
    duplicates = sum(p["copies"] - 1 for p in rows)
    counts: dict[tuple[str, str | None], dict[str, Any]] = {}

    def bump(key: tuple[str, str | None], field: str, when: bool) -> None:
        counts.setdefault(key, {}).setdefault(field, 0)
        counts[key][field] += int(when)

    for p in rows:
        s = store.get(p["player"])
        present = s is not None
        column = p["quality"]
        column_value = column if column is not None and math.isfinite(column) else None
        read = [location(p, c, path, text) for c, path in QUALITY_LOCATIONS]
        logged = first([column_value] + [v for v, _ in read])
        bad = (column is not None and column_value is None) or any(b for _, b in read)
        stored = s["quality"] if s else None
        key = ("quality_mismatch", None)
        diff = abs(logged - stored) if logged is not None and stored is not None else None
        bump(key, "affected", diff is not None and diff > QUALITY_TOLERANCE + EPSILON)
        bump(key, "compared", diff is not None)
        bump(key, "unparseable", logged is None and bad)
        bump(("missing_quality", None), "affected", logged is None)
        bump(("missing_quality", None), "unparseable", logged is None and bad)
        bump(("low_quality", None), "affected", logged is not None and logged < LOW_QUALITY)
        bump(("missing_features", None), "affected", not present)
        bump(("stale_predictions", None), "affected", present and p["made_at"] < s["written_at"])
        for name in FEATURES:
            key = ("feature_mismatch", name)
            locs = [(location(p, c, path, text), live) for c, path, live in feature_locations(name)]
            value = first([v for (v, _), live in locs if not live])
            live_value = first([v for (v, _), live in locs if live])
            any_bad = any(b for (_, b), _ in locs)
            raw_store = s["values"][NAMES.index(name)] if s else None
            non_finite = raw_store is not None and not math.isfinite(raw_store)
            store_value = None if non_finite else raw_store
            diff = (
                abs(value - store_value) if value is not None and store_value is not None else None
            )
            limit = FEATURE_TOLERANCE + 0.0 * abs(store_value or 0.0) + EPSILON
            bump(key, "affected", diff is not None and diff > limit)
            bump(key, "compared", diff is not None)
            live = value is None and live_value is not None
            bump(key, "live_overrides", live)
            bump(key, "missing_logged", present and value is None and not live)
            bump(key, "missing_in_store", present and store_value is None and not non_finite)
            bump(key, "non_finite_in_store", non_finite)
            bump(key, "unparseable", value is None and live_value is None and any_bad)
    for c in counts.values():
        c["total"] = len(rows)
        c["duplicate_prediction_rows"] = duplicates
    return counts


# -- featmon ------------------------------------------------------------------------------

ONLY = ["stale_predictions", "quality_mismatch", "feature_mismatch", "missing_quality"]
ONLY += ["low_quality", "missing_features"]


def featmon_counts(
    data: dict[str, Any], text: bool
) -> dict[tuple[str, str | None], dict[str, Any]]:
    with tempfile.TemporaryDirectory() as folder:
        lab = Lab(Path(folder) / "w.duckdb")
        if text:
            wh = DuckDBWarehouse(lab.path, read_only=False)
            for column in ("critical_features", "features_snapshot"):
                wh.execute(f"ALTER TABLE {PREDICTIONS} ALTER {column} TYPE VARCHAR")
            wh.close()
        for s in data["store"]:
            values = dict(zip(NAMES, s["values"], strict=True))
            lab.add_store(s["player"], written_at=s["written_at"], quality=s["quality"])
            lab.store[-1]["features"] = [values[n] for n in NAMES]
        for p in data["predictions"]:
            lab.add_prediction(
                p["player"],
                made_at=p["made_at"],
                quality=p["quality"],
                snapshot=p["snapshot"],
                critical=p["critical"],
                active=p["active"],
            )
            lab.predictions += [dict(lab.predictions[-1]) for _ in range(p["copies"] - 1)]
        config = default_config_data()
        config["warehouse"] = {"backend": "duckdb", "path": str(lab.path)}
        del config["history"]
        if text:
            config["predictions"]["json_text_columns"] = ["critical_features", "features_snapshot"]
        lab.flush()
        results = run_cycle(parse_config(config), DateWindow(DAY, DAY), ONLY).results
    return {(r.check, r.feature): summarize(r) for r in results}


def summarize(r: CheckResult) -> dict[str, Any]:
    assert r.status in ("ok", "alert"), r.message
    out = {"affected": r.affected, "total": r.total}
    if not r.total:  # "no predictions for this date"
        return out
    fields = [
        "compared",
        "unparseable",
        "live_overrides",
        "missing_logged",
        "missing_in_store",
        "non_finite_in_store",
    ]
    if r.check == "missing_quality":
        fields = ["unparseable"]
    elif r.check == "quality_mismatch":
        fields = ["compared", "unparseable"]
    elif r.check != "feature_mismatch":
        fields = []
    out |= {f: r.details[f] for f in fields}
    if r.total:
        out["duplicate_prediction_rows"] = r.details.get("duplicate_prediction_rows", 0)
    return out


PROFILE = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.parametrize("text", [False, True], ids=["json-columns", "string-columns"])
def test_featmon_counts_what_a_plain_reading_of_each_check_counts(text: bool) -> None:
    @PROFILE
    @given(data=datasets(text=text))
    def differential(data: dict[str, Any]) -> None:
        actual = featmon_counts(data, text)
        expected = reference(data, text)
        if not expected:  # no predictions: every check says so, with zeros
            assert all(a["total"] == 0 and a["affected"] == 0 for a in actual.values())
            return
        for key, want in expected.items():
            got = actual[key]
            assert {k: got.get(k) for k in want} == want, (key, data)

    differential()


def test_the_reference_reads_the_seed_shapes_as_featmon_documents() -> None:
    """The reference itself, on hand-picked rows whose answers are stated."""
    nested = json.dumps({"feature_quality_score": 65.46, "points_avg_last_5": "NaN"})
    row = {"snapshot": None, "critical": json.dumps({"features_snapshot": nested})}
    assert location(row, CRIT, QUALITY_LOCATIONS[2][1], text=False) == (65.46, False)
    assert location(row, CRIT, ["$.features_snapshot", "$.points_avg_last_5"], False) == (
        None,
        True,
    )
    text_row = {"snapshot": "hello world", "critical": None}
    assert location(text_row, SNAP, ["$.feature_quality_score"], text=True) == (None, True)
    null_row = {"snapshot": json.dumps({"feature_quality_score": None}), "critical": None}
    assert location(null_row, SNAP, ["$.feature_quality_score"], text=False) == (None, False)
    assert cast("1e400") is None and cast(10**400) is None and cast("12.5") == 12.5
    assert cast(1e308) == 1e308 and cast("NaN") is None and cast(True) is None
