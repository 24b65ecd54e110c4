"""The worker's jobs (``rq worker`` imports this module from the app's directory)."""

from __future__ import annotations

import json
import os
import time

from app import redis, release


def record(key: str, seconds: float) -> None:
    """Take ``seconds``, then record which release ran this job, from start to end."""
    started, first = time.time(), release()
    time.sleep(seconds)
    result = {
        "key": key,
        "started": started,
        "ended": time.time(),
        "release": first,
        "release_env": os.environ.get("FLASK_APP_RELEASE", ""),
    }
    redis().rpush("results", json.dumps(result))
