"""Behaviour of the sample app, exercised through Flask's test client."""

from __future__ import annotations

import logging

import pytest
from flask import Flask

from hello import create_app


@pytest.fixture
def app() -> Flask:
    return create_app("testing")


def test_index_renders_greeting_from_config(app: Flask) -> None:
    app.config["GREETING"] = "Hi there"
    response = app.test_client().get("/")
    assert response.status_code == 200
    assert b"<h1>Hi there</h1>" in response.data


def test_healthz_reports_release(app: Flask) -> None:
    app.config["RELEASE"] = "abc123"
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "release": "abc123"}


def test_proxy_headers_are_honoured(app: Flask) -> None:
    response = app.test_client().get(
        "/",
        headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"},
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
    )
    assert b'<dd id="client">203.0.113.7</dd>' in response.data
    assert b'<dd id="scheme">https</dd>' in response.data


def test_configs_are_chosen_by_name() -> None:
    assert create_app("development").debug is True
    assert create_app("testing").testing is True


def test_unknown_config_name_is_refused() -> None:
    with pytest.raises(ValueError, match="allowed: development, production, testing"):
        create_app("staging")


def test_production_requires_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    from hello import config

    monkeypatch.setattr(config.ProductionConfig, "SECRET_KEY", None)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app("production")


def test_logger_joins_gunicorn_error_log_when_present() -> None:
    gunicorn_error = logging.getLogger("gunicorn.error")
    handler = logging.StreamHandler()
    gunicorn_error.addHandler(handler)
    gunicorn_error.setLevel(logging.WARNING)
    try:
        app = create_app("testing")
        assert app.logger.handlers == [handler]
        assert app.logger.level == logging.WARNING
    finally:
        gunicorn_error.removeHandler(handler)


def test_notes_persist_in_the_instance_folder(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELLO_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app("testing")
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    client = app.test_client()
    assert client.post("/notes", json={"text": "remember me"}).status_code == 201
    assert client.post("/notes", data={"text": ""}).status_code == 400
    # A second app (a new release) over the same instance folder sees the note.
    again = create_app("testing").test_client().get("/notes").get_json()
    assert again == [{"id": 1, "text": "remember me"}]
    assert (tmp_path / "instance" / "notes.sqlite3").is_file()


def test_slow_endpoint_is_off_unless_turned_on(app: Flask) -> None:
    assert app.test_client().get("/slow?seconds=0").status_code == 404
    app.config["SLOW_ENDPOINT"] = True
    response = app.test_client().get("/slow?seconds=0")
    assert response.status_code == 200
    assert response.get_json()["slept"] == 0.0
