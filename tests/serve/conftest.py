"""The demo warehouse with its alert state (`featmon demo --no-check`, then `featmon check`),
built once per session, and `featmon serve` on it: a real subprocess on a free loopback port,
or an in-process server on a copy a test may rewrite."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.serve.server import Server
from tests.lab import ROOT, featmon
from tests.peers import free_port


@dataclass
class Demo:
    folder: Path
    incident_date: str  # the game date of the demo's firing stale_predictions alert

    @property
    def config_path(self) -> Path:
        return self.folder / "config.yaml"

    @property
    def warehouse(self) -> Path:
        return self.folder / ".featmon" / "demo.duckdb"


@dataclass
class Response:
    status: int
    headers: Message
    body: bytes

    def json(self) -> dict[str, object]:
        data: dict[str, object] = json.loads(self.body)
        return data


def get(url: str, headers: dict[str, str] | None = None) -> Response:
    """A GET over real HTTP; an error status is an answer, not an exception."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return Response(r.status, r.headers, r.read())
    except urllib.error.HTTPError as e:
        return Response(e.code, e.headers, e.read())


@pytest.fixture(scope="session")
def built_demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    folder = tmp_path_factory.mktemp("serve-demo")
    shutil.copy(ROOT / "config.yaml", folder / "config.yaml")
    for args in (("demo", "--no-check"), ("check",)):
        proc = featmon(*args, cwd=folder)
        assert proc.returncode in (0, 1), proc.stderr
    proc = featmon("alerts", "--format", "json", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    [stale] = [
        a
        for a in json.loads(proc.stdout)["alerts"]
        if a["labels"]["check"] == "stale_predictions" and a["status"] == "firing"
    ]
    return Demo(folder, stale["labels"]["game_date"])


@pytest.fixture
def demo(built_demo: Demo, tmp_path: Path) -> Demo:
    """A copy of the demo a test may change (rewrite the store, add silences)."""
    folder = tmp_path / "demo"
    shutil.copytree(built_demo.folder, folder)
    return Demo(folder, built_demo.incident_date)


@pytest.fixture
def in_process(demo: Demo) -> Iterator[Server]:
    """`featmon serve`'s server in this process on the test's own demo copy, sharing
    nothing between callers (cache 0) so each request reads the warehouse."""
    config, _ = load_config(str(demo.config_path))
    server = Server(config, "127.0.0.1", 0, timeout_s=10, cache_s=0).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def served(built_demo: Demo) -> Iterator[str]:
    """The real `featmon serve` command on the built demo (read-only tests); its base URL."""
    port = free_port()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "serve", "--port", str(port)],
        cwd=built_demo.folder,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()  # printed once the socket listens
        assert line.strip() == f"featmon serve: listening on http://127.0.0.1:{port}", line
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
