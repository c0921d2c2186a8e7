"""The deploy/ files: valid against the client libraries' types, linted, and the wheel
installs into a fresh virtualenv (the image itself cannot be built here: no Docker engine)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from google.cloud import monitoring_dashboard_v1, monitoring_v3

from monitor.telemetry.cloud_monitoring import METRICS, PREFIX
from tests.lab import ROOT

DEPLOY = ROOT / "deploy"
POLICIES = sorted((DEPLOY / "alert-policies").glob("*.json"))


def metric_types(text: str) -> set[str]:
    return set(re.findall(r'metric\.type=\\?"(custom\.googleapis\.com/featmon/[a-z_]+)', text))


@pytest.mark.parametrize("path", POLICIES, ids=[p.stem for p in POLICIES])
def test_alert_policies_are_valid_and_tell_on_call_what_to_do(path: Path) -> None:
    text = path.read_text()
    policy = monitoring_v3.AlertPolicy.from_json(text)  # unknown fields are rejected
    assert policy.display_name.startswith("featmon:")
    assert policy.conditions and policy.documentation.content.count("\n1. ") == 1
    assert metric_types(text) and metric_types(text) <= {PREFIX + m for m in METRICS}


def test_policies_cover_errors_silence_and_the_ratio_backstop() -> None:
    texts = " ".join(p.read_text() for p in POLICIES)
    assert {
        PREFIX + "check_status",
        PREFIX + "run_heartbeat",
        PREFIX + "affected_ratio",
    } <= metric_types(texts)
    heartbeat = monitoring_v3.AlertPolicy.from_json(
        (DEPLOY / "alert-policies" / "heartbeat-absent.json").read_text()
    )
    assert heartbeat.conditions[0].condition_absent.duration.total_seconds() == 900  # 3 x 5 min


def test_dashboard_is_valid() -> None:
    text = (DEPLOY / "dashboard.json").read_text()
    dashboard = monitoring_dashboard_v1.Dashboard.from_json(text)
    assert len(dashboard.mosaic_layout.tiles) == 4
    assert metric_types(text) == {
        PREFIX + m
        for m in ("affected_predictions", "check_status", "run_heartbeat", "check_duration_seconds")
    }


def test_cloud_run_job_manifest() -> None:
    job = yaml.safe_load((DEPLOY / "cloudrun-job.yaml").read_text())
    spec = job["spec"]["template"]["spec"]["template"]["spec"]
    assert spec["serviceAccountName"].startswith("featmon@")
    assert spec["timeoutSeconds"] > 0 and spec["maxRetries"] == 1
    [container] = spec["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["FEATMON_CONFIG"]["value"] == "/etc/featmon/config.yaml"
    assert env["SLACK_BOT_TOKEN"]["valueFrom"]["secretKeyRef"]["name"] == "featmon-slack-bot-token"
    assert container["args"] == ["check"]


def test_dockerfile_lints_clean_and_scheduler_script_parses() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    proc = subprocess.run([hadolint, str(DEPLOY / "Dockerfile")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert subprocess.run(["bash", "-n", str(DEPLOY / "scheduler.sh")]).returncode == 0
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "USER 10001" in dockerfile and "constraints.txt" in dockerfile
    assert 'ENTRYPOINT ["featmon"]' in dockerfile


def test_the_wheel_installs_into_a_fresh_virtualenv(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT)],
        check=True,
        timeout=300,
    )
    [wheel] = wheels.glob("featmon-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [
            str(venv / "bin" / "pip"),
            "install",
            "-q",
            str(wheel),
            "-c",
            str(DEPLOY / "constraints.txt"),
        ],
        check=True,
        timeout=600,
    )
    proc = subprocess.run([str(venv / "bin" / "featmon"), "--help"], capture_output=True, text=True)
    assert proc.returncode == 0
    for command in ("check", "impact", "run", "alerts", "silence", "demo", "sql", "validate"):
        assert command in proc.stdout
