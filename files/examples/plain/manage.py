"""A factory app as many are written: a directory of modules, no package, no pyproject.toml.

Started from this directory as ``gunicorn "manage:create_app('config.py')"``; the modules import
each other as top-level modules. Data lives in Flask's instance folder (``instance/`` next to
this file), which the factory creates.
"""

from __future__ import annotations

import os

from blueprint import simple_page
from flask import Flask


def create_app(config_filename: str) -> Flask:
    app = Flask(__name__)
    app.config.from_pyfile(config_filename)
    os.makedirs(app.instance_path, exist_ok=True)
    app.register_blueprint(simple_page)
    return app
