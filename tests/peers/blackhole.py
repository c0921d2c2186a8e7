"""A peer that accepts connections and never answers: a hung Slack or webhook receiver, as
seen from the client (the TCP handshake succeeds, then silence until the client gives up)."""

from __future__ import annotations

import socket
import threading


class BlackHole:
    """Listens on 127.0.0.1; counts the connections it accepted and holds them open."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port = int(self._sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}/"
        self.held: list[socket.socket] = []
        self._stopped = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def connections(self) -> int:
        return len(self.held)

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self) -> None:
        self._stopped.set()
        self._sock.close()
        for conn in self.held:
            conn.close()
