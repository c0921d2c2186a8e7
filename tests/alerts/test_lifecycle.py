"""The alert lifecycle rules, with a clock the test controls."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from alerts.lifecycle import AlertState, RunScope, Transition, evaluate
from alerts.silences import Inhibit, Silence
from checks.base import CheckResult
from checks.durations import parse_duration
from checks.registry import CHECKS

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


def scheduled(
    window: tuple[dt.date, dt.date] = WINDOW, checks: tuple[str, ...] = tuple(CHECKS)
) -> RunScope:
    """A scheduled run (every check by default, as `featmon check` with no flags; a
    daemon cycle names its group's) over the configured window."""
    return RunScope(checks=frozenset(checks), window=window, configured_window=True, scheduled=True)


def narrow(
    window: tuple[dt.date, dt.date] = WINDOW,
    checks: tuple[str, ...] = tuple(CHECKS),
    configured_window: bool = False,
) -> RunScope:
    """An engineer's run: `--date`/`--from/--to` (another window), or `--only` (the
    configured window, some checks)."""
    return RunScope(
        checks=frozenset(checks),
        window=window,
        configured_window=configured_window,
        scheduled=False,
    )


class Run:
    """Carries the state table between runs, as the state store will."""

    def __init__(self, **rules: Any) -> None:
        self.states: dict[str, AlertState] = {}
        self.rules = rules

    def __call__(
        self,
        results: list[CheckResult],
        at: dt.datetime,
        window: tuple[dt.date, dt.date] = WINDOW,
        scope: RunScope | None = None,
    ) -> Transition:
        scope = scope or scheduled(window)
        t = evaluate(self.states, results, at, scope=scope, **self.rules)
        self.states.update(t.states)
        return t

    def firing(self) -> list[tuple[str, str]]:
        """(check, game date) of every alert still firing."""
        return sorted(
            (s.labels["check"], s.labels["game_date"])
            for s in self.states.values()
            if s.status == "firing"
        )


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


# Runs change only what they looked at ---------------------------------------------------

NEXT = DAY + dt.timedelta(days=1)
LATER = T0 + dt.timedelta(minutes=30)


@pytest.mark.parametrize(
    "scope",
    [
        narrow((NEXT, NEXT), ("stale_predictions",)),  # --only stale_predictions --date NEXT
        narrow((NEXT, NEXT)),  # --date NEXT
        narrow((DAY - dt.timedelta(days=5), DAY - dt.timedelta(days=1))),  # --from/--to before
    ],
    ids=["only-and-date", "date", "range"],
)
def test_a_narrow_window_never_resolves_the_dates_it_skipped(scope: RunScope) -> None:
    run = Run()
    run([result()], T0)
    day = scope.window[0]
    t = run(
        [result(status="ok", day=day), result("stale_predictions", "ok", day=day)],
        LATER,
        scope=scope,
    )
    assert kinds(t) == [] and run.firing() == [("quality_mismatch", DAY.isoformat())]


def test_only_left_the_window_for_checks_the_run_ran() -> None:
    """The next day the configured window has moved past DAY. A run of another check over
    it (`--only`, or a daemon cycle of another schedule group) leaves DAY's alert alone."""
    run = Run()
    run([result()], T0)
    moved = (NEXT, NEXT)
    others = [result("stale_predictions", "ok", day=NEXT)]
    assert kinds(run(others, LATER, scope=narrow(moved, ("stale_predictions",), True))) == []
    assert kinds(run(others, LATER, scope=scheduled(moved, ("stale_predictions",)))) == []
    assert run.firing() == [("quality_mismatch", DAY.isoformat())]
    t = run(
        [result(status="ok", day=NEXT)], LATER, scope=narrow(moved, ("quality_mismatch",), True)
    )
    assert [n.state.resolved_reason for n in t.notifications] == [
        "the game date left the checked window"
    ]


def test_a_daemon_cycle_resolves_left_the_window_for_its_own_checks_only() -> None:
    """Per-check schedules: each cycle is a scheduled run of its group over the configured
    window, and resolves the dates that left it for its own checks, so every date-based
    alert still resolves, each by its own check's cycle."""
    run = Run()
    run([result("quality_mismatch"), result("stale_predictions")], T0)
    moved = (NEXT, NEXT)
    t = run(
        [result("stale_predictions", "ok", day=NEXT)],
        LATER,
        scope=scheduled(moved, ("stale_predictions",)),
    )
    assert [(n.kind, n.state.labels["check"]) for n in t.notifications] == [
        ("resolved", "stale_predictions")
    ]
    assert run.firing() == [("quality_mismatch", DAY.isoformat())]
    later = LATER + dt.timedelta(minutes=5)
    t = run([result(status="ok", day=NEXT)], later, scope=scheduled(moved, ("quality_mismatch",)))
    assert [(n.kind, n.state.labels["check"]) for n in t.notifications] == [
        ("resolved", "quality_mismatch")
    ]
    assert t.notifications[0].state.resolved_reason == "the game date left the checked window"
    assert run.firing() == []


def test_a_narrow_run_resolves_what_it_evaluated_and_found_passing() -> None:
    """`--only quality_mismatch --only missing_features --date DAY` looked at DAY's
    quality_mismatch (passing now) and ran missing_features (which could not run before):
    it resolves both, and leaves NEXT's alert, which it did not look at, firing."""
    run = Run()
    run([result(), result("missing_features", "error", day=None), result(day=NEXT)], T0)
    only = narrow((DAY, DAY), ("quality_mismatch", "missing_features"))
    t = run([result(status="ok"), result("missing_features", "ok")], LATER, scope=only)
    reasons = sorted(n.state.resolved_reason for n in t.notifications)
    assert reasons == ["the check passes", "the check runs again"]
    assert run.firing() == [("quality_mismatch", NEXT.isoformat())]


def test_a_narrow_run_never_rebroadcasts_and_leaves_the_schedules_clock_alone() -> None:
    """A narrow run may fire a new alert (once, as always). One that finds a firing alert
    still failing neither repeats it nor posts its growth; it refreshes what it saw. The
    schedule then posts the growth, and repeats on its own clock, as if the narrow runs had
    not happened."""
    run = Run(repeat_interval=dt.timedelta(hours=4))
    own = narrow((DAY, DAY), ("quality_mismatch",))
    assert kinds(run([result(affected=50)], T0, scope=own)) == ["firing"]  # new: it may fire
    assert kinds(run([result(affected=50)], LATER, scope=own)) == []  # once
    due = T0 + dt.timedelta(hours=4)
    assert kinds(run([result(affected=50)], due, scope=own)) == []  # repeat due: not here
    t = run([result(affected=102)], due + dt.timedelta(minutes=1), scope=own)
    assert kinds(t) == []  # grown: not here either
    [state] = t.states.values()
    assert (state.affected, state.last_seen_at) == (102, due + dt.timedelta(minutes=1))
    assert (state.notified_affected, state.last_notified_at) == (50, T0)
    # The schedule's first run posts the growth, and the group's repeat that is due: the
    # two go out as one edit and one reply (alerts/dispatch.py), then nothing until the next.
    grown = run([result(affected=102)], due + dt.timedelta(minutes=2))
    assert kinds(grown) == ["update", "repeat"]
    assert kinds(run([result(affected=102)], due + dt.timedelta(minutes=3))) == []


def test_a_narrow_run_does_not_announce_an_alert_the_schedule_keeps_muted() -> None:
    """Inhibition needs the source check in the same run: `--only` the target would see
    the alert unmuted, and must not announce what the schedule keeps quiet."""
    run = Run(inhibits=[Inhibit(source="missing_features", target="stale_predictions")])
    run([result("missing_features"), result("stale_predictions")], T0)
    only = narrow(WINDOW, ("stale_predictions",), configured_window=True)
    t = run([result("stale_predictions")], LATER, scope=only)
    assert kinds(t) == []
    [state] = t.states.values()
    assert state.muted_by == "inhibited by missing_features"


def test_a_scheduled_run_checks_the_configured_window() -> None:
    with pytest.raises(ValueError, match="configured window"):
        RunScope(checks=frozenset(), window=WINDOW, configured_window=False, scheduled=True)


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


def groups(t: Transition) -> dict[str, str]:
    """check[/feature] -> group id of each alert the transition changed."""
    return {
        s.labels["check"] + (f"/{s.labels['feature']}" if s.labels["feature"] else ""): s.group_id
        for s in t.states.values()
    }


def test_alerts_of_one_date_share_a_group_until_its_last_resolves() -> None:
    run = Run()
    first = groups(run([result(), result("low_quality", day=NEXT)], T0))
    assert first["quality_mismatch"] != first["low_quality"]  # two dates: two groups
    joined = groups(run([result(), result("missing_features")], T0 + dt.timedelta(minutes=5)))
    assert joined["missing_features"] == first["quality_mismatch"]  # joins the open group
    run([result(status="ok"), result("missing_features", "ok")], T0 + dt.timedelta(hours=1))
    again = groups(run([result()], T0 + dt.timedelta(hours=2)))
    # The group resolved with its last alert: the next incident on that date is a new one.
    assert again["quality_mismatch"] not in (first["quality_mismatch"], "")


def test_cannot_run_errors_are_grouped_by_their_cause() -> None:
    def error(check: str, cause: str) -> CheckResult:
        return CheckResult(
            check=check,
            game_date=None,
            status="error",
            severity="warning",
            message=f"featmon cannot run check {check}: {cause}",
        )

    column = 'Binder Error: Referenced column "renamed_quality" not found in FROM clause!'
    t = Run()([error(c, column) for c in CHECKS] + [error("x", "Permission denied")], T0)
    by_check = groups(t)
    assert len({by_check[c] for c in CHECKS}) == 1
    assert by_check["x"] != by_check["quality_mismatch"]


def test_a_group_repeats_once_per_interval_however_many_alerts_it_has() -> None:
    run = Run(repeat_interval=dt.timedelta(hours=4))
    run([result()], T0)
    run([result(), result("low_quality")], T0 + dt.timedelta(hours=1))  # joins: clock reset
    both = [result(), result("low_quality")]
    assert kinds(run(both, T0 + dt.timedelta(hours=4))) == []  # the join was 3 h ago
    assert kinds(run(both, T0 + dt.timedelta(hours=5))) == ["repeat", "repeat"]  # together
    assert kinds(run(both, T0 + dt.timedelta(hours=6))) == []
    assert kinds(run(both, T0 + dt.timedelta(hours=8, minutes=59))) == []
    assert kinds(run(both, T0 + dt.timedelta(hours=9))) == ["repeat", "repeat"]


def test_a_repeat_resets_the_clock_of_group_members_this_run_did_not_check() -> None:
    """A daemon cycle of one schedule group repeats the date's group: the member left to
    another schedule group's checks is not repeated again by that group's next cycle."""
    run = Run(repeat_interval=dt.timedelta(hours=4))
    run([result(), result("low_quality")], T0)
    due = T0 + dt.timedelta(hours=4)
    t = run([result()], due, scope=scheduled(checks=("quality_mismatch",)))
    assert kinds(t) == ["repeat"]
    assert {s.labels["check"]: s.last_notified_at for s in t.states.values()} == {
        "quality_mismatch": due,
        "low_quality": due,
    }
    later = run([result("low_quality")], due + dt.timedelta(minutes=5), scope=scheduled())
    assert kinds(later) == []
