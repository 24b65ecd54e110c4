"""A notice board that every app host of a fleet serves from one PostgreSQL database and one
Redis queue.

``create_app(config_name)`` builds the app; ``flask --app board db upgrade`` (Flask-Migrate)
brings the shared schema to this release's revision, once per rollout; ``rq worker board``
runs the queued jobs (every host), ``flask --app board ticker`` is a process that must run on
one host only, ``flask --app board scheduled`` a job a timer fires once per minute.
"""

from __future__ import annotations

import os

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from board.config import CONFIGS
from board.models import db, migrate

__all__ = ["create_app"]

MIGRATIONS = os.path.join(os.path.dirname(__file__), "migrations")


def create_app(config_name: str | None = None) -> Flask:
    """Build the app for ``config_name`` (development, testing, production; default
    ``FLASK_CONFIG``, else production)."""
    name = config_name or os.environ.get("FLASK_CONFIG", "production")
    try:
        config = CONFIGS[name]
    except KeyError:
        allowed = ", ".join(sorted(CONFIGS))
        raise ValueError(f"unknown config {name!r}; allowed: {allowed}") from None

    app = Flask(__name__)
    app.config.from_object(config)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        raise RuntimeError("DATABASE_URL must be set in the environment for production")
    if not app.config["SECRET_KEY"]:
        raise RuntimeError("SECRET_KEY must be set in the environment for production")
    # Nginx is the one proxy in front of the app: trust one hop of X-Forwarded-*.
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]

    db.init_app(app)
    # The migrations ship inside the package, so `flask db` finds them from any directory.
    migrate.init_app(app, db, directory=MIGRATIONS)

    from board.views import bp

    app.register_blueprint(bp)
    _add_commands(app)
    return app


def _add_commands(app: Flask) -> None:
    """``flask --app board ticker`` (a singleton process) and ``scheduled`` (a timer's job)."""
    import time

    import click

    from board import jobs

    @app.cli.command("ticker")
    @click.option("--every", default=5.0, help="Seconds between beats.")
    def ticker(every: float) -> None:
        """Beat every ``--every`` seconds until stopped: one host must run it, never two."""
        while True:
            jobs.beat()
            time.sleep(every)

    @app.cli.command("scheduled")
    def scheduled() -> None:
        """Record one run of the scheduled job."""
        jobs.scheduled()
