"""Who a run is, for the notification lease and the delivery claims, and whether the run
behind a name is still alive.

A holder is `host:pid:nonce`. A lease or claim normally ends when its holder releases it
or its expiry passes; a holder on this host whose process is gone (killed mid-send) is
known dead at once, so the next run takes over without waiting out the expiry.
"""

from __future__ import annotations

import os
import socket
import uuid

HOST = socket.gethostname()


def new_holder() -> str:
    return f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def known_dead(holder: str | None) -> bool:
    """True only when `holder` ran on this host and its process no longer exists."""
    if not holder:
        return False
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != HOST or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False
