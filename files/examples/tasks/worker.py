"""The RQ worker, started as ``python worker.py`` (RQ's documented way to run a worker of your
own): SIGTERM asks it for a warm shutdown, so the job it is running finishes first."""

from __future__ import annotations

from app import redis
from rq import Queue, Worker

if __name__ == "__main__":
    Worker([Queue(connection=redis())], connection=redis()).work()
