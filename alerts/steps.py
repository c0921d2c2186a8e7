"""The next steps of an alert message: what on-call can do about it, as commands that work
as printed (each repeats the run's `--config`), chosen per check and per date. Regenerating
a date's predictions is offered only where it fixes something (stale or mismatched features)
and only for dates not yet played; a check that cannot run names the config key to fix.
"""

from __future__ import annotations

import datetime as dt
import json
import shlex
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from alerts.content import MAX_EXAMPLES, display_name, entity_of, where
from alerts.model import Alert

# The checks whose alerts a regeneration of the date fixes: their predictions were built
# from features the store no longer holds. Regenerating replaces them with fresh ones.
REGENERATE = ("stale_predictions", "quality_mismatch", "feature_mismatch")


@dataclass(frozen=True)
class StepContext:
    """What the next steps need from the run, without the config: the config file the run
    used (every printed command repeats it, so it works as printed), the coordinator that
    regenerates predictions, and today's date in the config's time zone (a date before it
    is played: regenerating it changes nothing anyone was served)."""

    config_path: str | None = None
    coordinator_url: str | None = None
    timezone: str = "UTC"
    today: dt.date | None = None
    # `remediation.mode` and the guards the message can judge from the alert alone (which
    # checks may trigger, the minimum affected share); the interval is the sender's.
    mode: str = "dry_run"
    regenerate_checks: tuple[str, ...] = REGENERATE
    min_affected_share: float = 0.0

    def at(self, moment: dt.datetime) -> StepContext:
        """The context for a message decided at `moment` (its "today")."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        return replace(self, today=moment.astimezone(ZoneInfo(self.timezone)).date())

    def command(self, *args: str) -> str:
        """`featmon ARGS [--config PATH]`, quoted for a POSIX shell."""
        words = ["featmon", *args]
        if self.config_path:
            words += ["--config", self.config_path]
        return shlex.join(words)


def next_steps(alert: Alert, ctx: StepContext | None = None) -> str:
    """What on-call can do about this alert, as commands that work as printed: chosen per
    check (regeneration only where it helps) and per date (only for dates not yet played)."""
    ctx = ctx or StepContext()
    if alert.kind == "error":
        return "\n".join(_error_steps(alert, ctx))
    day = where(alert.game_date)
    dated = ["--date", day] if alert.game_date else []
    steps = [
        f"• Look: `{ctx.command('sql', alert.check, *dated)}` (paste into the BigQuery console)"
    ]
    if alert.check == "missing_features":
        steps += _missing_features_steps(alert, ctx, dated)
    elif alert.check == "hit_rate_drop":
        steps.append(
            f"• Cost: `{ctx.command('impact', *dated)}` (hit rates of affected and unaffected "
            "predictions: is the drop the features' fault?)"
        )
    else:
        steps.append(f"• Size it: `{ctx.command('impact', *dated)}`")
    if alert.game_date:
        story = f"`{ctx.command('timeline', *dated, '--png', 'timeline.png')}`"
        if alert.check in REGENERATE:
            story += f", `{ctx.command('explain', *dated)}`"
        steps.append(f"• Story: {story}")
    if alert.check in REGENERATE and alert.game_date:
        steps.append(_regenerate_step(alert, ctx, alert.game_date))
    reason = f"investigating {display_name(alert.check, alert.feature, sep='')} {day}"
    mute = ctx.command(
        "silence", "add", "--fingerprint", alert.fingerprint, "--for", "2h", "--reason", reason
    )
    steps.append(f"• Mute: `{mute}`")
    return "\n".join(steps)


def _regenerate_step(alert: Alert, ctx: StepContext, day: dt.date) -> str:
    if ctx.today is not None and day < ctx.today:
        return (
            f"• Fix: none possible: {day}'s games are played, regenerating changes nothing "
            "that was served (the graded outcomes show what it cost)"
        )
    body = json.dumps(regeneration_body(day, alert.check, alert.fingerprint))
    if not ctx.coordinator_url:
        return (
            "• Fix: regenerate the date's predictions with the coordinator's "
            "`POST /regenerate-with-supersede` (set `remediation.coordinator_url` in the "
            "config to get the exact request here)"
        )
    url = ctx.coordinator_url.rstrip("/") + "/regenerate-with-supersede"
    curl = shlex.join(
        ["curl", "-X", "POST", url, "-H", "Content-Type: application/json", "-d", body]
    )
    # The key stays a shell variable: it never appears in a message.
    request = f'`{curl} -H "X-API-Key: $COORDINATOR_API_KEY"`'
    refused = _refused(alert, ctx)
    if ctx.mode == "off" or refused:
        why = f" (featmon would not send it: {refused})" if refused and ctx.mode != "off" else ""
        return f"• Fix: {request} (supersedes all of that date's predictions){why}"
    if ctx.mode == "auto":
        return (
            f"• Fix: featmon sends {request} (`remediation.mode: auto`, once per date per "
            "`min_interval`; the outcome follows in this thread)"
        )
    return (
        f"• Fix: dry run: featmon would send {request} (supersedes all of that date's "
        "predictions; `remediation.mode: auto` sends it)"
    )


def regeneration_body(day: dt.date, check: str, fingerprint: str) -> dict[str, object]:
    """The coordinator request's body for the alert it is about: the same in a message's
    dry run, `featmon remediate` and an automatic request."""
    return {
        "game_date": day.isoformat(),
        "reason": f"featmon {check}",
        "metadata": {"check": check, "fingerprint": fingerprint},
    }


def _refused(alert: Alert, ctx: StepContext) -> str:
    """Why the alert alone fails a regeneration guard ("" when it passes them)."""
    if alert.check not in ctx.regenerate_checks:
        return f"{alert.check} is not in `remediation.checks`"
    share = alert.affected / alert.total if alert.total else 0.0
    if share < ctx.min_affected_share:
        return (
            f"{share:.0%} of the date's predictions affected, under "
            f"`remediation.min_affected_share` {ctx.min_affected_share:.0%}"
        )
    return ""


def _missing_features_steps(alert: Alert, ctx: StepContext, dated: list[str]) -> list[str]:
    entity = entity_of(alert.examples[0]) if alert.examples else "prediction_id"
    shown = [str(r.get(entity)) for r in alert.examples[:MAX_EXAMPLES]]
    entities = alert.details.get("entities")
    more = f" (of {entities})" if isinstance(entities, int) and entities > len(shown) else ""
    steps = []
    if alert.details.get("whole_date_missing"):
        steps.append(
            f"• Which rows: the store has no partition for {where(alert.game_date)} at all: "
            "the feature-store write for that date did not run or wrote elsewhere"
        )
    elif shown:
        steps.append(f"• Which rows: no store row for {entity} {', '.join(shown)}{more}")
    steps.append(
        f"• Backfill: rerun the feature-store write for {where(alert.game_date)} (it adds "
        "the missing rows; predictions already made are not changed by it), then "
        f"`{ctx.command('check', '--only', 'missing_features', *dated)}`"
    )
    return steps


def _error_steps(alert: Alert, ctx: StepContext) -> list[str]:
    """A check that cannot run is almost always the config naming something the warehouse
    does not have: name the config key, and the command that checks the config."""
    keys = [str(k) for k in alert.details.get("config_keys") or []]
    steps = []
    if keys:
        steps.append(f"• Config: {', '.join(f'`{k}`' for k in keys)} (what the error names)")
    steps.append(f"• Validate: `{ctx.command('validate')}`")
    steps.append(
        f"• Retry: `{ctx.command('check', '--only', alert.check, '--dry-run')}` "
        "(runs the check alone, changes nothing)"
    )
    return steps
