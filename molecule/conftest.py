"""Shared by the scenarios' testinfra tests: run the project's site.yml as a user would."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

PROJECT = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", Path(__file__).resolve().parents[1]))

RunPlaybook = Callable[..., subprocess.CompletedProcess[str]]


def playbook_command(extra_vars_file: str, *args: str, playbook: str = "site.yml") -> list[str]:
    """``ansible-playbook <playbook> -e @extra_vars_file`` against the scenario's inventory."""
    return [
        "ansible-playbook",
        "-i",
        os.environ["MOLECULE_INVENTORY_FILE"],
        str(PROJECT / playbook),
        "-e",
        f"@{extra_vars_file}",
        *args,
    ]


PLAIN_OUTPUT = {"ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"}


def run_playbook(
    extra_vars: dict, *args: str, playbook: str = "site.yml"
) -> subprocess.CompletedProcess[str]:
    """``ansible-playbook <playbook> -e @extra_vars`` against the scenario's own inventory."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(extra_vars, handle)
    try:
        return subprocess.run(
            playbook_command(handle.name, *args, playbook=playbook),
            capture_output=True,
            text=True,
            env={**os.environ, **PLAIN_OUTPUT},
            timeout=900,
            check=False,
        )
    finally:
        os.unlink(handle.name)


def start_playbook(
    extra_vars: dict, directory: Path, *args: str, playbook: str = "site.yml"
) -> subprocess.Popen[str]:
    """Start ``run_playbook``'s command in the background, in its own process group (so a test
    can kill the whole run as an operator's crash would), output to pipes."""
    vars_file = directory / f"vars-{os.urandom(4).hex()}.json"
    vars_file.write_text(json.dumps(extra_vars))
    return subprocess.Popen(
        playbook_command(str(vars_file), *args, playbook=playbook),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **PLAIN_OUTPUT},
        start_new_session=True,
    )


@pytest.fixture(name="run_playbook", scope="session")
def run_playbook_fixture() -> RunPlaybook:
    return run_playbook


def _live_unit(host, app: str, kind: str = "service") -> str:
    """``<app>@<slot>.service`` (or ``.socket``) of the slot Nginx reaches now: the one
    /srv/<app>/live.sock names (blue or green)."""
    target = host.file(f"/srv/{app}/live.sock").linked_to
    slot = Path(target).name.removeprefix(f"{app}@").removesuffix(".sock")
    return f"{app}@{slot}.{kind}"


@pytest.fixture(name="live_unit")
def live_unit_fixture() -> Callable[..., str]:
    """``live_unit(host, app, kind="service")``: the unit of the app's live slot."""
    return _live_unit


# What `pip freeze` lists, from the venv's own Python: the role's release venvs (made by uv) have
# no pip. One ``name==version`` line per installed distribution.
FREEZE = (
    "import importlib.metadata as m; "
    "print('\\n'.join(sorted(d.metadata['Name'] + '==' + d.version for d in m.distributions())))"
)


def _venv_freeze(host, venv: str) -> str:
    return host.check_output(f'{venv}/bin/python -c "{FREEZE}"')


@pytest.fixture(name="venv_freeze")
def venv_freeze_fixture() -> Callable[..., str]:
    """``venv_freeze(host, venv)``: the venv's installed distributions, as ``pip freeze``."""
    return _venv_freeze


@pytest.fixture(name="start_playbook", scope="session")
def start_playbook_fixture() -> Callable[..., subprocess.Popen[str]]:
    return start_playbook


class WebhookReceiver(http.server.ThreadingHTTPServer):
    """A webhook receiver on the controller's 127.0.0.1 (the events are sent from the
    controller; tests send no traffic to a container's bridge address): every JSON body POSTed
    to it, in order, in ``events``."""

    def __init__(self) -> None:
        self.events: list[dict] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.events.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}/deploys?token=hook-secret-9"


@pytest.fixture(name="webhook_receiver", scope="session")
def webhook_receiver_fixture() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    thread = threading.Thread(target=receiver.serve_forever, daemon=True)
    thread.start()
    yield receiver
    receiver.shutdown()
