"""Structured log entries: what Cloud Run turns into log-based metrics and alerts."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tests.lab import Lab, featmon, utc, write_config


def entries(stderr: str) -> list[dict[str, Any]]:
    out = []
    for line in stderr.splitlines():
        if line.startswith("{"):
            doc = json.loads(line)
            if "message" in doc:
                out.append(doc)
    return out


def test_json_entries_per_alert_with_severity_labels_and_fields(lab: Lab, tmp_path: Path) -> None:
    lab.add_store("a", quality=87.59)
    lab.add_prediction("a", quality=65.46, made_at=utc("23:12:42"))
    lab.add_prediction("ghost")
    lab.flush()
    data = lab.config_data()
    data["alerts"] = {"cloud_logging": {"format": "json"}}
    proc = featmon("check", "-c", str(write_config(tmp_path / "c.yaml", data)), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    json.loads(proc.stdout)  # stdout stays the report
    logged = entries(proc.stderr)
    by_check = {e["logging.googleapis.com/labels"]["check"]: e for e in logged}
    quality = by_check["quality_mismatch"]
    assert quality["severity"] == "ERROR"  # critical
    assert quality["message"].startswith("quality_mismatch 2026-02-03: 1 of 2 predictions")
    assert quality["affected"] == 1 and quality["total"] == 2 and quality["kind"] == "firing"
    assert quality["logging.googleapis.com/labels"]["run_id"]
    assert by_check["missing_features"]["severity"] == "WARNING"
    assert by_check["cycle"]["severity"] == "INFO"
    assert by_check["cycle"]["status"] == "alert"


def test_text_format_elsewhere(lab: Lab, tmp_path: Path) -> None:
    lab.add_store("a", quality=87.59)
    lab.add_prediction("a", quality=65.46)
    lab.flush()
    data = lab.config_data()
    data["alerts"] = {"cloud_logging": {}}
    proc = featmon("check", "-c", str(write_config(tmp_path / "c.yaml", data)))
    assert proc.returncode == 0, proc.stderr
    assert "ERROR featmon quality_mismatch 2026-02-03:" in proc.stderr
    assert "INFO featmon run finished: status=alert" in proc.stderr
    # Stamped like every machine-read time: ISO 8601 UTC with `Z`, not the host's local time.
    [line] = [x for x in proc.stderr.splitlines() if "run finished" in x]
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z INFO featmon run finished", line)
    json_override = featmon("check", "-c", str(tmp_path / "c.yaml"), "--log-format", "json")
    assert any(e["severity"] == "ERROR" for e in entries(json_override.stderr))
