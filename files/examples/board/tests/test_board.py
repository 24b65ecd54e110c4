"""The board's behaviour on SQLite in memory, schema made by its own migrations."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import downgrade, upgrade

from board import create_app, jobs
from board.models import MigrationRun, ScheduledRun, db


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


def test_the_workers_job_records_who_ran_it(app: Flask, client: FlaskClient, monkeypatch) -> None:
    monkeypatch.setattr(jobs, "_worker_app", app)
    jobs.record("k1", "app1")
    answer = client.get("/jobs/k1").get_json()
    assert answer["done"] and answer["runs"][0]["enqueued_by"] == "app1"
    assert client.get("/jobs/none-such").status_code == 404


def test_a_job_is_queued_for_any_hosts_worker(client: FlaskClient, monkeypatch) -> None:
    queued = []

    class FakeQueue:
        def enqueue(self, *args: object, **kwargs: object) -> None:
            queued.append(args)

    monkeypatch.setattr(jobs, "queue", FakeQueue)
    assert client.post("/jobs", json={"key": "k2", "seconds": 3}).status_code == 202
    assert queued[0][0] is jobs.record and queued[0][1] == "k2" and queued[0][3] == 3.0
    assert client.post("/jobs", json={}).status_code == 400


def test_the_scheduled_job_records_one_run_per_call(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["scheduled"])
    assert result.exit_code == 0, result.output
    assert len(db.session.scalars(db.select(ScheduledRun)).all()) == 1
