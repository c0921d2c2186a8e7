"""The next steps of an alert message: chosen per check and per date, with commands that
work as printed (the command line tests in tests/monitor/test_acting.py run them)."""

from __future__ import annotations

import datetime as dt
import json
import re
import shlex

import pytest

from alerts.model import Alert
from alerts.steps import StepContext, next_steps

TODAY = dt.date(2026, 11, 29)
CONFIG = "/etc/featmon/prod config.yaml"  # a space: the printed commands must quote it
COORDINATOR = "https://coordinator.example/api"
CTX = StepContext(
    config_path=CONFIG,
    coordinator_url=COORDINATOR,
    timezone="America/New_York",
    today=TODAY,
)


def alert(check: str, day: dt.date | None = TODAY, **kw: object) -> Alert:
    return Alert(
        kind=kw.pop("kind", "firing"),  # type: ignore[arg-type]
        check=check,
        game_date=day,
        feature=None,
        severity="critical",
        summary="...",
        **kw,  # type: ignore[arg-type]
    )


def commands(text: str) -> list[list[str]]:
    """Every `featmon ...` code span of the steps, as the shell would split it."""
    return [shlex.split(span) for span in re.findall(r"`(featmon [^`]*)`", text)]


def curl(text: str) -> list[str] | None:
    spans = re.findall(r"`(curl [^`]*)`", text)
    return shlex.split(spans[0]) if spans else None


@pytest.mark.parametrize("check", ["stale_predictions", "quality_mismatch", "feature_mismatch"])
@pytest.mark.parametrize("day", [TODAY, TODAY + dt.timedelta(days=1)])
def test_regeneration_is_offered_for_stale_and_mismatch_on_dates_not_yet_played(
    check: str, day: dt.date
) -> None:
    steps = next_steps(alert(check, day), CTX)
    request = curl(steps)
    assert request is not None
    assert f"{COORDINATOR}/regenerate-with-supersede" in request
    body = json.loads(request[request.index("-d") + 1])
    assert body["game_date"] == day.isoformat() and body["reason"] == f"featmon {check}"
    assert "X-API-Key: $COORDINATOR_API_KEY" in request  # the key stays a shell variable
    assert "{coordinator}" not in steps


@pytest.mark.parametrize("check", ["stale_predictions", "quality_mismatch", "feature_mismatch"])
def test_a_played_date_gets_no_regeneration(check: str) -> None:
    steps = next_steps(alert(check, TODAY - dt.timedelta(days=1)), CTX)
    assert curl(steps) is None and "regenerate-with-supersede" not in steps
    assert "games are played" in steps


@pytest.mark.parametrize("check", ["missing_features", "low_quality", "hit_rate_drop"])
def test_other_checks_get_no_regeneration(check: str) -> None:
    steps = next_steps(alert(check), CTX)
    assert curl(steps) is None and "regenerate" not in steps


def test_without_a_coordinator_the_fix_says_how_to_configure_it() -> None:
    ctx = StepContext(config_path=CONFIG, timezone="America/New_York", today=TODAY)
    steps = next_steps(alert("quality_mismatch"), ctx)
    assert curl(steps) is None and "{coordinator}" not in steps
    assert "`remediation.coordinator_url`" in steps


def test_missing_features_says_which_rows_and_how_to_backfill() -> None:
    examples = [
        {"prediction_id": "p1", "player_lookup": "jaylenbrunson", "predictions": 2},
        {"prediction_id": "p3", "player_lookup": "traebarnes", "predictions": 2},
    ]
    missing = alert("missing_features", examples=examples, details={"entities": 3})
    steps = next_steps(missing, CTX)
    assert "no store row for player_lookup jaylenbrunson, traebarnes (of 3)" in steps
    assert "Backfill" in steps
    recheck = ["featmon", "check", "--only", "missing_features", "--date", TODAY.isoformat()]
    assert any(c[:6] == recheck for c in commands(steps))


def test_every_command_names_the_config_file_of_the_run() -> None:
    for a in (alert("quality_mismatch"), alert("missing_features"), alert("hit_rate_drop")):
        found = commands(next_steps(a, CTX))
        assert found and all(c[-2:] == ["--config", CONFIG] for c in found), found
    default = commands(next_steps(alert("quality_mismatch"), StepContext()))
    assert default and all("--config" not in c for c in default)


def test_the_silence_command_names_the_alerts_fingerprint() -> None:
    a = alert("quality_mismatch")
    [silence] = [c for c in commands(next_steps(a, CTX)) if c[1] == "silence"]
    assert silence[:4] == ["featmon", "silence", "add", "--fingerprint"]
    assert silence[4] == a.fingerprint and "--for" in silence and "--reason" in silence


def test_a_cannot_run_alert_names_the_config_key_and_validate() -> None:
    error = alert(
        "low_quality",
        day=None,
        kind="error",
        details={"config_keys": ["predictions.quality[0].column"]},
    )
    steps = next_steps(error, CTX)
    assert "`predictions.quality[0].column`" in steps
    assert ["featmon", "validate", "--config", CONFIG] in commands(steps)
    assert "impact" not in steps and "regenerate" not in steps


def test_today_is_the_config_zones_date_when_the_message_is_decided() -> None:
    ctx = StepContext(coordinator_url=COORDINATOR, timezone="America/New_York")
    # 03:00 UTC on the 29th is still the 28th in New York: the 28th is not played yet.
    late_evening = ctx.at(dt.datetime(2026, 11, 29, 3, 0, tzinfo=dt.UTC))
    assert late_evening.today == dt.date(2026, 11, 28)
    assert curl(next_steps(alert("quality_mismatch", dt.date(2026, 11, 28)), late_evening))
    next_morning = ctx.at(dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC))
    assert curl(next_steps(alert("quality_mismatch", dt.date(2026, 11, 28)), next_morning)) is None
