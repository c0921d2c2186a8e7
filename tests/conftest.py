"""Fixtures for every test package. The helpers they build on are plain modules:
`tests.lab` (a real DuckDB warehouse, the `featmon` command line) and `tests.peers` (local
stand-ins for Slack and BigQuery)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from tests.lab import Lab
from tests.peers.coordinator import Coordinator
from tests.peers.slack import SlackStandIn
from tests.peers.webhook import Receiver


@pytest.fixture(scope="session")
def httpserver_listen_address() -> tuple[str, int]:
    """pytest-httpserver on loopback only, on a free port."""
    return ("127.0.0.1", 0)


@pytest.fixture
def lab(tmp_path: Path) -> Lab:
    return Lab(tmp_path / "wh.duckdb")


@pytest.fixture
def slack(httpserver: HTTPServer) -> Iterator[SlackStandIn]:
    """The Slack stand-in on the test's HTTP server (featmon's `base_url`: `slack.base_url`)."""
    yield SlackStandIn(httpserver)
    httpserver.check_handler_errors()  # a stand-in that broke must not pass unnoticed


@pytest.fixture
def receiver(httpserver: HTTPServer) -> Iterator[Receiver]:
    """An Alertmanager-style webhook receiver on the test's HTTP server (`receiver.url`)."""
    yield Receiver(httpserver)
    httpserver.check_handler_errors()


@pytest.fixture
def coordinator() -> Iterator[Coordinator]:
    """The prediction coordinator's stand-in on its own port (`coordinator.url`)."""
    stand_in = Coordinator()
    yield stand_in
    stand_in.stop()
