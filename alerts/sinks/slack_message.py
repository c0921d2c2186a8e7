"""What on-call reads in Slack: one Block Kit message per group of alerts, with a plain-text
fallback, and the thread replies that say what changed.

The message: a header summarising the group (worst severity, what it is about, how many
alerts), then its alerts, firing first, worst first (severity, then affected share): each
with its numbers, what they mean, up to five example rows and the next steps; resolved
ones in a line. Kept apart from delivery so the wording can be tested and previewed on the
console without a workspace.

Slack's limits hold for any data: every value from the data is escaped for mrkdwn (`&`,
`<`, `>`; so a logged `<!channel>` is text, not a ping), every text block is cut to 3,000
characters with an ellipsis, the header to 150, and a big group to 50 blocks, the alerts
that do not fit summarised in one line each ("and N more").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from alerts.content import (
    MAX_EXAMPLES,
    by_dimension,
    display_name,
    examples_table,
    headline,
    where,
)
from alerts.grouping import is_firing, ordered, share, worst_severity
from alerts.lifecycle import AlertState, Notification
from alerts.model import Alert
from alerts.steps import StepContext, next_steps

__all__ = [
    "MAX_EXAMPLES",
    "SlackMessage",
    "as_text",
    "change_reply",
    "escape",
    "group_message",
    "preview_group",
]

SEVERITY_ICON = {
    "critical": ":rotating_light:",
    "warning": ":warning:",
    "info": ":information_source:",
}
RESOLVED_ICON = ":white_check_mark:"
MAX_TEXT = 3000  # a section's text
MAX_HEADER = 150  # a header's plain text
MAX_BLOCKS = 50  # a message's blocks
ELLIPSIS = "…"


@dataclass(frozen=True)
class SlackMessage:
    text: str  # the fallback: notifications, screen readers, clients without blocks
    blocks: list[dict[str, Any]]


def escape(text: str) -> str:
    """Slack's mrkdwn escaping: data is shown as written, never as a mention or a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cut(text: str, limit: int = MAX_TEXT) -> str:
    """`text` within Slack's limit, an ellipsis marking the cut (a code block stays closed)."""
    if len(text) <= limit:
        return text
    if text.endswith("```"):
        return text[: limit - 4 - len(ELLIPSIS)] + ELLIPSIS + "\n```"
    return text[: limit - len(ELLIPSIS)] + ELLIPSIS


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": cut(text)}}


def header(text: str) -> dict[str, Any]:
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": cut(text, MAX_HEADER), "emoji": True},
    }


def _name(labels: Mapping[str, str]) -> str:
    return display_name(labels["check"], labels.get("feature") or None)


def _is_error(note: Notification) -> bool:
    return note.state.labels.get("kind") == "error"


def title_of(note: Notification) -> str:
    """One alert's title line: severity, check (and feature), date; or "cannot run"."""
    labels = note.state.labels
    if not is_firing(note):
        if _is_error(note):
            return f"RESOLVED: featmon cannot run {labels['check']}"
        return f"RESOLVED {_name(labels)} · {labels.get('game_date') or where(None)}"
    severity = labels["severity"].upper()
    if _is_error(note):
        return f"{severity}: featmon cannot run {labels['check']}"
    return f"{severity} {_name(labels)} · {labels.get('game_date') or where(None)}"


def resolution(state: AlertState) -> str:
    """Why it resolved, and what it was (a check that could not run affected nothing)."""
    reason = state.resolved_reason or "no longer firing"
    if state.labels.get("kind") == "error":
        return f"Resolved: {reason}."
    return (
        f"Resolved: {reason} (was {state.notified_affected} / {state.total} predictions affected)."
    )


def outcomes(notes: Sequence[Notification]) -> list[dict[str, Any]]:
    """What the resolved dates' predictions cost, once graded: once per date, however many
    of its alerts carry it."""
    seen = list(dict.fromkeys(n.outcome for n in notes if n.kind == "resolved" and n.outcome))
    return [section(f"*Outcome:* {escape(text)}") for text in seen]


def _numbers(alert: Alert) -> str:
    if alert.kind == "error":
        return escape(alert.summary)
    text = f"{headline(alert)}\n{escape(alert.summary)}"
    per_value = by_dimension(alert)
    if per_value:
        names = ", ".join(str(n) for n in alert.details.get("dimensions") or [])
        text += f"\n*By {escape(names)}:* {escape(per_value)}"
    if alert.meaning:
        text += f"\n_{escape(alert.meaning)}_"
    used = alert.details.get("attribution_summary")
    if used:
        text += f"\n*Version used:* {escape(str(used))}"
    return text


def _steps(
    alert: Alert, runbook_url: str | None, shown: set[str], steps: StepContext | None
) -> str:
    """The alert's next steps, less those an alert above it in the group already shows
    (the date's impact and story are the same for all of them), and its fingerprint."""
    lines = escape(next_steps(alert, steps)).splitlines()
    if runbook_url:
        lines.append(f"• Runbook: <{escape(runbook_url)}|what to do>")
    fresh = [line for line in lines if line not in shown]
    shown.update(fresh)
    return "\n".join([*fresh, f"featmon · fingerprint `{alert.fingerprint}`"])


def _alert_blocks(
    note: Notification,
    runbook_url: str | None,
    shown: set[str],
    steps: StepContext | None,
    zone: dt.tzinfo,
) -> list[dict[str, Any]]:
    """A firing alert in full (numbers, examples, next steps), a resolved one in a line."""
    icon = SEVERITY_ICON.get(note.state.labels.get("severity", ""), ":warning:")
    alert = note.alert
    if not is_firing(note) or alert is None:
        return [
            section(
                f"{RESOLVED_ICON} *{escape(title_of(note))}*\n{resolution(note.state)}"
                f"\nfeatmon · fingerprint `{note.state.fingerprint}`"
            )
        ]
    blocks = [section(f"{icon} *{escape(title_of(note))}*\n{_numbers(alert)}")]
    table = examples_table(alert, zone)
    if table:
        blocks.append(section(escape(table)))
    blocks.append(section(_steps(alert, runbook_url, shown, steps)))
    return blocks


def group_title(members: Sequence[Notification], labels: Mapping[str, str] | None = None) -> str:
    """What the group is about, for its header: its labels (the date), or "cannot run"."""
    if members and all(_is_error(n) for n in members):
        checks = sorted({n.state.labels["check"] for n in members})
        return "featmon cannot run " + (checks[0] if len(checks) == 1 else f"{len(checks)} checks")
    shown = [v for k, v in (labels or {}).items() if v and k not in ("kind", "cause")]
    if shown:
        return " · ".join(shown)
    days = sorted({n.state.labels.get("game_date") or where(None) for n in members})
    return " · ".join(days) or where(None)


def _counts(members: Sequence[Notification]) -> str:
    firing = [n for n in members if is_firing(n)]
    by_severity = [
        f"{sum(n.state.labels.get('severity') == s for n in firing)} {s}"
        for s in ("critical", "warning", "info")
        if any(n.state.labels.get("severity") == s for n in firing)
    ]
    parts = []
    if firing:
        parts.append(f"{len(firing)} firing")
        if len(firing) > 1:
            parts[0] += f" ({', '.join(by_severity)})"
    if len(members) > len(firing):
        parts.append(f"{len(members) - len(firing)} resolved")
    return ", ".join(parts)


def _more(rest: Sequence[Notification]) -> dict[str, Any]:
    lines = [f"…and {len(rest)} more:"]
    for note in rest:
        line = f"• {escape(title_of(note))}"
        if is_firing(note) and not _is_error(note):
            line += f" ({100 * share(note):.1f}%)"
        lines.append(line)
    return section("\n".join(lines))


def group_message(
    members: Sequence[Notification],
    runbook_url: str | None = None,
    labels: Mapping[str, str] | None = None,
    steps: StepContext | None = None,
    *,
    zone: dt.tzinfo,
) -> SlackMessage:
    """The group's message: its header, then each alert, worst first, within 50 blocks.
    `steps`: the run's context for next steps; `zone`: the config's, which every time in
    the message is shown in."""
    members = ordered(members)
    firing = [n for n in members if is_firing(n)]
    title = group_title(members, labels)
    icon = SEVERITY_ICON.get(worst_severity(members), ":warning:") if firing else RESOLVED_ICON
    if len(members) == 1:
        top = f"{icon} {title_of(members[0])}"
    elif firing:
        top = f"{icon} {worst_severity(members).upper()} {title} · {len(firing)} firing"
    else:
        top = f"{icon} RESOLVED {title} · {len(members)} alerts"
    blocks: list[dict[str, Any]] = [header(top)]
    if len(members) > 1:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": _counts(members)}]}
        )
    shown: set[str] = set()
    blocks += outcomes(members)[:5]
    for i, note in enumerate(members):
        more = _alert_blocks(note, runbook_url, shown, steps, zone)
        divider = [{"type": "divider"}] if len(blocks) > 2 else []
        # Room for these blocks and, if any alert is left after them, the "and N more".
        if len(blocks) + len(divider) + len(more) + (i < len(members) - 1) > MAX_BLOCKS:
            blocks.append(_more(members[i:]))
            break
        blocks += divider + more
    return SlackMessage(text=escape(_fallback(members, title)), blocks=blocks)


def _plain(note: Notification) -> str:
    """An alert named in plain text: `check [feature] date`, or "featmon cannot run X"."""
    labels = note.state.labels
    if _is_error(note):
        return f"featmon cannot run {labels['check']}"
    return f"{_name(labels)} {labels.get('game_date') or where(None)}"


def _fallback(members: Sequence[Notification], title: str) -> str:
    """The notification text: the alert itself for one, the group and its worst for more."""
    worst = members[0] if members else None
    if worst is None:
        return title
    labels = worst.state.labels
    one = _plain(worst)
    if not is_firing(worst):
        reason = worst.state.resolved_reason or "no longer firing"
        if len(members) == 1:
            return f"RESOLVED {one}: {reason}"
        return f"RESOLVED {title}: all {len(members)} alerts resolved"
    summary = worst.alert.summary if worst.alert else worst.state.summary
    what = summary if _is_error(worst) else f"{one}: {summary}"  # it names itself
    severity = labels["severity"].upper()
    if len(members) == 1:
        return f"{severity} {what}"
    return f"{severity} {title}: {_counts(members)}; worst {what}"


CHANGE_ICON = {
    "firing": ":new:",
    "update": ":chart_with_upwards_trend:",
    "repeat": ":repeat:",
    "resolved": RESOLVED_ICON,
}


def _change_line(note: Notification) -> str:
    title = escape(title_of(note))
    icon = CHANGE_ICON[note.kind]
    alert = note.alert
    if note.kind == "resolved":
        return f"{icon} *{title}*\n{resolution(note.state)}"
    numbers = ""
    if alert is not None and alert.kind == "firing":
        numbers = f": {headline(alert).strip('*')}"
    summary = escape(alert.summary if alert else note.state.summary)
    if note.kind == "firing":
        return f"{icon} *{title}* joined the group{numbers}\n{summary}"
    if note.kind == "update":
        return f"{icon} *{title}* grew{numbers}"
    return f"{icon} *{title}* still firing{numbers}"


def change_reply(changes: Sequence[Notification], members: Sequence[Notification]) -> SlackMessage:
    """The thread reply for what changed in a group: one line per alert that joined, grew,
    resolved or repeats (a repeat: the group still firing), and the group's end."""
    lines = [_change_line(n) for n in ordered(_latest_per_alert(changes))]
    if members and all(not is_firing(n) for n in members):
        lines.append(f"{RESOLVED_ICON} All alerts of this group have resolved")
    elif any(n.kind == "repeat" for n in changes):
        lines.insert(0, f":repeat: Still firing: {_counts(members)}")
    extra = outcomes(changes)[:5]
    room = MAX_BLOCKS - len(extra)
    blocks = [section(line) for line in lines[:room]]
    if len(lines) > room:
        blocks[-1] = section(f"…and {len(lines) - room + 1} more changes")
    blocks += extra
    text = "; ".join(_change_text(n) for n in ordered(_latest_per_alert(changes)))
    if any(n.kind == "repeat" for n in changes):
        text = f"Still firing: {_counts(members)}: {text}"
    return SlackMessage(text=cut(escape(text)), blocks=blocks)


def _change_text(note: Notification) -> str:
    """A change as the notification's plain fallback text reads it."""
    labels = note.state.labels
    one = _plain(note)
    if note.kind == "resolved":
        return f"RESOLVED {one}: {note.state.resolved_reason or 'no longer firing'}"
    severity = labels["severity"].upper()
    alert = note.alert
    if note.kind == "firing":
        return f"{severity} {one} joined: {alert.summary if alert else note.state.summary}"
    if note.kind == "update" and alert is not None:
        return f"{severity} {one} grew: {alert.affected} / {alert.total} predictions"
    return f"{severity} {one} still firing"


def _latest_per_alert(changes: Sequence[Notification]) -> list[Notification]:
    """One line per alert: its latest change (a grown alert that also repeats says it grew)."""
    out: dict[str, Notification] = {}
    for note in changes:
        prev = out.get(note.state.fingerprint)
        if prev is not None and prev.kind in ("firing", "update") and note.kind == "repeat":
            continue
        out[note.state.fingerprint] = note
    return list(out.values())


def as_text(message: SlackMessage) -> str:
    """The message as a terminal shows it: what `make demo` prints instead of posting."""
    lines: list[str] = []
    for block in message.blocks:
        if block["type"] in ("header", "section"):
            lines.append(block["text"]["text"].replace("```", ""))
        elif block["type"] == "context":
            lines.extend(e["text"] for e in block["elements"])
        elif block["type"] == "divider":
            lines.append("---")
    text = "\n".join(line for line in "\n".join(lines).splitlines() if line.strip())
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def preview_group(alerts: Sequence[Alert], group_by: Sequence[str]) -> list[Notification]:
    """The group of the worst alert (most severe, then most predictions affected) as its
    first message would show it (the console preview when no Slack is configured)."""
    from alerts.grouping import SEVERITY_RANK, group_labels

    if not alerts:
        return []
    worst = min(alerts, key=lambda a: (SEVERITY_RANK.get(a.severity, 3), -a.affected))
    key = group_labels(worst.labels, worst.summary, group_by)
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return [
        Notification(
            "firing",
            AlertState(a.fingerprint, a.labels, "firing", epoch, epoch, a.summary),
            a,
        )
        for a in alerts
        if group_labels(a.labels, a.summary, group_by) == key
    ]
