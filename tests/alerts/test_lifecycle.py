"""The alert lifecycle rules, with a clock the test controls."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from alerts.lifecycle import AlertState, Transition, evaluate
from alerts.silences import Inhibit, Silence
from checks.base import CheckResult
from checks.durations import parse_duration

DAY = dt.date(2026, 2, 3)
WINDOW = (DAY - dt.timedelta(days=1), DAY + dt.timedelta(days=1))
T0 = dt.datetime(2026, 2, 3, 4, 0, tzinfo=dt.UTC)


def result(
    check: str = "quality_mismatch",
    status: str = "alert",
    affected: int = 102,
    day: dt.date | None = DAY,
    feature: str | None = None,
) -> CheckResult:
    return CheckResult(
        check=check,
        game_date=day,
        status=status,  # type: ignore[arg-type]
        severity="critical",
        total=147,
        affected=affected if status == "alert" else 0,
        feature=feature,
        message=f"{affected} affected",
    )


class Run:
    """Carries the state table between runs, as the state store will."""

    def __init__(self, **rules: Any) -> None:
        self.states: dict[str, AlertState] = {}
        self.rules = rules

    def __call__(
        self, results: list[CheckResult], at: dt.datetime, window: tuple[dt.date, dt.date] = WINDOW
    ) -> Transition:
        t = evaluate(self.states, results, at, window=window, **self.rules)
        self.states.update(t.states)
        return t


def kinds(t: Transition) -> list[str]:
    return [n.kind for n in t.notifications]


def test_fires_once_repeats_after_the_interval_and_resolves() -> None:
    run = Run(repeat_interval=dt.timedelta(hours=4))
    assert kinds(run([result()], T0)) == ["firing"]
    assert kinds(run([result()], T0 + dt.timedelta(minutes=5))) == []
    assert kinds(run([result()], T0 + dt.timedelta(hours=3, minutes=59))) == []
    assert kinds(run([result()], T0 + dt.timedelta(hours=4))) == ["repeat"]
    assert kinds(run([result()], T0 + dt.timedelta(hours=5))) == []
    t = run([result(status="ok")], T0 + dt.timedelta(hours=6))
    assert kinds(t) == ["resolved"]
    [state] = t.states.values()
    assert (state.status, state.resolved_reason) == ("resolved", "the check passes")
    assert state.started_at == T0
    # Firing again after a resolution is a new alert.
    assert kinds(run([result()], T0 + dt.timedelta(hours=7))) == ["firing"]


def test_growth_updates_the_message_without_resetting_the_repeat_clock() -> None:
    run = Run(repeat_interval=dt.timedelta(hours=4))
    run([result(affected=50)], T0)
    t = run([result(affected=102)], T0 + dt.timedelta(hours=1))
    assert kinds(t) == ["update"]
    assert t.notifications[0].state.notified_affected == 102
    assert kinds(run([result(affected=90)], T0 + dt.timedelta(hours=2))) == []  # shrinking: quiet
    assert kinds(run([result(affected=90)], T0 + dt.timedelta(hours=4))) == ["repeat"]


def test_an_error_never_resolves_and_raises_its_own_alert() -> None:
    run = Run()
    run([result()], T0)
    t = run([result(status="error", day=None)], T0 + dt.timedelta(minutes=5))
    assert kinds(t) == ["firing"]
    assert t.notifications[0].state.labels["kind"] == "error"
    firing = [s for s in run.states.values() if s.status == "firing"]
    assert len(firing) == 2  # the original alert is still firing
    t = run([result(status="ok")], T0 + dt.timedelta(minutes=10))
    assert sorted(kinds(t)) == ["resolved", "resolved"]
    reasons = sorted(n.state.resolved_reason for n in t.notifications)
    assert reasons == ["the check passes", "the check runs again"]


def test_a_check_that_did_not_run_keeps_its_alert_firing() -> None:
    run = Run()
    run([result("quality_mismatch")], T0)
    t = run([result("stale_predictions", status="ok")], T0 + dt.timedelta(minutes=5))
    assert kinds(t) == []
    assert all(s.status == "firing" for s in run.states.values())


def test_per_feature_alerts_resolve_per_feature() -> None:
    run = Run()
    run([result("feature_mismatch", feature="a"), result("feature_mismatch", feature="b")], T0)
    t = run(
        [
            result("feature_mismatch", status="ok", feature="a"),
            result("feature_mismatch", feature="b"),
        ],
        T0 + dt.timedelta(minutes=5),
    )
    assert kinds(t) == ["resolved"]
    assert t.notifications[0].state.labels["feature"] == "a"


def test_silence_mutes_until_it_expires_and_a_muted_alert_resolves_quietly() -> None:
    silence = Silence(
        {"check": "quality_mismatch", "game_date": DAY.isoformat()},
        until=T0 + dt.timedelta(hours=1),
        reason="regeneration running",
    )
    run = Run(silences=[silence])
    t = run([result()], T0)
    assert kinds(t) == []
    assert next(iter(t.states.values())).muted_by == "silenced: regeneration running"
    assert kinds(run([result()], T0 + dt.timedelta(hours=1))) == ["firing"]  # expired
    run2 = Run(silences=[silence])
    run2([result()], T0)
    assert kinds(run2([result(status="ok")], T0 + dt.timedelta(minutes=5))) == []


def test_inhibition_on_the_same_game_date_only() -> None:
    run = Run(inhibits=[Inhibit(source="missing_features", target="stale_predictions")])
    t = run(
        [
            result("missing_features"),
            result("stale_predictions"),
            result("stale_predictions", day=DAY + dt.timedelta(days=1)),
        ],
        T0,
    )
    announced = sorted(
        (n.state.labels["check"], n.state.labels["game_date"]) for n in t.notifications
    )
    assert announced == [
        ("missing_features", DAY.isoformat()),
        ("stale_predictions", (DAY + dt.timedelta(days=1)).isoformat()),
    ]
    muted = [s for s in t.states.values() if s.muted_by]
    assert [s.muted_by for s in muted] == ["inhibited by missing_features"]


def test_alerts_for_dates_that_left_the_window_resolve() -> None:
    run = Run()
    run([result()], T0)
    later = (DAY + dt.timedelta(days=1), DAY + dt.timedelta(days=3))
    t = run([result(status="ok", day=DAY + dt.timedelta(days=2))], T0 + dt.timedelta(days=1), later)
    assert kinds(t) == ["resolved"]
    assert t.notifications[0].state.resolved_reason == "the game date left the checked window"


def test_fingerprint_is_stable_and_distinguishes_labels() -> None:
    a = Run()([result()], T0).notifications[0].state.fingerprint
    b = Run()([result()], T0 + dt.timedelta(days=1)).notifications[0].state.fingerprint
    c = Run()([result(day=DAY + dt.timedelta(days=1))], T0).notifications[0].state.fingerprint
    assert a == b != c


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", dt.timedelta(seconds=30)),
        ("5m", dt.timedelta(minutes=5)),
        ("4h", dt.timedelta(hours=4)),
        ("1d", dt.timedelta(days=1)),
    ],
)
def test_parse_duration(text: str, expected: dt.timedelta) -> None:
    assert parse_duration(text) == expected


def test_parse_duration_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("4 hours")
