"""Which alerts share one notification, like Alertmanager's `group_by`.

Alerts whose `group_by` labels are equal (by default the game date) form a group: one Slack
message, one webhook `groupKey`. "featmon cannot run X" alerts are grouped by their cause
instead (the error text, without the check's name), so that one wrong column name, which
breaks every check reading it, is one message, not seven.

A group is open while any of its alerts fires; the first alert of a group that has no firing
alert opens a new one. Its id (`group_id`, kept in the alert state and the notification
log) names the group's labels and when it opened, so a later incident on the same date is
a new message rather than an edit of a resolved one.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Literal

from checks.times import iso_utc

if TYPE_CHECKING:  # the lifecycle uses this module to group the alerts it decides on
    from alerts.lifecycle import Notification

GroupLabel = Literal["check", "game_date", "feature", "severity"]
GROUP_LABELS: tuple[GroupLabel, ...] = ("check", "game_date", "feature", "severity")
DEFAULT_GROUP_BY: tuple[GroupLabel, ...] = ("game_date",)
SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}
# The part of a "cannot run" message that names the check; what follows is the cause.
_ERROR_PREFIX = "featmon cannot run check {check}: "
# Query positions differ between checks that hit the same problem.
_POSITIONS = re.compile(r"\s*(at \[\d+:\d+\]|LINE \d+:.*)$")
MAX_CAUSE = 200


def cause_of(check: str, summary: str) -> str:
    """What made a check unable to run, the same for every check it broke."""
    text = summary.removeprefix(_ERROR_PREFIX.format(check=check))
    first = text.strip().splitlines()[0] if text.strip() else ""
    return _POSITIONS.sub("", first).strip()[:MAX_CAUSE]


def group_labels(
    labels: Mapping[str, str], summary: str, group_by: Sequence[str]
) -> dict[str, str]:
    """The labels that name an alert's group: its `group_by` values, or for a check that
    cannot run, its cause."""
    if labels.get("kind") == "error":
        return {"kind": "error", "cause": cause_of(labels["check"], summary)}
    return {name: labels.get(name, "") for name in group_by}


def new_group_id(labels: Mapping[str, str], since: dt.datetime) -> str:
    """The id of a group opening now: its labels and when it opened (opaque elsewhere)."""
    return json.dumps({"labels": dict(labels), "since": iso_utc(since)}, sort_keys=True)


def labels_of_group(group_id: str) -> dict[str, str]:
    """A group id's labels ({} for an id featmon did not make, e.g. an empty legacy one)."""
    try:
        data = json.loads(group_id)
    except ValueError:
        return {}
    labels = data.get("labels") if isinstance(data, dict) else None
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


def same_labels_key(labels: Mapping[str, str]) -> str:
    """A key equal for equal group labels (to find the open group an alert joins)."""
    return json.dumps(dict(labels), sort_keys=True)


def is_firing(note: Notification) -> bool:
    return note.kind != "resolved"


def share(note: Notification) -> float:
    """The share of the date's predictions the alert affects (or affected, once resolved)."""
    if note.alert is not None:
        return note.alert.affected_ratio
    total = note.state.total
    return note.state.notified_affected / total if total else 0.0


def severity_of(note: Notification) -> str:
    return note.state.labels.get("severity", "warning")


def ordered(members: Sequence[Notification]) -> list[Notification]:
    """How a group lists its alerts: firing first, then by severity, then affected share
    (then by name, so that a message reads the same at every edit)."""
    return sorted(
        members,
        key=lambda n: (
            not is_firing(n),
            SEVERITY_RANK.get(severity_of(n), 3),
            -share(n),
            n.state.labels.get("check", ""),
            n.state.labels.get("feature", ""),
        ),
    )


def worst_severity(members: Sequence[Notification]) -> str:
    """The most severe of the firing alerts (of all, when none fires any more)."""
    pool = [n for n in members if is_firing(n)] or list(members)
    if not pool:
        return "warning"
    return min((severity_of(n) for n in pool), key=lambda s: SEVERITY_RANK.get(s, 3))
