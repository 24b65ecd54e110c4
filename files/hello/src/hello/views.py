"""The ``main`` blueprint: the page and the health check."""

from __future__ import annotations

import time

from flask import Blueprint, abort, current_app, jsonify, render_template, request
from flask.typing import ResponseReturnValue

bp = Blueprint("main", __name__)


@bp.get("/")
def index() -> ResponseReturnValue:
    current_app.logger.info("index requested by %s", request.remote_addr)
    return render_template(
        "index.html",
        greeting=current_app.config["GREETING"],
        release=current_app.config["RELEASE"],
        scheme=request.scheme,
        client=request.remote_addr,
        host=request.host,
    )


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    return jsonify(status="ok", release=current_app.config["RELEASE"])


@bp.get("/slow")
def slow() -> ResponseReturnValue:
    """Answer after ``seconds`` (at most 30), when HELLO_SLOW_ENDPOINT=1 turned it on."""
    if not current_app.config["SLOW_ENDPOINT"]:
        abort(404)
    seconds = min(max(request.args.get("seconds", 1.0, type=float), 0.0), 30.0)
    time.sleep(seconds)
    return jsonify(slept=seconds, release=current_app.config["RELEASE"])
