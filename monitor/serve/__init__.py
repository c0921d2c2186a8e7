"""`featmon serve`: one small read-only HTTP service beside the daemon (Cloud Run service).

- `versions.py`: the store-version endpoint's answers (featmon's history, else the store),
  bounded by a per-request timeout and shared for a few seconds between callers;
- `status.py`: the status page's content (incidents, silences, runs, timelines) as HTML;
- `server.py`: the HTTP server (standard library), routes and caching headers.

Every request opens the warehouse read-only and closes it, so the service never holds the
embedded DuckDB file's write lock a `featmon check` needs. docs/serve.md.
"""
