"""The sample application: ``create_app(config_name)`` builds a configured Flask app."""

from __future__ import annotations

import logging
import os
import time

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from hello.config import CONFIGS

__all__ = ["create_app"]


def create_app(config_name: str | None = None) -> Flask:
    """Build the app for ``config_name`` (development, testing, production).

    Without a name, ``FLASK_CONFIG`` decides, and production is the fallback so that a
    forgotten setting never turns on debugging on a server.
    """
    name = config_name or os.environ.get("FLASK_CONFIG", "production")
    try:
        config = CONFIGS[name]
    except KeyError:
        allowed = ", ".join(sorted(CONFIGS))
        raise ValueError(f"unknown config {name!r}; allowed: {allowed}") from None

    # Stands in for the imports of a real app (SQLAlchemy models, Babel catalogues, clients):
    # HELLO_STARTUP_DELAY seconds before the app exists, so deploy tests see what users see.
    delay = float(os.environ.get("HELLO_STARTUP_DELAY", "0") or 0)
    if delay > 0:
        time.sleep(delay)

    # instance/ relative to the working directory: under the flask_app role that is the
    # release, where instance/ is a shared path kept in /var/lib/<app>/.
    instance = os.environ.get("HELLO_INSTANCE_PATH", "instance")
    app = Flask(__name__, instance_path=os.path.abspath(instance))
    app.config.from_object(config)
    if name == "production" and not app.config["SECRET_KEY"]:
        raise RuntimeError("SECRET_KEY must be set in the environment for production")

    # Nginx is the one proxy in front of the app: trust one hop of X-Forwarded-*.
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]
    _log_through_gunicorn(app)

    from hello import notes
    from hello.views import bp

    app.register_blueprint(bp)
    notes.init_app(app)
    return app


def _log_through_gunicorn(app: Flask) -> None:
    """Under Gunicorn, send ``app.logger`` to Gunicorn's error log at Gunicorn's level."""
    gunicorn_logger = logging.getLogger("gunicorn.error")
    if gunicorn_logger.handlers:
        app.logger.handlers = gunicorn_logger.handlers
        app.logger.setLevel(gunicorn_logger.level)
        app.logger.propagate = False
