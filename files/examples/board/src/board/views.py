"""The ``main`` blueprint: the page, the notes API and the health check."""

from __future__ import annotations

import socket

from flask import Blueprint, current_app, jsonify, render_template, request
from flask.typing import ResponseReturnValue

from board.models import Note, db

bp = Blueprint("main", __name__)


def _served_by() -> dict[str, str]:
    return {"release": current_app.config["RELEASE"], "host": socket.gethostname()}


@bp.get("/")
def index() -> ResponseReturnValue:
    notes = db.session.scalars(db.select(Note).order_by(Note.id.desc()).limit(20)).all()
    return render_template(
        "index.html",
        notes=notes,
        scheme=request.scheme,
        client=request.remote_addr,
        **_served_by(),
    )


@bp.get("/notes")
def list_notes() -> ResponseReturnValue:
    notes = db.session.scalars(db.select(Note).order_by(Note.id)).all()
    return jsonify(
        notes=[{"id": n.id, "text": n.text, "host": n.host, "release": n.release} for n in notes],
        **_served_by(),
    )


@bp.post("/notes")
def add_note() -> ResponseReturnValue:
    text = (request.get_json(silent=True) or {}).get("text") or request.form.get("text", "")
    if not text or len(text) > 500:
        return jsonify(error="give a text of 1 to 500 characters"), 400
    served = _served_by()
    note = Note(text=text, host=served["host"], release=served["release"])
    db.session.add(note)
    db.session.commit()
    return jsonify(id=note.id, **served), 201


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    # Liveness of this host only: a database outage must not take every host out of the load
    # balancer at once (the pages fail then, the check does not).
    return jsonify(status="ok", **_served_by())
