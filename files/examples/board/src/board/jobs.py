"""The queue (RQ on Redis) and what runs off the web request: the worker's job, the singleton
ticker and the scheduled job. Each writes to PostgreSQL which host and release did it."""

from __future__ import annotations

import socket
import time
from datetime import datetime, timezone
from pathlib import Path

from flask import Flask, current_app
from redis import Redis
from rq import Queue

from board.models import Heartbeat, JobResult, ScheduledRun, db

QUEUE = "board"
_worker_app: Flask | None = None


def queue() -> Queue:
    """The queue every host's web service enqueues to and every host's worker consumes."""
    return Queue(QUEUE, connection=Redis.from_url(current_app.config["REDIS_URL"]))


def _app() -> Flask:
    """The worker's app, built once per worker process (RQ imports this module, not the app)."""
    global _worker_app
    if _worker_app is None:
        from board import create_app

        _worker_app = create_app()
    return _worker_app


def _switched_away(release: str) -> bool:
    """Whether the release the role's ``current`` link names (a parent of the worker's working
    directory holds it) is no longer ``release``."""
    for parent in Path.cwd().parents:
        if (parent / "current").is_symlink():
            return (parent / "current").resolve().name != release
    return True


def record(key: str, enqueued_by: str, seconds: float = 0.0, past_switch: bool = False) -> None:
    """The worker's job: take ``seconds``, then write which host and release ran it. With
    ``past_switch`` it first waits (up to 10 minutes) until a deploy has switched its host away
    from its release: a job certain to be running when its worker is asked to stop."""
    app = _app()
    with app.app_context():
        started = datetime.now(timezone.utc)
        deadline = time.monotonic() + 600
        while past_switch and not _switched_away(app.config["RELEASE"]):
            if time.monotonic() > deadline:
                break
            time.sleep(0.5)
        time.sleep(min(max(seconds, 0.0), 300.0))
        db.session.add(
            JobResult(
                key=key,
                enqueued_by=enqueued_by,
                worked_by=socket.gethostname(),
                release=app.config["RELEASE"],
                started=started,
            )
        )
        db.session.commit()


def beat() -> None:
    """One beat of the singleton ticker."""
    db.session.add(Heartbeat(host=socket.gethostname(), release=current_app.config["RELEASE"]))
    db.session.commit()


def scheduled() -> None:
    """One run of the scheduled job."""
    db.session.add(ScheduledRun(host=socket.gethostname(), release=current_app.config["RELEASE"]))
    db.session.commit()
