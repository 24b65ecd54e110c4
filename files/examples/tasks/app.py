"""A plain-directory factory app with the parts real apps have besides their web pages.

- an RQ worker (``rq worker``) runs ``jobs.record`` from a Redis queue;
- a scheduled job (``flask --app app tick``) the role runs from a systemd timer;
- a build step (``flask --app app build-assets``) that writes ``static/app.css`` into the release;
- a ``logs/`` directory it creates next to its code, as the tutorial apps do.

Every result names the release that produced it (``FLASK_APP_RELEASE``, set by the role), so
the tests can tell which code ran a job.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

import click
from flask import Flask, current_app, jsonify, request
from redis import Redis
from rq import Queue

HERE = Path(__file__).resolve().parent
EDITION = "first edition"


def redis() -> Redis:
    return Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))


def release() -> str:
    """The release this process runs: its code's directory, resolved (releases/<name>/app)."""
    return HERE.parent.name


def create_app() -> Flask:
    app = Flask(__name__)
    # Next to the code, relative to the working directory, as the tutorial app does.
    os.makedirs("logs", exist_ok=True)
    handler = logging.FileHandler("logs/app.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    app.logger.addHandler(handler)
    app.logger.setLevel(logging.INFO)

    @app.get("/")
    def index() -> dict[str, str]:
        return {"app": "tasks", "edition": EDITION, "release": release()}

    @app.get("/healthz")
    def healthz() -> tuple[str, int]:
        return "ok", 200

    @app.post("/jobs")
    def enqueue() -> tuple[dict[str, str], int]:
        key = request.form["key"]
        seconds = float(request.form.get("seconds", "0"))
        past_switch = request.form.get("past_switch") == "1"
        job = Queue(connection=redis()).enqueue(
            "jobs.record", key, seconds, past_switch, job_timeout=900
        )
        app.logger.info("enqueued %s as %s", key, job.id)
        return {"key": key, "job": job.id}, 202

    @app.get("/results")
    def results() -> object:
        return jsonify([json.loads(line) for line in redis().lrange("results", 0, -1)])

    @app.cli.command("tick")
    @click.option("--seconds", default=0.0, help="How long the run takes.")
    def tick(seconds: float) -> None:
        """The scheduled job: one line per run, with its start, end and release at both."""
        started, first = time.time(), release()
        time.sleep(seconds)
        run = {
            "started": started,
            "ended": time.time(),
            "release_at_start": first,
            "release_at_end": Path.cwd().resolve().parent.name,
            "debug": current_app.debug,
        }
        redis().rpush("ticks", json.dumps(run))

    @app.cli.command("build-assets")
    def build_assets() -> None:
        """The build step: concatenate assets/*.css into static/app.css, inside the release."""
        target = HERE / "static"
        target.mkdir(exist_ok=True)
        css = "".join(path.read_text() for path in sorted((HERE / "assets").glob("*.css")))
        (target / "app.css").write_text(f"/* built for {release()} */\n{css}")

    return app
