"""The ``main`` blueprint: the page and the health check."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template, request
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
