"""What on-call reads in Slack: one Block Kit message per alert, with a plain-text fallback.

Header (severity, check, date), the numbers, one sentence on what they mean, up to five
example rows, and the next step: the SQL to look for yourself, the impact table, and the
platform's regenerate request. Kept apart from delivery so the wording can be tested and
previewed on the console without a workspace.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from alerts.lifecycle import AlertState
from alerts.model import Alert

SEVERITY_ICON = {
    "critical": ":rotating_light:",
    "warning": ":warning:",
    "info": ":information_source:",
}
MAX_EXAMPLES = 5


@dataclass(frozen=True)
class SlackMessage:
    text: str  # the fallback: notifications, screen readers, clients without blocks
    blocks: list[dict[str, Any]]


def _when(alert: Alert) -> str:
    return alert.game_date.isoformat() if alert.game_date else "all dates"


def _name(alert: Alert) -> str:
    return alert.check + (f" [{alert.feature}]" if alert.feature else "")


def _clock(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%m-%d %H:%M:%SZ")
    return "-" if value is None else str(value)


def _num(value: Any) -> str:
    return "-" if value is None else f"{float(value):g}"


def examples_table(alert: Alert) -> str:
    """Up to five rows as a monospace table: who, when made, when written, logged vs store."""
    rows = alert.examples[:MAX_EXAMPLES]
    if not rows:
        return ""
    value_key = "logged_value" if "logged_value" in rows[0] else "logged_quality"
    store_key = "store_value" if "store_value" in rows[0] else "store_quality"
    entity = next(
        (
            k
            for k in rows[0]
            if k
            not in {
                "prediction_id",
                "made_at",
                "written_at",
                "logged_quality",
                "store_quality",
                "logged_value",
                "store_value",
                "lag_s",
            }
        ),
        "prediction_id",
    )
    header = f"{entity:<22} {'made at':<15} {'written at':<15} {'logged':>8} {'store':>8}"
    lines = [header]
    for r in rows:
        lines.append(
            f"{str(r.get(entity))[:22]:<22} {_clock(r.get('made_at')):<15} "
            f"{_clock(r.get('written_at')):<15} {_num(r.get(value_key)):>8} "
            f"{_num(r.get(store_key)):>8}"
        )
    return "```\n" + "\n".join(lines) + "\n```"


def next_steps(alert: Alert) -> str:
    day = _when(alert)
    date_arg = f" --date {day}" if alert.game_date else ""
    steps = [
        f"• Look: `featmon sql {alert.check}{date_arg}` (paste into the BigQuery console)",
        f"• Size it: `featmon impact{date_arg}`",
    ]
    if alert.game_date:
        steps.append(
            f"• Story: `featmon timeline{date_arg} --png timeline.png`, `featmon explain{date_arg}`"
        )
    if alert.game_date and alert.kind == "firing":
        body = json.dumps(
            {
                "game_date": day,
                "reason": f"featmon {alert.check}",
                "metadata": {"check": alert.check},
            }
        )
        steps.append(
            "• Fix: `POST {coordinator}/regenerate-with-supersede` with `X-API-Key` and "
            f"`{body}` (supersedes all of that date's predictions)"
        )
    return "\n".join(steps)


def firing_message(alert: Alert, runbook_url: str | None = None) -> SlackMessage:
    icon = SEVERITY_ICON.get(alert.severity, ":warning:")
    if alert.kind == "error":
        title = f"{icon} {alert.severity.upper()}: featmon cannot run {alert.check}"
        numbers = alert.summary
    else:
        title = f"{icon} {alert.severity.upper()} {_name(alert)} · {_when(alert)}"
        numbers = (
            f"*{alert.affected} / {alert.total} predictions ({100 * alert.affected_ratio:.1f}%)*"
            f"\n{alert.summary}"
        )
        if alert.meaning:
            numbers += f"\n_{alert.meaning}_"
        used = alert.details.get("attribution_summary")
        if used:
            numbers += f"\n*Version used:* {used}"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150], "emoji": True}},
        {"type": "section", "text": {"type": "mrkdwn", "text": numbers[:3000]}},
    ]
    table = examples_table(alert)
    if table:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": table[:3000]}})
    steps = next_steps(alert)
    if runbook_url:
        steps += f"\n• Runbook: <{runbook_url}|what to do>"
    blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": steps}})
    blocks.append(
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": f"featmon · fingerprint `{alert.fingerprint}`"}
            ],
        }
    )
    text = f"{alert.severity.upper()} {_name(alert)} {_when(alert)}: {alert.summary}"
    return SlackMessage(text=text, blocks=blocks)


def resolved_message(state: AlertState, outcome: str = "") -> SlackMessage:
    """What the original message becomes once resolved (and the thread reply's text);
    `outcome`: what the date's predictions cost, once graded."""
    labels = state.labels
    name = labels["check"] + (f" [{labels['feature']}]" if labels.get("feature") else "")
    when = labels.get("game_date") or "all dates"
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
