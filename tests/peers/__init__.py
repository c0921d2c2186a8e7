"""Local peers featmon talks to over the wire in the tests: a Slack stand-in
(`tests.peers.slack`) and the BigQuery emulator behind a recording proxy
(`tests.peers.bigquery`)."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A loopback port nothing listens on (for a peer to bind, or to find nothing there)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
