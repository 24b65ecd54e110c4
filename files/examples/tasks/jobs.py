"""The worker's jobs (``rq worker`` imports this module from the app's directory)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from app import redis, release


def record(key: str, seconds: float, past_switch: bool = False) -> None:
    """Take ``seconds``, then record which release ran this job, from start to end.

    With ``past_switch``, the job first waits (up to 10 minutes) until a deploy has switched
    ``current`` away from its own release: a job certain to be running when its worker is
    asked to stop."""
    started, first = time.time(), release()
    current = Path(__file__).resolve().parents[3] / "current"
    while past_switch and current.resolve().name == first and time.time() - started < 600:
        time.sleep(0.2)
    time.sleep(seconds)
    result = {
        "key": key,
        "started": started,
        "ended": time.time(),
        "release": first,
        "release_env": os.environ.get("FLASK_APP_RELEASE", ""),
    }
    redis().rpush("results", json.dumps(result))
