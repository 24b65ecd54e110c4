"""The app's pages: a greeting, and a guest list kept in a file in the instance folder."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, current_app, render_template, request
from flask.typing import ResponseReturnValue

simple_page = Blueprint("simple_page", __name__, template_folder="templates")


def _guests_file() -> Path:
    return Path(current_app.instance_path) / "guests.txt"


@simple_page.get("/")
def index() -> ResponseReturnValue:
    return render_template("pages/index.html", greeting=current_app.config["GREETING"])


@simple_page.get("/guests")
def guests() -> ResponseReturnValue:
    path = _guests_file()
    return {"guests": path.read_text().splitlines() if path.exists() else []}


@simple_page.post("/guests")
def add_guest() -> ResponseReturnValue:
    name = request.form.get("name", "").strip()
    if not name or "\n" in name:
        return {"error": "name is required"}, 400
    with _guests_file().open("a") as handle:
        handle.write(name + "\n")
    return {"added": name}, 201
