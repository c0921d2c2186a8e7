"""What every transport says about an alert, kept in one place: its name and date, the
example rows, the next steps on-call can take, and the labels and annotations an
Alertmanager-style receiver reads. Sinks decide only the layout (Block Kit, JSON, a line).
"""

from __future__ import annotations

import datetime as dt
import json
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from zoneinfo import ZoneInfo

from alerts.lifecycle import Notification
from alerts.model import Alert

MAX_EXAMPLES = 5


def iso_utc(moment: dt.datetime) -> str:
    """A time as machines read it (JSON, receivers): ISO 8601 in UTC with `Z`."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def where(game_date: dt.date | None) -> str:
    return game_date.isoformat() if game_date else "all dates"


def display_name(check: str, feature: str | None, sep: str = " ") -> str:
    """`check [feature]` (messages) or, with sep="", `check[feature]` (log lines)."""
    return check + (f"{sep}[{feature}]" if feature else "")


def _clock(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%m-%d %H:%M:%SZ")
    return "-" if value is None else str(value)


def _num(value: Any) -> str:
    return "-" if value is None else f"{float(value):g}"


# A column of an example table: header, width, right-aligned, and the cell of a row.
_Column = tuple[str, int, bool, Callable[[Mapping[str, Any]], str]]
_NOT_ENTITY = {
    "prediction_id",
    "made_at",
    "written_at",
    "logged_quality",
    "store_quality",
    "logged_value",
    "store_value",
    "lag_s",
    "predictions",
    "predicted",
    "line",
    "high_edge",
}


def _columns(alert: Alert, first: Mapping[str, Any]) -> list[_Column]:
    """The example table's columns for this check: its rows say what it found."""
    entity = next((k for k in first if k not in _NOT_ENTITY), "prediction_id")
    who: _Column = (entity, 22, False, lambda r: str(r.get(entity))[:22])
    made: _Column = ("made at", 15, False, lambda r: _clock(r.get("made_at")))
    if alert.check == "hit_rate_drop":  # graded misses: the prediction against its line
        return [
            who,
            made,
            ("predicted", 9, True, lambda r: _num(r.get("predicted"))),
            ("line", 8, True, lambda r: _num(r.get("line"))),
            ("high edge", 9, True, lambda r: "yes" if r.get("high_edge") else "no"),
        ]
    if alert.check == "missing_features":  # one row per entity with no store row
        return [
            who,
            ("predictions", 11, True, lambda r: str(r.get("predictions", 1))),
            made,
            ("logged", 8, True, lambda r: _num(r.get("logged_quality"))),
        ]
    value = "logged_value" if "logged_value" in first else "logged_quality"
    store = "store_value" if "store_value" in first else "store_quality"
    return [
        who,
        made,
        ("written at", 15, False, lambda r: _clock(r.get("written_at"))),
        ("logged", 8, True, lambda r: _num(r.get(value))),
        ("store", 8, True, lambda r: _num(r.get(store))),
    ]


def examples_table(alert: Alert) -> str:
    """Up to five rows as a monospace table, in the columns that show what the check found
    (made and written times and logged vs store values; a graded miss's line)."""
    rows = alert.examples[:MAX_EXAMPLES]
    if not rows:
        return ""
    columns = _columns(alert, rows[0])

    def line(cells: list[str]) -> str:
        return " ".join(
            f"{cell:>{width}}" if right else f"{cell:<{width}}"
            for cell, (_, width, right, _) in zip(cells, columns, strict=True)
        ).rstrip()

    lines = [line([header for header, *_ in columns])]
    lines += [line([cell(r) for *_, cell in columns]) for r in rows]
    return "```\n" + "\n".join(lines) + "\n```"


def headline(alert: Alert) -> str:
    """The bold line of a firing alert: how much of the date it touched, in the check's
    own unit. hit_rate_drop counts graded outcomes, not affected predictions: a loss is
    not a prediction a feature problem touched."""
    if alert.check == "hit_rate_drop":
        d = alert.details
        hit, expected = d.get("hit_rate"), d.get("expected_hit_rate")
        rate = "n/a" if hit is None else f"{float(hit):.1f}%"
        return (
            f"*hit rate {rate} vs expected {float(expected or 0):g}% "
            f"over {d.get('graded', alert.total)} graded*"
        )
    return f"*{alert.affected} / {alert.total} predictions ({100 * alert.affected_ratio:.1f}%)*"


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
    body = json.dumps(
        {
            "game_date": day.isoformat(),
            "reason": f"featmon {alert.check}",
            "metadata": {"check": alert.check, "fingerprint": alert.fingerprint},
        }
    )
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
    return (
        f'• Fix: `{curl} -H "X-API-Key: $COORDINATOR_API_KEY"` '
        "(supersedes all of that date's predictions)"
    )


def _missing_features_steps(alert: Alert, ctx: StepContext, dated: list[str]) -> list[str]:
    entity = next(
        (k for r in alert.examples[:1] for k in r if k not in _NOT_ENTITY), "prediction_id"
    )
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


def labels_of(labels: Mapping[str, str]) -> dict[str, str]:
    """An alert's identity as receiver labels: `alertname` first, empty values left out."""
    out = {"alertname": labels["check"]}
    out.update({k: v for k, v in labels.items() if v})
    return out


def annotations_of(note: Notification, runbook_url: str | None) -> dict[str, str]:
    """What a receiver shows beside the labels (Alertmanager annotations are strings)."""
    state, alert = note.state, note.alert
    out: dict[str, str] = {}
    if alert is not None:
        out["summary"] = alert.summary
        if alert.meaning:
            out["description"] = alert.meaning
        used = alert.details.get("attribution_summary")
        if used:
            out["version_used"] = str(used)
        out["affected"] = str(alert.affected)
        out["total"] = str(alert.total)
    else:
        out["summary"] = state.summary
        out["resolution"] = state.resolved_reason or "no longer firing"
        out["affected"] = str(state.notified_affected)
        out["total"] = str(state.total)
        if note.outcome:
            out["outcome"] = note.outcome
    if runbook_url:
        out["runbook_url"] = runbook_url
    return out
