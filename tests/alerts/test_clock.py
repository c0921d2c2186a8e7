"""One clock for people, one for machines, on every surface an alert reaches.

The seed's incident (the store written, rewritten, and a cached worker serving the old version)
on a winter and a spring game date, in New York and in London: each message reads one zone with
its abbreviation, which follows DST (EST then EDT, GMT then BST). A notification stored in the
notification log and sent by a later process posts the same message as the one rendered before
storing; the CLI reads and prints times in the config's zone; JSON stays ISO 8601 UTC `Z`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from alerts.codec import notification_from_json, notification_to_json
from alerts.lifecycle import RunScope, evaluate
from alerts.model import Alert, alerts_from
from alerts.sinks.slack_message import as_text
from checks.base import CheckResult
from monitor.config import Config, load_config, parse_config
from monitor.demo.schema import STORE_TABLE
from monitor.pipeline.cycle import record_history, run_cycle
from monitor.pipeline.sinks import step_context
from monitor.pipeline.window import DateWindow
from monitor.warehouse.duckdb import DuckDBWarehouse
from tests.alerts.scenario import ENV, check, message_of, setup
from tests.lab import DAY, Lab, featmon, utc, write_config
from tests.peers.slack import SlackStandIn

OLD = {"points_avg_last_5": 12.8, "points_avg_last_10": 14.0}
NEW = {"points_avg_last_5": 24.2, "points_avg_last_10": 22.0}
PLAYERS = ["laurimarkkanen", "petenance", "royceoneale"]
WINTER, SPRING = dt.date(2026, 3, 5), dt.date(2026, 4, 2)  # either side of both DST changes
T0 = dt.datetime(2026, 2, 3, 5, 0, tzinfo=dt.UTC)  # 00:00 EST on the scenario's game date
ABBREVIATIONS = re.compile(r"\b(EST|EDT|GMT|BST|UTC|CET|CEST)\b")


def incident(lab: Lab, zone: str, day: dt.date) -> tuple[Config, CheckResult]:
    """The seed's incident on `day` (times UTC): the store written at 18:05 (quality 65.46)
    and rewritten at 22:30:07 (87.59), two predictions at 23:12:42 served the 18:05 values;
    featmon records the versions at 20:00 and 22:35 and checks at 23:15."""
    data = lab.config_data(timezone=zone, window={"from": str(day), "to": str(day)})
    data["checks"] = {"quality_mismatch": {"severity": "critical"}}
    config = parse_config(data, base_dir=lab.path.parent)
    window = DateWindow(day, day)
    for written, quality, values, recorded in (
        ("18:05", 65.46, OLD, "20:00"),
        ("22:30:07", 87.59, NEW, "22:35"),
    ):
        with DuckDBWarehouse(lab.path, read_only=False) as wh:
            wh.execute(f"DELETE FROM {STORE_TABLE}")  # a rewrite: the store keeps no history
        for p in PLAYERS:
            lab.add_store(p, written_at=utc(written, day), quality=quality, values=values, day=day)
        lab.flush()
        assert record_history(config, window, utc(recorded, day)) == []
    logged = {**OLD, "feature_quality_score": 65.46, "vegas_points_line": 22.5}
    for p in PLAYERS[:2]:
        lab.add_prediction(p, made_at=utc("23:12:42", day), quality=65.46, snapshot=logged, day=day)
    lab.flush()
    [result] = run_cycle(config, window, now=utc("23:15", day)).results
    return config, result


def head(alert: Alert, zone: dt.tzinfo) -> list[str]:
    """The message's header, numbers and example rows: every time it shows."""
    blocks = message_of(alert, zone).blocks
    title, numbers = blocks[1]["text"]["text"].split("\n", 1)
    assert title == f":rotating_light: *{blocks[0]['text']['text'].split(' ', 1)[1]}*"
    return [blocks[0]["text"]["text"], numbers, blocks[2]["text"]["text"]]


MEANING = (
    "_The feature quality these predictions logged is not the quality the store holds for the "
    "same rows: they were built from a different version of the features._"
)


def numbers(used: str) -> str:
    return (
        "*2 / 2 predictions (100.0%)*\n2 of 2 predictions (100.0%) logged feature quality 65.46 "
        "on average where the store has 87.59\n*By system_id:* catboost_v8 2/2\n"
        f"{MEANING}\n*Version used:* {used}"
    )


def table(made: str, written: str) -> str:
    return (
        "```\n"
        "player_lookup          made at            written at           logged    store\n"
        f"laurimarkkanen         {made} {written}    65.46    87.59\n"
        f"petenance              {made} {written}    65.46    87.59\n"
        "```"
    )


GOLDEN = {
    ("America/New_York", WINTER): [
        ":rotating_light: CRITICAL quality_mismatch · 2026-03-05",
        numbers(
            "2 predictions made 2026-03-05 18:12:42 EST used the version written 13:05 EST "
            "(quality 65.46), which the rewrite at 17:30:07 EST (quality 87.59) had replaced "
            "43 min earlier"
        ),
        table("03-05 18:12:42 EST", "03-05 17:30:07 EST"),
    ],
    ("America/New_York", SPRING): [
        ":rotating_light: CRITICAL quality_mismatch · 2026-04-02",
        numbers(
            "2 predictions made 2026-04-02 19:12:42 EDT used the version written 14:05 EDT "
            "(quality 65.46), which the rewrite at 18:30:07 EDT (quality 87.59) had replaced "
            "43 min earlier"
        ),
        table("04-02 19:12:42 EDT", "04-02 18:30:07 EDT"),
    ],
    ("Europe/London", WINTER): [
        ":rotating_light: CRITICAL quality_mismatch · 2026-03-05",
        numbers(
            "2 predictions made 2026-03-05 23:12:42 GMT used the version written 18:05 GMT "
            "(quality 65.46), which the rewrite at 22:30:07 GMT (quality 87.59) had replaced "
            "43 min earlier"
        ),
        table("03-05 23:12:42 GMT", "03-05 22:30:07 GMT"),
    ],
    ("Europe/London", SPRING): [  # past midnight in London: the sentence dates its later times
        ":rotating_light: CRITICAL quality_mismatch · 2026-04-02",
        numbers(
            "2 predictions made 2026-04-03 00:12:42 BST used the version written 04-02 19:05 BST "
            "(quality 65.46), which the rewrite at 04-02 23:30:07 BST (quality 87.59) had "
            "replaced 43 min earlier"
        ),
        table("04-03 00:12:42 BST", "04-02 23:30:07 BST"),
    ],
}


@pytest.mark.parametrize(("zone", "day"), list(GOLDEN), ids=lambda v: str(v))
def test_golden_message_in_two_zones_across_a_dst_change(lab: Lab, zone: str, day: dt.date) -> None:
    config, result = incident(lab, zone, day)
    [alert] = alerts_from([result])
    assert head(alert, config.zone()) == GOLDEN[(zone, day)]
    whole = json.dumps(message_of(alert, config.zone()).blocks)
    abbreviation = {"America/New_York": "EST", "Europe/London": "GMT"}[zone]
    if day == SPRING:
        abbreviation = {"EST": "EDT", "GMT": "BST"}[abbreviation]
    assert set(ABBREVIATIONS.findall(whole)) == {abbreviation}  # one zone in the whole message


def test_a_stored_notification_renders_the_message_it_was_stored_with(lab: Lab) -> None:
    """The notification log's JSON round trip keeps example times as times: the message a
    later process sends equals the one rendered before storing (not `...+00:00` strings)."""
    config, result = incident(lab, "America/New_York", WINTER)
    scope = RunScope(
        checks=frozenset({"quality_mismatch"}),
        window=(WINTER, WINTER),
        configured_window=True,
        scheduled=True,
    )
    [note] = evaluate({}, [result], utc("23:15", WINTER), scope=scope).notifications
    stored = notification_to_json(note)
    assert "+00:00" not in stored and '"made_at": "2026-03-05T23:12:42Z"' in stored
    back = notification_from_json(stored)
    assert back.alert is not None and note.alert is not None
    assert back.alert.examples == note.alert.examples
    zone = config.zone()
    assert message_of(back.alert, zone) == message_of(note.alert, zone)
    assert back.state == note.state


def test_a_pending_notification_posts_what_the_preview_shows(
    lab: Lab, slack: SlackStandIn, tmp_path: Path
) -> None:
    """Slack down: the first process stores the notification; the next one posts it from the
    log. The posted blocks equal the console preview rendered from the same results."""
    config = setup(lab, slack, tmp_path)  # timezone America/New_York (config.yaml's)
    slack.down = True
    assert "pending=1" in check(config, T0).stdout
    slack.down = False
    assert "sent=1" in check(config, T0 + dt.timedelta(minutes=5)).stdout
    [post] = [c["body"] for c in slack.calls if c["method"] == "chat.postMessage"]
    cfg = parse_config(yaml.safe_load(config.read_text()), base_dir=config.parent)
    [alert] = alerts_from(run_cycle(cfg, DateWindow(DAY, DAY), now=T0).results)
    steps = step_context(load_config(str(config))[0]).at(T0)  # decided when first recorded
    preview = message_of(alert, cfg.zone(), cfg.alerts.runbook_url, steps)
    assert post["blocks"] == preview.blocks
    rows = as_text(preview).splitlines()
    assert "a                      02-03 18:12:42 EST 02-03 17:30:00 EST    65.46    87.59" in rows


def featmon_at(config: Path, *args: str, now: dt.datetime = T0) -> Any:
    return featmon(*args, "-c", str(config), env={**ENV, "FEATMON_NOW": now.isoformat()})


def test_cli_reads_and_prints_times_in_the_config_zone(
    lab: Lab, slack: SlackStandIn, tmp_path: Path
) -> None:
    config = setup(lab, slack, tmp_path)
    check(config, T0)
    listing = featmon_at(config, "alerts").stdout
    assert "since 2026-02-03 00:00 EST;" in listing  # started at T0 = 05:00Z

    # No offset: New York wall-clock time (06:00 EST = 11:00Z).
    added = featmon_at(
        config, "silence", "add", "--match", "check=quality_mismatch", "--until",
        "2026-02-03 06:00", "--reason", "regenerating",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "until 2026-02-03 06:00 EST: check=quality_mismatch (regenerating)" in added.stdout
    # An explicit offset means what it says, printed back in the config's zone.
    added = featmon_at(
        config, "silence", "add", "--match", "check=quality_mismatch", "--until",
        "2026-02-03T12:00Z", "--reason", "later",
    )  # fmt: skip
    assert "until 2026-02-03 07:00 EST:" in added.stdout

    text = featmon_at(config, "silence", "list").stdout.splitlines()
    assert [line.split(" until ")[1][:20] for line in text] == [
        "2026-02-03 06:00 EST",
        "2026-02-03 07:00 EST",
    ]
    doc = json.loads(featmon_at(config, "silence", "list", "--format", "json").stdout)
    assert [s["until"] for s in doc["silences"]] == ["2026-02-03T11:00:00Z", "2026-02-03T12:00:00Z"]
    alerts = json.loads(featmon_at(config, "alerts", "--format", "json").stdout)["alerts"]
    assert alerts[0]["started_at"] == "2026-02-03T05:00:00Z"


@pytest.mark.parametrize(
    ("until", "problem"),
    [
        ("2026-02-02 23:00", "--until 2026-02-02 23:00 EST is not in the future"),  # 04:00Z
        ("tomorrow", "--until: 'tomorrow' is not a time"),
    ],
)
def test_silence_until_that_mutes_nothing_is_refused(
    lab: Lab, slack: SlackStandIn, tmp_path: Path, until: str, problem: str
) -> None:
    config = setup(lab, slack, tmp_path)
    proc = featmon_at(
        config, "silence", "add", "--match", "check=quality_mismatch", "--until", until,
        "--reason", "x",
    )  # fmt: skip
    assert proc.returncode == 2 and problem in proc.stderr


def test_a_configured_silence_without_offset_is_in_the_config_zone(
    lab: Lab, slack: SlackStandIn, tmp_path: Path
) -> None:
    """`until: 2026-02-03 01:00` is 01:00 EST (06:00Z): it still mutes at 05:00Z, not at 06:30Z."""
    config = setup(
        lab,
        slack,
        tmp_path,
        silences=[{"match": {"check": "quality_mismatch"}, "until": "2026-02-03 01:00"}],
    )
    assert check(config, T0).returncode == 0
    assert slack.methods() == []
    check(config, T0 + dt.timedelta(minutes=90))
    assert slack.methods() == ["chat.postMessage"]


def test_every_time_in_check_json_is_utc_z(lab: Lab, tmp_path: Path) -> None:
    data = lab.config_data(timezone="Europe/London")
    lab.add_store("a", quality=87.59, written_at=utc("22:30"))
    lab.add_prediction("a", quality=65.46, made_at=utc("23:12:42"))
    lab.flush()
    data["checks"] = {"quality_mismatch": {}, "store_freshness": {}}  # its deadline: a time
    path = write_config(tmp_path / "c.yaml", data)
    proc = featmon("check", "-c", str(path), "--format", "json", env=dict(os.environ))
    [result] = [r for r in json.loads(proc.stdout)["results"] if r["check"] == "quality_mismatch"]
    assert result["examples"][0]["made_at"] == "2026-02-03T23:12:42Z"
    assert result["examples"][0]["written_at"] == "2026-02-03T22:30:00Z"
    times = [v for v in strings(json.loads(proc.stdout)) if re.match(r"\d{4}-\d\d-\d\dT", v)]
    assert len(times) >= 4 and all(t.endswith("Z") for t in times)
    assert "+00:00" not in proc.stdout


def strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return [value] if isinstance(value, str) else []
