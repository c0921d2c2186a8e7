"""The demo's prediction coordinator: a small real HTTP server on 127.0.0.1 that answers
`POST /regenerate-with-supersede` like the platform's (header `X-API-Key`, body
`{game_date, reason, metadata}`, 202 `{"status": "accepted", "batch_id"}`), so `featmon demo
--loop` can show `remediation.mode: auto` end to end without a platform.

Only the demo starts it (monitor/demo/loop.py). Like the real coordinator it answers first
and regenerates afterwards: an accepted request waits in `pending` until the demo's clock
reaches the batch (`run_batches`), which supersedes every active prediction of the date and
writes regenerated ones from the store's current rows. The demo runs it in its own process,
so the batch writes the DuckDB file between featmon's runs, never during one.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from monitor.demo.schema import PREDICTIONS_TABLE, STORE_TABLE, insert_rows
from monitor.warehouse.duckdb import DuckDBWarehouse

PATH = "/regenerate-with-supersede"
# The critical features a worker logs beside the store's copy of the prop line.
CRITICAL = ("vegas_points_line", "ppm_avg_last_10", "team_win_pct", "opponent_def_rating")


@dataclass(frozen=True)
class Accepted:
    """A request the coordinator said yes to: what came in, and the batch it became."""

    batch_id: str
    game_date: dt.date
    body: dict[str, Any]


@dataclass(frozen=True)
class Batch:
    """A regeneration that ran: the date's predictions it superseded and wrote."""

    batch_id: str
    game_date: dt.date
    superseded: int
    written: int
    at: dt.datetime


class DemoCoordinator:
    def __init__(self, warehouse: Path, api_key: str) -> None:
        self.warehouse = warehouse
        self.pending: list[Accepted] = []
        self._lock = threading.Lock()
        coordinator = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, payload = coordinator._answer(
                    self.path, self.headers.get("X-API-Key") == api_key, body
                )
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the demo prints the loop itself

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def _answer(self, path: str, key_ok: bool, raw: bytes) -> tuple[int, dict[str, Any]]:
        if path != PATH:
            return 404, {"error": f"no such endpoint {path}"}
        if not key_ok:
            return 401, {"error": "missing or wrong X-API-Key"}
        try:
            body = json.loads(raw)
            day = dt.date.fromisoformat(body["game_date"])
        except (ValueError, KeyError, TypeError):
            return 400, {"error": "body must be JSON with game_date YYYY-MM-DD"}
        with self._lock:
            batch_id = f"demo-batch-{len(self.pending) + 1}"
            self.pending.append(Accepted(batch_id, day, body))
        return 202, {"status": "accepted", "batch_id": batch_id}

    def run_batches(self, at: dt.datetime) -> list[Batch]:
        """Run the accepted requests' regenerations, as of `at` (the demo's clock)."""
        with self._lock:
            todo, self.pending = self.pending, []
        wh = DuckDBWarehouse(self.warehouse, read_only=False)
        try:
            return [_regenerate(wh, a, at) for a in todo]
        finally:
            wh.close()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _regenerate(wh: DuckDBWarehouse, request: Accepted, at: dt.datetime) -> Batch:
    """Supersede the date's active predictions; predict again, per (player, system) that
    had one, from the store's current row of that player."""
    day = {"day": request.game_date}
    served = wh.con.execute(
        f"SELECT DISTINCT player_lookup, system_id, game_id FROM {PREDICTIONS_TABLE} "
        "WHERE game_date = $day AND is_active ORDER BY player_lookup, system_id",
        day,
    ).fetchall()
    store = {
        row[0]: row
        for row in wh.con.execute(
            f"SELECT player_lookup, feature_names, features, feature_quality_score, "
            f"feature_version FROM {STORE_TABLE} WHERE game_date = $day",
            day,
        ).fetchall()
    }
    superseded = wh.con.execute(
        f"SELECT COUNT(*) FROM {PREDICTIONS_TABLE} WHERE game_date = $day AND is_active", day
    ).fetchone()
    wh.execute(
        f"UPDATE {PREDICTIONS_TABLE} SET is_active = FALSE, superseded = TRUE "
        "WHERE game_date = $day AND is_active",
        day,
    )
    rows = [
        _prediction(request, store[player], system, game_id, at)
        for player, system, game_id in served
        if player in store
    ]
    insert_rows(wh, PREDICTIONS_TABLE, rows)
    count = int(superseded[0]) if superseded else 0
    return Batch(request.batch_id, request.game_date, count, len(rows), at)


def _prediction(
    request: Accepted, store_row: tuple[Any, ...], system: str, game_id: str, at: dt.datetime
) -> dict[str, Any]:
    player, names, values, quality, version = store_row
    features = dict(zip(names, values, strict=True))
    quality = float(quality)
    line = float(features.get("vegas_points_line", 0.0))
    predicted = round(float(features.get("points_avg_last_5", line)), 1)
    critical = {k: features[k] for k in CRITICAL if k in features}
    critical["fs_vegas_points_line"] = line
    return {
        "prediction_id": str(
            uuid.uuid5(uuid.NAMESPACE_URL, f"{request.batch_id}/{player}/{system}")
        ),
        "system_id": system,
        "player_lookup": player,
        "game_date": request.game_date,
        "game_id": game_id,
        "predicted_points": predicted,
        "current_points_line": line,
        "recommendation": "OVER" if predicted > line else "UNDER",
        "confidence_score": 70.0,
        "is_active": True,
        "superseded": False,
        "superseded_by": None,
        "created_at": at,
        "updated_at": at,
        "predicted_at": at,
        "feature_quality_score": quality,
        "critical_features": critical,
        "features_snapshot": {
            **features,
            "feature_version": version,
            "feature_quality_score": quality,
        },
    }


def _prediction_id(batch_id: str, player: str, system: str) -> str:
    """A stable id per batch, player and system: the demo is the same every time."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{batch_id}/{player}/{system}"))
