"""A deploy interrupted under load, at three points one after the other, is finished by the next
run.

The interruption is the controller's ansible-playbook killed outright with its workers (as a
dropped SSH session, a closed laptop or an operator's kill would end it): nothing of the run
gets to clean up. (SIGINT, Ctrl-C, did not make a reliable test: in one CI run the run it
interrupted went on to its end with exit 0, and in a trial by hand ansible-playbook hung after
it.)

Runs after test_upgrade.py (file order), which checks the story's end state. One new release
name of the same sample app is deployed with site.yml; the run is interrupted when uv installs
the release's venv, the re-run when the new slot is being checked (the overlap), and the
re-run of that right after live.sock moved; each time the remote work of the interrupted run is
let end first. The last re-run must end on the new release, checked through Nginx's path, with
one slot running and not a failed request throughout. (One chain instead of three separate
deploys: each point is still a run interrupted there and re-run, in half the runs.)
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

PROJECT = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", Path(__file__).resolve().parents[3]))
APP = "hello"
HOST_HEADER = "hello.test"
LOAD = "/usr/local/bin/flask-app-load"


def playbook(release: str) -> list[str]:
    return [
        "ansible-playbook",
        "-i",
        os.environ["MOLECULE_INVENTORY_FILE"],
        str(PROJECT / "site.yml"),
        "-e",
        # Each re-run breaks the lock the killed run left, as its operator would
        # (molecule/multi checks the refusal that comes first).
        json.dumps({"flask_app_version": release, "flask_app_lock_break": True}),
    ]


# Unbuffered: each task's header reaches the test the moment it is printed.
ENV = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0", "PYTHONUNBUFFERED": "1"}


def kill_run(pid: int) -> None:
    """Kill ansible-playbook and its workers (each in a session of its own): frozen first, so
    it forks no new worker meanwhile."""
    os.kill(pid, signal.SIGSTOP)
    workers = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    for worker in workers.split():
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(worker), signal.SIGKILL)
    os.killpg(pid, signal.SIGKILL)


def interrupt_at(marker: str, release: str, after: float) -> tuple[int, str]:
    """Run site.yml for ``release`` and kill it ``after`` s into task ``marker``."""
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(
            playbook(release),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=ENV,
            start_new_session=True,
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            out.write(line)
            if marker in line:
                time.sleep(after)
                kill_run(proc.pid)
                break
        else:
            proc.wait()
            out.seek(0)
            pytest.fail(f"task {marker!r} never started:\n{out.read()[-3000:]}")
        rest, _ = proc.communicate(timeout=120)
        out.write(rest)
        out.seek(0)
        return proc.returncode, out.read()


# (task that starts, seconds into it): where each run of the chain is interrupted.
INTERRUPTS = [
    # During the build: uv is installing the release's venv (about a second's work).
    ("TASK [flask_app : Install the app and Gunicorn into the release venv with uv]", 0.3),
    # During the overlap: the new slot starts and imports, traffic not moved yet.
    ("TASK [flask_app : Check the release on the socket of slot", 0.3),
    # Right after the switch: live.sock names the new slot, `current` and the old slot not yet
    # changed.
    ("TASK [flask_app : Link live.sock from", 0.0),
]
RELEASE = "v5"


def wait_for_the_remote_side(host) -> None:
    """The interrupted run's remote side (docker exec) goes on by itself: let it end, as sshd's
    hang-up would end it on a real server."""
    for _ in range(120):
        if host.run("pgrep -f '[p]ip install|[u]v pip|[s]ystemctl '").rc != 0:
            return
        time.sleep(1)


def test_the_next_run_finishes_a_deploy_interrupted_at_each_point(host):
    release = RELEASE
    host.check_output(
        f"rm -f /tmp/int-{release}.stop /tmp/int-{release}.json; nohup python3 {LOAD} "
        f"--host={HOST_HEADER} --threads=4 --rate=100 --seconds=600 "
        f"--stop-file=/tmp/int-{release}.stop --out=/tmp/int-{release}.json >/dev/null 2>&1 &"
    )
    try:
        for marker, after in INTERRUPTS:
            code, first = interrupt_at(marker, release, after)
            assert code != 0, f"the run was not interrupted at {marker!r}:\n{first[-3000:]}"
            wait_for_the_remote_side(host)
        rerun = subprocess.run(
            playbook(release), capture_output=True, text=True, env=ENV, timeout=900, check=False
        )
    finally:
        host.run(f"touch /tmp/int-{release}.stop")
    output = rerun.stdout + rerun.stderr
    assert rerun.returncode == 0, output[-4000:]
    # The re-run checked the app where Nginx reaches it.
    assert "TASK [flask_app : Check the app's health where Nginx reaches it]" in output
    health = json.loads(
        host.check_output(f"curl --silent --fail -H 'Host: {HOST_HEADER}' http://127.0.0.1/healthz")
    )
    assert health["release"] == release
    assert host.file(f"/srv/{APP}/current").linked_to == f"/srv/{APP}/releases/{release}"
    running = [
        slot for slot in ("blue", "green") if host.service(f"{APP}@{slot}.service").is_running
    ]
    assert len(running) == 1, running
    for _ in range(30):
        if host.file(f"/tmp/int-{release}.json").exists:
            break
        time.sleep(1)
    figures = json.loads(host.file(f"/tmp/int-{release}.json").content_string)
    print(f"FIGURES interrupted at {len(INTERRUPTS)} points in a row, then re-run: {figures}")
    assert figures["requests"] > 100
    assert figures["non_2xx"] == 0 and figures["errors"] == 0, figures
