"""The board's behaviour on SQLite in memory, schema made by its own migrations."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import downgrade, upgrade

from board import create_app
from board.models import MigrationRun, db


@pytest.fixture(name="app")
def app_fixture() -> Iterator[Flask]:
    app = create_app("testing")
    with app.app_context():
        upgrade()
        yield app


@pytest.fixture(name="client")
def client_fixture(app: Flask) -> FlaskClient:
    return app.test_client()


def test_the_migrations_make_the_schema_and_record_their_run(app: Flask) -> None:
    runs = db.session.scalars(db.select(MigrationRun.revision)).all()
    assert runs == ["0001"]
    downgrade(revision="base")
    assert "notes" not in db.inspect(db.engine).get_table_names()


def test_a_note_written_is_read_back_with_who_served_it(client: FlaskClient) -> None:
    written = client.post("/notes", json={"text": "hello fleet"})
    assert written.status_code == 201
    notes = client.get("/notes").get_json()
    assert [n["text"] for n in notes["notes"]] == ["hello fleet"]
    assert notes["notes"][0]["host"] == written.get_json()["host"]
    assert "hello fleet" in client.get("/").get_data(as_text=True)


def test_an_empty_note_is_refused(client: FlaskClient) -> None:
    assert client.post("/notes", json={"text": ""}).status_code == 400


def test_the_health_check_names_release_and_host(client: FlaskClient) -> None:
    answer = client.get("/healthz").get_json()
    assert answer["status"] == "ok" and answer["release"] and answer["host"]


def test_production_needs_a_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("board.config.ProductionConfig.SQLALCHEMY_DATABASE_URI", None)
    with pytest.raises(RuntimeError, match="DATABASE_URL"):
        create_app("production")
