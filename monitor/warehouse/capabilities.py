"""What each warehouse can do, asked by name so that nothing outside monitor/warehouse/
compares backend strings: the config, the CLI and the daemon ask for a capability."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Capabilities:
    # Dry runs that report bytes (cost estimates and the budget guard).
    dry_run: bool
    # INFORMATION_SCHEMA.PARTITIONS.last_modified_time per partition (write times).
    partition_metadata: bool
    # One local file: a writer's lock keeps readers out, and featmon can build it (the demo).
    embedded_file: bool


CAPABILITIES = {
    "duckdb": Capabilities(dry_run=False, partition_metadata=False, embedded_file=True),
    "bigquery": Capabilities(dry_run=True, partition_metadata=True, embedded_file=False),
}


def capabilities_of(backend: str) -> Capabilities:
    return CAPABILITIES[backend]
