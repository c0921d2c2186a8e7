"""The cache-invalidation signal: each new store version of a game date that is today or
later, announced once to a Pub/Sub topic and/or a webhook (docs/actions.md).
`announce.py` is the protocol (intent, publish, mark), `publishers.py` the transports; the
log lives in monitor/persistence/invalidations.py."""
