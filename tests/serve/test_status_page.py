"""`featmon serve`'s status page (`GET /`): the demo incident with its alerts and timeline,
silences, times in the config's zone, escaped data; and the page as a phone's headless
Chromium draws it."""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess
from pathlib import Path

from PIL import Image

from alerts.lifecycle import AlertState
from monitor.serve.server import Server
from monitor.serve.status import incidents
from tests.lab import featmon
from tests.serve.conftest import Demo, get

HOSTILE = "<script>alert('x')</script> & <b>bold</b>"
NOW = dt.datetime(2026, 2, 4, 12, 0, tzinfo=dt.UTC)
FIRING_RED = (198, 40, 40)  # .b-firing / .firing in monitor/serve/status.py


def test_the_page_shows_the_demo_incident(served: str, built_demo: Demo) -> None:
    r = get(f"{served}/")
    assert r.status == 200 and r.headers["Content-Type"] == "text/html; charset=utf-8"
    page = r.body.decode()
    assert "<meta name='viewport' content='width=device-width, initial-scale=1'>" in page
    assert "<script" not in page  # no scripts, no build step
    day = built_demo.incident_date
    # The incident date's group: one card, firing, its alerts worst first.
    head = "<div class='card firing'><span class='badge b-firing'>firing</span> "
    head += f"<b>game_date {day}</b>"
    assert page.count(head) == 1
    assert page.index(head) == page.index("<div class='card")  # the critical one first
    incident = page[page.index(head) :].split("</ul>")[0]
    assert "critical</b> stale_predictions" in incident
    assert "97/97 affected" in incident
    assert incident.index("critical</b>") < incident.index("warning</b>")
    # Times for people: the config's zone with its abbreviation, never UTC.
    assert re.search(r"opened \d{4}-\d\d-\d\d \d\d:\d\d E[SD]T", incident)
    # Its timeline picture, inline, under its date.
    timelines = page[page.index("<h2>Timelines</h2>") :]
    assert f"<summary>game date {day}</summary><svg" in timelines
    assert "<h2>Silences</h2><p>No silences in force.</p>" in page
    assert "no outage open" in page


def test_silences_show_and_data_is_escaped(demo: Demo, in_process: Server) -> None:
    proc = featmon(
        "silence", "add", "--match", "check=low_quality", "--for", "2h", "--reason", HOSTILE,
        cwd=demo.folder,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    page = get(f"{in_process.url}/").body.decode()
    silences = page[page.index("<h2>Silences</h2>") : page.index("<h2>Runs</h2>")]
    assert "<td>check=low_quality</td>" in silences
    escaped = "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;"
    assert f"<td>{escaped}</td>" in silences
    assert "<script" not in page and "<b>bold</b>" not in page
    assert re.search(r"<td>\d{4}-\d\d-\d\d \d\d:\d\d E[SD]T</td>", silences)


def test_a_phone_sized_chromium_draws_the_firing_page(served: str, tmp_path: Path) -> None:
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is missing: `make test` installs it (apt-get)"
    shot = tmp_path / "status.png"
    proc = subprocess.run(
        [
            chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}", "--window-size=390,844", f"{served}/",
        ],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0 and shot.exists(), proc.stderr
    image = Image.open(io.BytesIO(shot.read_bytes())).convert("RGB")
    assert image.size == (390, 844)
    colors = image.getcolors(maxcolors=1 << 20)
    assert colors is not None and len(colors) > 50  # text and cards, not a blank page
    # The firing incident's red (border and badge) is on the first screen.
    red = sum(n for n, rgb in colors if rgb == FIRING_RED)
    assert red > 200, red


def _state(group: str, status: str, severity: str, resolved_h: float | None) -> AlertState:
    start = NOW - dt.timedelta(hours=30)
    return AlertState(
        fingerprint=f"{group}-{severity}-{status}",
        labels={"check": "stale_predictions", "game_date": "2026-02-03", "severity": severity},
        status="resolved" if resolved_h is not None else "firing",
        started_at=start,
        last_seen_at=NOW,
        resolved_at=None if resolved_h is None else NOW - dt.timedelta(hours=resolved_h),
        group_id=group,
    )


def test_incidents_are_groups_firing_first_and_resolved_only_recently() -> None:
    shown = incidents(
        [
            _state("old", "resolved", "critical", resolved_h=25),  # resolved a day ago: gone
            _state("recent", "resolved", "critical", resolved_h=2),
            _state("warn", "firing", "warning", None),
            _state("crit", "firing", "critical", None),
            _state("crit", "resolved", "warning", resolved_h=1),  # still firing as a group
        ],
        NOW,
    )
    assert [(i.group_id, i.firing, len(i.alerts)) for i in shown] == [
        ("crit", True, 2), ("warn", True, 1), ("recent", False, 1),
    ]  # fmt: skip
