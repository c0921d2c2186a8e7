"""The Pub/Sub emulator for the invalidation tests: one per module, a fresh topic and
subscription per test."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.peers import pubsub

_topics = itertools.count(1)


@pytest.fixture(scope="module")
def pubsub_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[pubsub.Emulator]:
    path = pubsub.launcher()
    if path is None:
        pytest.skip("the Pub/Sub emulator is not installed (google-cloud-cli-pubsub-emulator)")
    emulator = pubsub.Emulator(path, tmp_path_factory.mktemp("pubsub") / "emulator.log")
    yield emulator
    emulator.stop()


@pytest.fixture
def subscription(
    pubsub_emulator: pubsub.Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> pubsub.Subscription:
    """A new topic and the ordered subscription a worker would read it through."""
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", pubsub_emulator.host)
    return pubsub.Subscription(f"store-writes-{next(_topics)}")
