"""Guarded regeneration (docs/actions.md): asking the coordinator to regenerate a date's
predictions when featmon's checks show they were built from features the store no longer
holds. `plan.py` decides (guards, the exact request), `coordinator.py` sends (bounded
retries), `act.py` is the protocol (claim under a lease, send, record, reply in the
incident's thread); the log lives in monitor/persistence/remediations.py, and the recovery
figures a resolution carries in `recovery.py`."""
