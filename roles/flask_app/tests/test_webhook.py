"""The webhook's events: what the JSON says, and that delivery failures become reasons (the
action turns them into warnings), tried against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import http.server
import json
import socket
import threading
from collections.abc import Iterator
from typing import ClassVar

import pytest
from role_code import load

webhook = load("action_plugins/flask_app_webhook.py")
RUN = {"user": "ann", "controller": "laptop", "playbook": "site.yml", "pid": 4711}


def test_an_event_names_the_app_release_hosts_and_run_without_secrets():
    body = webhook.webhook_event("deploy_started", "hello", "v3", ["app2", "app1"], RUN, now=0)
    assert body == {
        "event": "deploy_started",
        "app": "hello",
        "release": "v3",
        "hosts": ["app1", "app2"],
        "by": "ann@laptop",
        "playbook": "site.yml",
        "time": "1970-01-01T00:00:00Z",
    }
    failed = webhook.webhook_event("deploy_failed", "hello", message="x" * 5000)
    assert len(failed["message"]) == 2000 and failed["release"] is None


def test_unknown_events_are_refused():
    with pytest.raises(ValueError, match="deploy_started"):
        webhook.webhook_event("deployed", "hello")


class Receiver(http.server.BaseHTTPRequestHandler):
    status = 204
    received: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        Receiver.received.append(json.loads(self.rfile.read(length)))
        self.send_response(Receiver.status)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(name="receiver")
def receiver_fixture() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Receiver.received.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook?token=s3cret"
    server.shutdown()


def test_a_receiver_that_answers_2xx_takes_the_event(receiver):
    Receiver.status = 204
    body = webhook.webhook_event("deploy_succeeded", "hello", "v3", ["app1"], RUN)
    assert webhook.deliver(receiver, body) == ""
    assert Receiver.received == [body]


def test_an_error_status_or_no_receiver_is_a_reason_not_an_exception(receiver):
    Receiver.status = 500
    body = webhook.webhook_event("deploy_failed", "hello", message="boom")
    assert webhook.deliver(receiver, body) == "HTTP 500"
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    reason = webhook.deliver(f"http://127.0.0.1:{port}/hook?token=s3cret", body, timeout=2)
    assert reason and "s3cret" not in reason
