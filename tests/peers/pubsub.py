"""The real Pub/Sub emulator (Debian's google-cloud-cli-pubsub-emulator, Java) on a free
loopback port, and a test subscription that pulls what a worker would receive.

Started straight from the SDK's `platform/pubsub-emulator` launcher (what `gcloud beta
emulators pubsub start` runs), in its own process group, so stopping it stops the JVM too.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.peers import free_port

PROJECT = "test-proj"


def launcher() -> Path | None:
    """The emulator's launcher inside the Cloud SDK, or None when it is not installed."""
    gcloud = shutil.which("gcloud")
    if gcloud is None:
        return None
    sdk = Path(gcloud).resolve().parent.parent  # <sdk>/bin/gcloud
    found = sdk / "platform" / "pubsub-emulator" / "bin" / "cloud-pubsub-emulator"
    return found if found.exists() else None


class Emulator:
    def __init__(self, path: Path, log: Path) -> None:
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.log = log
        self.proc = subprocess.Popen(
            [str(path), "--host=127.0.0.1", f"--port={self.port}", f"--project={PROJECT}"],
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while "Server started" not in log.read_text():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the Pub/Sub emulator did not start; see {log}")
            time.sleep(0.2)

    def env(self) -> dict[str, str]:
        return {"PUBSUB_EMULATOR_HOST": self.host}

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


@dataclass
class Received:
    data: dict[str, Any]
    ordering_key: str
    attributes: dict[str, str]


class Subscription:
    """A topic and an ordered subscription on it: what a worker would receive."""

    def __init__(self, name: str) -> None:
        """(With PUBSUB_EMULATOR_HOST set to the emulator: the fixture's job.)"""
        from google.cloud import pubsub_v1  # type: ignore[attr-defined]

        self.topic = f"projects/{PROJECT}/topics/{name}"
        self.path = f"projects/{PROJECT}/subscriptions/{name}-worker"
        pubsub_v1.PublisherClient().create_topic(name=self.topic)
        self.client = pubsub_v1.SubscriberClient()
        self.client.create_subscription(
            request={"name": self.path, "topic": self.topic, "enable_message_ordering": True}
        )

    def pull(self) -> list[Received]:
        """Every message delivered so far, acknowledged (pulled until the emulator has no
        more: the publishes were confirmed before the featmon process exited)."""
        out: list[Received] = []
        while True:
            with warnings.catch_warnings():  # deprecated, and what a test needs: no waiting
                warnings.simplefilter("ignore", DeprecationWarning)
                response = self.client.pull(
                    request={
                        "subscription": self.path,
                        "max_messages": 100,
                        "return_immediately": True,
                    },
                    timeout=10,
                )
            if not response.received_messages:
                return out
            for m in response.received_messages:
                out.append(
                    Received(
                        json.loads(m.message.data),
                        m.message.ordering_key,
                        dict(m.message.attributes),
                    )
                )
            self.client.acknowledge(
                request={
                    "subscription": self.path,
                    "ack_ids": [m.ack_id for m in response.received_messages],
                }
            )
