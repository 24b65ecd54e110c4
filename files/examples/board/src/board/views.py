"""The ``main`` blueprint: the page, the notes API and the health check."""

from __future__ import annotations

import socket

from flask import Blueprint, current_app, jsonify, render_template, request
from flask.typing import ResponseReturnValue

from board import jobs
from board.models import JobResult, Note, db

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


@bp.post("/jobs")
def enqueue() -> ResponseReturnValue:
    """Queue ``record(key)`` for a worker on any host; ``seconds`` and ``past_switch`` make it
    a long job (see ``jobs.record``)."""
    body = request.get_json(silent=True) or {}
    key = str(body.get("key", ""))
    if not 1 <= len(key) <= 64:
        return jsonify(error="give a key of 1 to 64 characters"), 400
    served = _served_by()
    seconds = float(body.get("seconds", 0))
    past_switch = bool(body.get("past_switch", False))
    jobs.queue().enqueue(jobs.record, key, served["host"], seconds, past_switch, job_timeout=900)
    return jsonify(key=key, **served), 202


@bp.get("/jobs/<key>")
def job_result(key: str) -> ResponseReturnValue:
    """What the worker recorded for ``key``, read from the shared database by any host."""
    rows = db.session.scalars(db.select(JobResult).where(JobResult.key == key)).all()
    if not rows:
        return jsonify(key=key, done=False, **_served_by()), 404
    return jsonify(
        key=key,
        done=True,
        runs=[
            {"enqueued_by": r.enqueued_by, "worked_by": r.worked_by, "release": r.release}
            for r in rows
        ],
        **_served_by(),
    )


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    # Liveness of this host only: a database outage must not take every host out of the load
    # balancer at once (the pages fail then, the check does not).
    return jsonify(status="ok", **_served_by())
