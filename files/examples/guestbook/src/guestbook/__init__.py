"""A packaged factory app written the way Flask's tutorial teaches.

``create_app()`` loads ``config.py`` from the instance folder (secrets, per-deployment
settings), creates that folder, and keeps its SQLite database in it. Installed as a package,
Flask puts the instance folder at ``<venv>/var/guestbook-instance``.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask

__all__ = ["create_app"]


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        SECRET_KEY="dev",
        TITLE="Guestbook",
        DATABASE=os.path.join(app.instance_path, "guestbook.sqlite"),
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
    else:
        app.config.from_mapping(test_config)
    os.makedirs(app.instance_path, exist_ok=True)

    from guestbook import db, views

    db.init_app(app)
    app.register_blueprint(views.bp)
    return app
