"""The ``notes`` blueprint: a small persistent feature, stored in SQLite in the instance folder.

The database lives in ``app.instance_path`` (``instance/`` next to the working directory unless
``HELLO_INSTANCE_PATH`` says otherwise), which the flask_app role keeps outside the release
with ``flask_app_shared_paths`` so notes survive new releases and rollbacks.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import click
from flask import Blueprint, Flask, current_app, g, jsonify, request
from flask.cli import with_appcontext
from flask.typing import ResponseReturnValue

bp = Blueprint("notes", __name__, url_prefix="/notes")

SCHEMA = "CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)"


def database_path() -> Path:
    return Path(current_app.instance_path) / "notes.sqlite3"


def get_db() -> sqlite3.Connection:
    if "db" not in g:
        g.db = sqlite3.connect(database_path(), timeout=10)
    return g.db


def close_db(_error: BaseException | None = None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.close()


@bp.get("")
def list_notes() -> ResponseReturnValue:
    rows = get_db().execute("SELECT id, text FROM notes ORDER BY id").fetchall()
    return jsonify([{"id": row[0], "text": row[1]} for row in rows])


@bp.post("")
def add_note() -> ResponseReturnValue:
    text = (request.get_json(silent=True) or {}).get("text") or request.form.get("text", "")
    if not text.strip():
        return jsonify(error="text is required"), 400
    db = get_db()
    with db:
        cursor = db.execute("INSERT INTO notes (text) VALUES (?)", (text.strip(),))
    return jsonify(id=cursor.lastrowid, text=text.strip()), 201


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Create the notes table (safe to run again: existing notes are kept)."""
    Path(current_app.instance_path).mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(database_path()) as db:
        db.execute(SCHEMA)
    click.echo(f"notes database ready at {database_path()}")


def init_app(app: Flask) -> None:
    app.teardown_appcontext(close_db)
    app.cli.add_command(init_db_command)
    app.register_blueprint(bp)
