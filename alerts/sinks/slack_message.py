"""What on-call reads in Slack: one Block Kit message per alert, with a plain-text fallback.

Header (severity, check, date), the numbers, one sentence on what they mean, up to five
example rows, and the next step: the SQL to look for yourself, the impact table, and the
platform's regenerate request. Kept apart from delivery so the wording can be tested and
previewed on the console without a workspace.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from alerts.content import MAX_EXAMPLES, display_name, examples_table, headline, where
from alerts.lifecycle import AlertState
from alerts.model import Alert
from alerts.steps import StepContext, next_steps

__all__ = ["MAX_EXAMPLES", "SlackMessage", "as_text", "firing_message", "resolved_message"]

SEVERITY_ICON = {
    "critical": ":rotating_light:",
    "warning": ":warning:",
    "info": ":information_source:",
}


@dataclass(frozen=True)
class SlackMessage:
    text: str  # the fallback: notifications, screen readers, clients without blocks
    blocks: list[dict[str, Any]]


def firing_message(
    alert: Alert,
    runbook_url: str | None = None,
    steps: StepContext | None = None,
    *,
    zone: dt.tzinfo,
) -> SlackMessage:
    """`zone`: the config's, which every time in the message is shown in."""
    icon = SEVERITY_ICON.get(alert.severity, ":warning:")
    name, day = display_name(alert.check, alert.feature), where(alert.game_date)
    if alert.kind == "error":
        title = f"{icon} {alert.severity.upper()}: featmon cannot run {alert.check}"
        numbers = alert.summary
    else:
        title = f"{icon} {alert.severity.upper()} {name} · {day}"
        numbers = f"{headline(alert)}\n{alert.summary}"
        if alert.meaning:
            numbers += f"\n_{alert.meaning}_"
        used = alert.details.get("attribution_summary")
        if used:
            numbers += f"\n*Version used:* {used}"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150], "emoji": True}},
        {"type": "section", "text": {"type": "mrkdwn", "text": numbers[:3000]}},
    ]
    table = examples_table(alert, zone)
    if table:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": table[:3000]}})
    todo = next_steps(alert, steps)
    if runbook_url:
        todo += f"\n• Runbook: <{runbook_url}|what to do>"
    blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": todo}})
    blocks.append(
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": f"featmon · fingerprint `{alert.fingerprint}`"}
            ],
        }
    )
    text = f"{alert.severity.upper()} {name} {day}: {alert.summary}"
    return SlackMessage(text=text, blocks=blocks)


def resolved_message(state: AlertState, outcome: str = "") -> SlackMessage:
    """What the original message becomes once resolved (and the thread reply's text);
    `outcome`: what the date's predictions cost, once graded."""
    labels = state.labels
    name = display_name(labels["check"], labels.get("feature"))
    when = labels.get("game_date") or where(None)
    title = f":white_check_mark: RESOLVED {name} · {when}"
    body = (
        f"Resolved: {state.resolved_reason or 'no longer firing'} "
        f"(was {state.notified_affected} / {state.total} predictions affected)."
    )
    if outcome:
        body += f"\n*Outcome:* {outcome}"
    return SlackMessage(
        text=f"RESOLVED {name} {when}: {state.resolved_reason or 'no longer firing'}",
        blocks=[
            {"type": "header", "text": {"type": "plain_text", "text": title[:150], "emoji": True}},
            {"type": "section", "text": {"type": "mrkdwn", "text": body}},
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": f"featmon · fingerprint `{state.fingerprint}`"}
                ],
            },
        ],
    )


def as_text(message: SlackMessage) -> str:
    """The message as a terminal shows it: what `make demo` prints instead of posting."""
    lines: list[str] = []
    for block in message.blocks:
        if block["type"] in ("header", "section"):
            lines.append(block["text"]["text"].replace("```", ""))
        elif block["type"] == "context":
            lines.extend(e["text"] for e in block["elements"])
    return "\n".join(line for line in "\n".join(lines).splitlines() if line.strip())
