"""The guestbook's pages."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask.typing import ResponseReturnValue

from guestbook.db import get_db

bp = Blueprint("guestbook", __name__)

# Changed by the scenario's redeploy, so each release can be told apart.
EDITION = "first edition"


@bp.get("/")
def index() -> ResponseReturnValue:
    names = [row[0] for row in get_db().execute("SELECT name FROM entry ORDER BY id")]
    return render_template(
        "index.html", title=current_app.config["TITLE"], edition=EDITION, names=names
    )


@bp.get("/entries")
def entries() -> ResponseReturnValue:
    names = [row[0] for row in get_db().execute("SELECT name FROM entry ORDER BY id")]
    return {"entries": names, "edition": EDITION}


@bp.post("/entries")
def sign() -> ResponseReturnValue:
    name = request.form.get("name", "").strip()
    if not name:
        return {"error": "name is required"}, 400
    db = get_db()
    with db:
        db.execute("INSERT INTO entry (name) VALUES (?)", (name,))
    return {"added": name}, 201
