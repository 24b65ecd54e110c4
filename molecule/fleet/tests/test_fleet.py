"""The fleet story, in order: what converge left, then releases rolled with the project's own
site.yml (and playbooks/rollback.yml) across three app hosts behind HAProxy while a load client
on the load balancer sends requests through it. The app (files/examples/board) keeps its data
in the PostgreSQL and queues its jobs in the Redis of a fifth host, which every app host
shares. Each step prints its figures (requests, non-2xx, errors, wall time) and appends them to
$MOLECULE_EPHEMERAL_DIRECTORY/fleet-figures.json.

The hosts are looked at through `docker exec` (root, outside what is tested); Ansible reaches
them over SSH as `deploy`, as converge did.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import pytest

PROJECT = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", Path(__file__).resolve().parents[3]))
EPHEMERAL = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", tempfile.gettempdir()))
LB = "flask-app-fleet-lb"
APPS = ["flask-app-fleet-app1", "flask-app-fleet-app2", "flask-app-fleet-app3"]
ADDRESS = {LB: "172.30.99.10", APPS[0]: "172.30.99.11", APPS[1]: "172.30.99.12"}
ADDRESS[APPS[2]] = "172.30.99.13"
ADDRESS["flask-app-fleet-db"] = "172.30.99.20"
PYTHON = {APPS[0]: "3.11", APPS[1]: "3.11", APPS[2]: "3.13"}
APP = "board"
# flask_app_lb_tls with no certificate given: a self-signed one for the health check's name.
LB_CERTIFICATE = "/etc/haproxy/ssl/self-signed.crt"
HASH_RELEASE = re.compile(r"^[0-9a-f]{12}$")
# Shared between the steps, in file order.
STORY: dict[str, str] = {}
DB = "flask-app-fleet-db"
DB_PASSWORD = "fleet-db-secret-7Q2"
# v2's migration: expand only (a nullable column), so v1 keeps working on the new schema.
MIGRATION_0002 = '''"""Notes can be pinned.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade():
    op.add_column("notes", sa.Column("pinned", sa.Boolean, nullable=True))
    op.execute(
        "INSERT INTO migration_runs (revision, ran_at) VALUES ('0002', CURRENT_TIMESTAMP)"
    )


def downgrade():
    op.drop_column("notes", "pinned")
    op.execute(
        "INSERT INTO migration_runs (revision, ran_at) VALUES ('0002-down', CURRENT_TIMESTAMP)"
    )
'''
# A migration that fails half-way: PostgreSQL's transactional DDL takes the column back.
MIGRATION_0003 = '''"""Broken on purpose.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade():
    op.add_column("notes", sa.Column("colour", sa.String(20), nullable=True))
    op.execute("SELECT no_such_function_in_migration_0003()")


def downgrade():
    op.drop_column("notes", "colour")
'''


def sh(container: str, script: str, check: bool = True) -> str:
    result = subprocess.run(
        ["docker", "exec", container, "sh", "-c", script],
        capture_output=True,
        text=True,
        check=False,
    )
    if check and result.returncode:
        raise AssertionError(f"{container}: {script!r} exited {result.returncode}: {result.stderr}")
    return result.stdout


def py(container: str, code: str) -> str:
    """Run Python code in the container (given on stdin)."""
    result = subprocess.run(
        ["docker", "exec", "-i", container, "python3", "-"],
        input=code,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        raise AssertionError(f"{container}: python exited {result.returncode}: {result.stderr}")
    return result.stdout


def live_release(container: str) -> str:
    return Path(sh(container, f"readlink /srv/{APP}/current").strip()).name


def output(result: subprocess.CompletedProcess[str]) -> str:
    """What the playbook printed (errors go to stderr), whitespace collapsed."""
    return " ".join((result.stdout + result.stderr).split())


def recap(result: subprocess.CompletedProcess[str]) -> dict[str, dict[str, int]]:
    """PLAY RECAP counts per host."""
    counts = {}
    for host, fields in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", result.stdout, re.MULTILINE):
        counts[host] = {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", fields)}
    return counts


class Load:
    """files/bench/flask_app_load.py on the load balancer, through HAProxy on 127.0.0.1."""

    def __init__(self, name: str, rate: int = 100) -> None:
        self.name = name
        self.stop_file = f"/tmp/load-{name}.stop"
        self.out = f"/tmp/load-{name}.json"
        sh(LB, f"rm -f {self.stop_file} {self.out}")
        subprocess.run(
            [
                "docker",
                "exec",
                "-d",
                LB,
                "flask-app-load",
                "--host=board.test",
                "--port=443",
                f"--cafile={LB_CERTIFICATE}",
                "--path=/healthz",
                "--threads=4",
                f"--rate={rate}",
                "--seconds=600",
                f"--stop-file={self.stop_file}",
                f"--out={self.out}",
            ],
            check=True,
        )
        time.sleep(2)
        self.started = time.monotonic()

    def stop(self) -> dict:
        wall = round(time.monotonic() - self.started, 1)
        time.sleep(2)
        sh(LB, f"touch {self.stop_file}")
        for _ in range(60):
            out = sh(LB, f"cat {self.out} 2>/dev/null", check=False)
            if out:
                figures = json.loads(out)
                figures["wall_seconds"] = wall
                return figures
            time.sleep(0.5)
        raise AssertionError(f"the load {self.name} wrote no figures")


def report(step: str, figures: dict, outcome: str) -> None:
    line = (
        f"FLEET {step}: {figures['requests']} requests through HAProxy, "
        f"{figures['non_2xx']} non-2xx, {figures['errors']} errors, "
        f"playbook wall time {figures['wall_seconds']} s; {outcome}"
    )
    print(f"\n{line}")
    path = EPHEMERAL / "fleet-figures.json"
    rows = json.loads(path.read_text()) if path.exists() else []
    rows.append({"step": step, "outcome": outcome, **figures})
    path.write_text(json.dumps(rows, indent=1))


def haproxy_log(since: float) -> list[tuple[float, str]]:
    """HAProxy's journal since an epoch time: (time, message), its own time for requests."""
    out = sh(LB, f"journalctl -u haproxy -o short-unix --no-pager --since=@{int(since) - 1}")
    lines = []
    for line in out.splitlines():
        stamp, _, rest = line.partition(" ")
        try:
            when = float(stamp)
        except ValueError:
            continue
        message = rest.split(": ", 1)[-1]
        # Request lines: the time HAProxy accepted the request, not when it logged it.
        accepted = re.search(r"\[(\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d\.\d{3})\]", message)
        if accepted:
            moment = datetime.strptime(accepted.group(1), "%d/%b/%Y:%H:%M:%S.%f")
            when = moment.replace(tzinfo=timezone.utc).timestamp()
        lines.append((when, message))
    return lines


def drain_windows(log: list[tuple[float, str]], host: str) -> list[tuple[float, float]]:
    """(drained, back) times of each time the host was drained and put back."""
    windows, start = [], None
    for when, message in log:
        if f"flask_app/{host} enters drain state" in message and start is None:
            start = when
        elif f"flask_app/{host} is UP (leaving forced drain)" in message and start is not None:
            windows.append((start, when))
            start = None
    return windows


def requests_to(log: list[tuple[float, str]], host: str) -> list[float]:
    return [
        when for when, message in log if f" flask_app/{host} " in message and '"GET ' in message
    ]


def switch_time(container: str) -> float:
    """When `current` last changed: the switch."""
    return float(py(container, f"import os; print(os.lstat('/srv/{APP}/current').st_mtime)"))


def slot_times(container: str) -> dict[str, float]:
    """When the live slot's Gunicorn became active, when the worker restarted on the release and
    when the other slot stopped."""
    live = Path(sh(container, f"readlink /srv/{APP}/live.sock").strip()).name
    slot = live.removeprefix(f"{APP}@").removesuffix(".sock")
    other = {"blue": "green", "green": "blue"}[slot]
    out = sh(
        container,
        f"systemctl show --timestamp=us+utc -p ActiveEnterTimestamp {APP}@{slot}.service; "
        f"systemctl show --timestamp=us+utc -p InactiveEnterTimestamp {APP}@{other}.service; "
        f"systemctl show --timestamp=us+utc -p ExecMainStartTimestamp {APP}-worker@1.service",
    )
    times = {}
    for line in out.splitlines():
        key, _, value = line.partition("=")
        moment = datetime.strptime(value.strip(), "%a %Y-%m-%d %H:%M:%S.%f UTC")
        times[key] = moment.replace(tzinfo=timezone.utc).timestamp()
    return {
        "started": times["ActiveEnterTimestamp"],
        "processes_moved": times["ExecMainStartTimestamp"],
        "old_stopped": times["InactiveEnterTimestamp"],
    }


# The events of a host's turn, in the order they must happen: drained in HAProxy, its new slot
# started, traffic switched (`current`, once the slot answered its health check), back in
# HAProxy (UP) once the new release answers where Nginx reaches it, then, with the host
# serving, the worker restarted on the release and the old slot stopped.
TURN_EVENTS = ("drained", "started", "switched", "back", "processes_moved", "old_stopped")


def rollout_timeline(
    step: str,
    windows: dict[str, tuple[float, float]],
    started: float,
    ended: float,
    load: dict,
    output: str,
) -> None:
    """Assert the order of each host's turn, print the timeline and, for make bench
    (scripts/bench.py), write it and the playbook's output to
    $FLASK_APP_BENCH_RESULTS/rollout-<step>.json and .log."""
    hosts = []
    for container, (drained, back) in windows.items():
        slots = slot_times(container)
        host = {
            "host": container,
            "drained": drained,
            "started": slots["started"],
            "switched": switch_time(container),
            "processes_moved": slots["processes_moved"],
            "old_stopped": slots["old_stopped"],
            "back": back,
        }
        assert sorted(TURN_EVENTS, key=host.get) == list(TURN_EVENTS), host
        hosts.append(host)
    turns = "; ".join(
        f"{h['host']} "
        + ", ".join(f"{event} {h[event] - h['drained']:+.1f}" for event in TURN_EVENTS[1:])
        for h in hosts
    )
    print(
        f"\nFIGURES {step} rollout timeline: build and ship {hosts[0]['drained'] - started:.1f} s, "
        f"then per host, s after its drain: {turns}; last host back to the end "
        f"{ended - hosts[-1]['back']:.1f} s, all {ended - started:.1f} s"
    )
    if os.environ.get("FLASK_APP_BENCH_RESULTS"):
        timeline = {"started": started, "ended": ended, "hosts": hosts, "load": load}
        path = Path(os.environ["FLASK_APP_BENCH_RESULTS"]) / f"rollout-{step}.json"
        path.write_text(json.dumps(timeline, indent=1))
        path.with_suffix(".log").write_text(output)


def haproxy_stats() -> str:
    """`show stat` from HAProxy's admin socket: CSV, a row per frontend, server and backend."""
    return py(
        LB,
        "import socket\n"
        "s = socket.socket(socket.AF_UNIX)\n"
        "s.connect('/run/haproxy/admin.sock')\n"
        "s.sendall(b'show stat\\n')\n"
        "print(s.makefile().read())\n",
    )


def psql(query: str) -> str:
    """A query's answer from the shared database, as PostgreSQL's superuser on its host."""
    result = subprocess.run(
        ["docker", "exec", "-u", "postgres", DB, "psql", "-tA", "-d", "board", "-c", query],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"{query!r}: {result.stderr}"
    return result.stdout.strip()


def via(container: str, path: str, data: dict | None = None) -> dict:
    """A request for ``path`` from the load balancer host, through HAProxy (``container`` LB)
    or straight to one app host's Nginx on the internal network; the answer's JSON."""
    if container == LB:
        url, context = (
            "https://board.test" + path,
            f"ssl.create_default_context(cafile='{LB_CERTIFICATE}')",
        )
        resolve = "127.0.0.1"
    else:
        url, context, resolve = f"http://board.test{path}", "None", ADDRESS[container]
    return json.loads(
        py(
            LB,
            "import json, socket, ssl, urllib.request\n"
            "real = socket.getaddrinfo\n"
            f"socket.getaddrinfo = lambda host, *a, **k: real({resolve!r} if host == 'board.test'"
            " else host, *a, **k)\n"
            f"data = {json.dumps(data).encode() if data is not None else None!r}\n"
            f"request = urllib.request.Request({url!r}, data=data,"
            " headers={'Content-Type': 'application/json'})\n"
            f"answer = urllib.request.urlopen(request, timeout=10, context={context})\n"
            "print(answer.read().decode())\n",
        )
    )


def variant(kind: str) -> Path:
    """A copy of the board app (files/examples/board): import broken, health check failing,
    v2's migration (a new nullable column the new code uses), v2 with a comment changed, a
    migration that fails, or only a comment changed."""
    target = Path(tempfile.mkdtemp(prefix=f"fleet-{kind}-")) / "board"
    shutil.copytree(PROJECT / "files" / "examples" / "board", target)
    package = target / "src" / "board"
    if kind in ("v2", "v2-redeploy", "failing-migration"):
        (package / "migrations" / "versions" / "0002_pinned.py").write_text(MIGRATION_0002)
        models = package / "models.py"
        created = "    created: Mapped[datetime] = mapped_column("
        pinned = "    pinned: Mapped[bool | None] = mapped_column(db.Boolean, nullable=True)\n"
        text = models.read_text()
        at = text.index("\n", text.index(created)) + 1
        models.write_text(text[:at] + pinned + text[at:])
    if kind == "failing-migration":
        (package / "migrations" / "versions" / "0003_broken.py").write_text(MIGRATION_0003)
    views = package / "views.py"
    text = views.read_text()
    if kind == "broken":
        text = text.replace(
            "from flask import", "import module_that_does_not_exist\nfrom flask import", 1
        )
    elif kind == "unhealthy":
        text = re.sub(
            r'return jsonify\(status="ok", (.*)\)$',
            r'return jsonify(status="failing", \1), 503',
            text,
            flags=re.M,
        )
    else:
        text += f"\n\n# {kind}\n"
    views.write_text(text)
    return target


# --- What converge left ----------------------------------------------------------------------


def test_every_host_was_reached_over_ssh_as_deploy_with_sudo():
    for container in [LB, *APPS]:
        sshd = sh(container, "journalctl -u ssh --no-pager")
        assert "Accepted publickey for deploy" in sshd, container
        assert "COMMAND=" in sh(container, "journalctl _COMM=sudo --no-pager"), container
        assert sh(container, "id -u deploy").strip() != "0"


def test_app_hosts_reach_no_package_index_and_the_load_balancer_does():
    probe = (
        "import socket\n"
        "targets = [('pypi.org', 443), ('files.pythonhosted.org', 443), ('151.101.0.223', 443)]\n"
        "for target in targets:\n"
        "    try:\n"
        "        socket.create_connection(target, 3).close(); print('reached', target[0])\n"
        "    except OSError as error:\n"
        "        print('blocked', target[0], type(error).__name__)\n"
    )
    # All hosts at once: a blocked name waits for the resolver's timeouts.
    with ThreadPoolExecutor(max_workers=len(APPS) + 1) as pool:
        answers = dict(zip([*APPS, LB], pool.map(lambda c: py(c, probe), [*APPS, LB]), strict=True))
    for container in APPS:
        out = answers[container]
        assert "reached" not in out, f"{container} reaches a package index: {out}"
        assert out.count("blocked") == 3
    # The same probe can fail: the load balancer has a way out.
    assert "reached pypi.org" in answers[LB]


def test_every_host_runs_v1_from_the_wheelhouse_of_its_python():
    for container in APPS:
        assert live_release(container) == "v1"
        venv = f"/srv/{APP}/releases/v1/venv"
        assert PYTHON[container] in sh(
            container, f"{venv}/bin/python -c 'import sys; print(sys.version)'"
        )
        installer = sh(
            container, f"cat {venv}/lib/python*/site-packages/gunicorn-*.dist-info/INSTALLER"
        )
        assert installer.strip() == "uv"
        assert (
            sh(container, f"test -e /srv/{APP}/releases/v1/wheelhouse && echo left", check=False)
            == ""
        )
    wheelhouses = sorted(
        path.name for path in (EPHEMERAL / "wheelhouse" / APP / "v1").glob("*.tar")
    )
    assert wheelhouses == ["cp311-glibc2.36-x86_64.tar", "cp313-glibc2.41-x86_64.tar"]


def test_haproxy_checks_every_host_at_layer_7_and_passes_the_client_on():
    stats = haproxy_stats()
    for container in APPS:
        row = next(
            line for line in stats.splitlines() if line.startswith(f"flask_app,{container},")
        )
        assert ",UP," in row and "L7OK" in row, row
    config = sh(LB, "cat /etc/haproxy/haproxy.cfg")
    assert "http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host board.test" in config
    # A client on the internal network, through the load balancer over HTTPS, with a forged
    # header: the app (every host, round robin) sees its real address and the scheme it used,
    # and so do the app hosts' Nginx logs.
    client = APPS[1]
    certificate = sh(LB, f"cat {LB_CERTIFICATE}")
    sh(client, f"cat > /tmp/lb.crt <<'EOF'\n{certificate}EOF")
    https = f"curl -s --cacert /tmp/lb.crt --resolve board.test:443:{ADDRESS[LB]}"
    for _ in range(3):
        page = sh(client, f"{https} -H 'X-Forwarded-For: 6.6.6.6' https://board.test/")
        assert f'id="client">{ADDRESS[client]}<' in page and "6.6.6.6" not in page, page
        assert 'id="scheme">https<' in page, page
    headers = sh(client, f"{https} -o /dev/null -D - https://board.test/healthz")
    assert "strict-transport-security: max-age=" in headers.lower()
    # Plain HTTP only redirects.
    redirect = sh(
        client,
        "curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -H 'Host: board.test' "
        f"http://{ADDRESS[LB]}/",
    )
    assert redirect == "301 https://board.test/", redirect
    time.sleep(1.5)
    for container in APPS:
        log = sh(container, f"cat /var/log/nginx/{APP}.access.log")
        assert log.count(ADDRESS[client]) >= 1, container
    # Straight to an app host, bypassing the load balancer: the forged header is not believed.
    page = sh(
        client,
        f"curl -s -H 'Host: board.test' -H 'X-Forwarded-For: 6.6.6.6' "
        f"-H 'X-Forwarded-Proto: https' http://{ADDRESS[APPS[0]]}/",
    )
    assert f'id="client">{ADDRESS[client]}<' in page and "6.6.6.6" not in page, page
    assert 'id="scheme">http<' in page, "X-Forwarded-Proto is believed from the load balancer only"


def test_every_host_reads_and_writes_the_one_shared_database():
    # v1's migration ran once, on the first host, before any host served.
    assert psql("SELECT version_num FROM alembic_version") == "0001"
    assert psql("SELECT count(*) FROM migration_runs WHERE revision = '0001'") == "1"
    written = via(LB, "/notes", {"text": "written through HAProxy"})
    for container in APPS:
        answer = via(container, "/notes")
        assert answer["host"] == container, answer
        texts = [note["text"] for note in answer["notes"]]
        assert "written through HAProxy" in texts, (container, answer)
        assert written["host"] in APPS
    # The password reaches the service in its 0640 env file only: not in a release's files.
    for container in APPS:
        assert sh(container, f"stat -c '%a %U:%G' /etc/{APP}/env").strip() == f"640 root:{APP}"
        assert DB_PASSWORD in sh(container, f"cat /etc/{APP}/env")
        found = sh(container, f"grep -rl {DB_PASSWORD} /srv/{APP}/ || true")
        assert found == "", f"{container}: the database password is in {found}"


def wait_for_job(key: str, through: str, timeout: float = 60) -> dict:
    """The result of job ``key`` read through one host, once a worker has written it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return via(through, f"/jobs/{key}")
        except AssertionError as error:  # 404 until a worker has run it
            if "404" not in str(error):
                raise
        time.sleep(1)
    raise AssertionError(f"job {key} was not done after {timeout} s")


def singleton_units() -> dict[str, dict[str, str]]:
    """Each app host's ticker instance and scheduled-job timer: is-active, and the unit files."""
    units = f"{APP}-ticker@1.service {APP}-scheduled.timer"
    files = f"/etc/systemd/system/{APP}-ticker@.service /etc/systemd/system/{APP}-scheduled.timer"
    states = {}
    for container in APPS:
        ticker, timer = sh(container, f"systemctl is-active {units} || true").split()
        present = sh(container, f"ls {files} 2>/dev/null || true").split()
        states[container] = {"ticker": ticker, "timer": timer, "files": " ".join(present)}
    return states


def in_cgroup_of(container: str, unit: str, code: str) -> str:
    """Run Python code inside the cgroup of a running unit, where systemd's IP filter of that
    unit applies: the shell moves itself there, then becomes python3."""
    pid = sh(container, f"systemctl show -p MainPID --value {unit}").strip()
    assert pid != "0", f"{unit} is not running on {container}"
    # The unified hierarchy's path (the "0::" line): systemd's IP filter is an eBPF program
    # attached there, at /sys/fs/cgroup on a cgroup v2 host, /sys/fs/cgroup/unified on a
    # hybrid one (as this machine is).
    cgroup = sh(container, f"sed -n 's/^0:://p' /proc/{pid}/cgroup").strip()
    move = (
        "base=/sys/fs/cgroup; [ -e $base/cgroup.controllers ] || base=/sys/fs/cgroup/unified; "
        # Quoted: a unit's path may hold systemd's escapes (system-board\\x2dworker.slice).
        f"echo $$ > \"$base\"'{cgroup}/cgroup.procs' && exec python3 -"
    )
    result = subprocess.run(
        ["docker", "exec", "-i", container, "sh", "-c", move],
        input=code,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_app_exchanges_packets_with_the_database_host_only():
    probe = (
        "import socket\n"
        f"for host, port in (('{ADDRESS[DB]}', 5432), ('{ADDRESS[DB]}', 6379), "
        f"('{ADDRESS[LB]}', 443), ('{ADDRESS[APPS[1]]}', 80)):\n"
        "    try:\n"
        "        socket.create_connection((host, port), 2).close(); print('reached', host, port)\n"
        "    except OSError as error:\n"
        "        print('blocked', host, port, type(error).__name__)\n"
    )
    # Outside the units, every address answers: the filter is the units' own.
    outside = py(APPS[0], probe)
    assert outside.count("reached") == 4, outside
    live = next(
        unit
        for unit in (f"{APP}@blue.service", f"{APP}@green.service")
        if sh(APPS[0], f"systemctl show -p MainPID --value {unit}").strip() != "0"
    )
    for unit in (live, f"{APP}-worker@1.service"):
        allowed = sh(APPS[0], f"systemctl show -p IPAddressAllow --value {unit}")
        assert ADDRESS[DB] in allowed, (unit, allowed)
        inside = in_cgroup_of(APPS[0], unit, probe)
        assert inside.count(f"reached {ADDRESS[DB]}") == 2, (unit, inside)
        assert f"blocked {ADDRESS[LB]} 443" in inside, (unit, inside)
        assert f"blocked {ADDRESS[APPS[1]]} 80" in inside, (unit, inside)


def test_a_job_queued_through_one_host_is_run_by_a_worker_and_read_through_another():
    queued = via(APPS[0], "/jobs", {"key": "through-app1"})
    assert queued["host"] == APPS[0]
    answer = wait_for_job("through-app1", through=APPS[2])
    assert answer["host"] == APPS[2]
    (run,) = answer["runs"]
    assert run["enqueued_by"] == APPS[0] and run["worked_by"] in APPS and run["release"] == "v1"
    for container in APPS:
        assert sh(container, f"systemctl is-active {APP}-worker@1.service").strip() == "active"


def test_the_singletons_run_on_the_primary_host_only():
    states = singleton_units()
    assert states[APPS[0]]["ticker"] == "active" and states[APPS[0]]["timer"] == "active"
    for container in APPS[1:]:
        assert states[container]["files"] == "", f"{container} has singleton units: {states}"
        assert states[container]["ticker"] != "active", states
    time.sleep(6)
    beats = psql("SELECT DISTINCT host FROM heartbeats")
    assert beats.split() == [APPS[0]], beats


# --- Rolling releases under load -------------------------------------------------------------


def test_the_load_balancer_passes_sslyze_mozilla_intermediate():
    """sslyze (PyPI) on the load balancer itself, against HAProxy on 127.0.0.1 with the SNI
    name: every check of Mozilla's intermediate profile passes but the trust of the self-signed
    certificate."""
    sh(
        LB,
        "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null && "
        "python3 -m venv /opt/sslyze && /opt/sslyze/bin/pip install --quiet "
        "--disable-pip-version-check sslyze==6.3.1",
    )
    result = subprocess.run(
        [
            "docker",
            "exec",
            LB,
            "/opt/sslyze/bin/python",
            "-m",
            "sslyze",
            "--mozilla_config=intermediate",
            "board.test{127.0.0.1}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    report = result.stdout
    print(f"FIGURES sslyze on HAProxy: {report[report.find('COMPLIANCE') :][:1200]}")
    assert "SCANS COMPLETED" in report, report[-3000:] + result.stderr
    section = report.split("COMPLIANCE AGAINST TLS CONFIGURATION", 1)[-1]
    issues = sorted(re.findall(r"^\s+\* (\w+):", section, re.M))
    assert issues == ["certificate_path_validation"], report[-2500:]


def test_v2_rolls_host_by_host_under_load_with_nothing_lost(run_playbook):
    source = variant("v2")
    before = time.time()
    load = Load("v2")
    # A job still running when its worker is told to stop: it waits for its host's switch.
    via(LB, "/jobs", {"key": "across-v2", "seconds": 5, "past_switch": True})
    started = time.time()
    result = run_playbook({"flask_app_src": str(source), "flask_app_version": ""})
    ended = time.time()
    figures = load.stop()
    releases = {container: live_release(container) for container in APPS}
    report("v2 rolling deploy", figures, f"exit {result.returncode}, live {releases}")
    assert result.returncode == 0, result.stdout[-3000:]
    assert figures["requests"] > 200 and figures["non_2xx"] == 0 and figures["errors"] == 0, figures
    # The content hash names the release, the same on every host.
    assert len(set(releases.values())) == 1 and HASH_RELEASE.match(releases[APPS[0]]), releases
    STORY["v2"] = releases[APPS[0]]
    # Each host was drained in HAProxy before it switched and put back after; no request went
    # to it in between, and the hosts were drained one at a time.
    log = haproxy_log(before)
    windows = []
    for container in APPS:
        (window,) = drain_windows(log, container)
        assert window[0] < switch_time(container) < window[1] + 1, (container, window)
        inside = [t for t in requests_to(log, container) if window[0] + 0.05 < t < window[1]]
        assert inside == [], f"{container} got requests while drained"
        assert requests_to(log, container), f"{container} served nothing"
        windows.append(window)
    for earlier, later in itertools.pairwise(windows):
        assert earlier[1] <= later[0], "two hosts drained at once with flask_app_serial 1"
    # v2's migration ran exactly once, on the shared database, before the first host drained;
    # the last host kept serving v1 on the migrated schema until its own turn.
    assert psql("SELECT version_num FROM alembic_version") == "0002"
    assert psql("SELECT count(*) FROM migration_runs WHERE revision = '0002'") == "1"
    migrated = float(
        psql("SELECT extract(epoch FROM ran_at) FROM migration_runs WHERE revision = '0002'")
    )
    assert started < migrated < windows[0][0], (started, migrated, windows[0][0])
    assert [t for t in requests_to(log, APPS[2]) if migrated < t < windows[2][0]]
    assert DB_PASSWORD not in result.stdout + result.stderr, "the database password was printed"
    # The job in progress across its host's switch finished, on the release it started on.
    (run,) = wait_for_job("across-v2", through=APPS[1])["runs"]
    assert run["release"] == "v1" and run["worked_by"] in APPS, run
    # The singletons: the ticker beat from app1 only, and the job fired once a minute.
    span = f"at BETWEEN to_timestamp({started}) AND to_timestamp({ended})"
    assert psql(f"SELECT DISTINCT host FROM heartbeats WHERE {span}").split() == [APPS[0]]
    per_minute = psql(
        f"SELECT date_trunc('minute', at), count(*), string_agg(DISTINCT host, ',')"
        f" FROM scheduled_runs WHERE {span} GROUP BY 1 ORDER BY 1"
    ).splitlines()
    print(f"\nFIGURES scheduled job during the v2 rollout, per minute: {per_minute}")
    assert len(per_minute) >= int((ended - started) // 60) - 1, per_minute
    for row in per_minute:
        _, count, hosts = row.split("|")
        assert count == "1" and hosts == APPS[0], per_minute
    # After the rollout the singletons still run on the primary host alone, and beat from it.
    states = singleton_units()
    assert states[APPS[0]]["ticker"] == "active" and states[APPS[0]]["timer"] == "active", states
    for container in APPS[1:]:
        assert states[container]["ticker"] != "active" and states[container]["files"] == "", states
    time.sleep(6)
    after = f"at > to_timestamp({ended})"
    assert psql(f"SELECT DISTINCT host FROM heartbeats WHERE {after}").split() == [APPS[0]]
    # Where the rollout's time goes (printed; written for make bench): the order of each host's
    # events is asserted, their times belong to the bench.
    rollout_timeline(
        "v2", dict(zip(APPS, windows, strict=True)), started, ended, figures, result.stdout
    )


def test_v3_failing_its_preflight_stops_the_rollout_before_any_host_drains(run_playbook):
    before = time.time()
    load = Load("v3")
    # With the scenario's rollout commands: the preflight on every host comes before them, so
    # the broken import is refused before `flask db upgrade` would import it.
    result = run_playbook({"flask_app_src": str(variant("broken")), "flask_app_version": "v3"})
    figures = load.stop()
    releases = {container: live_release(container) for container in APPS}
    report("v3 preflight fails", figures, f"exit {result.returncode}, live {releases}")
    assert result.returncode != 0
    text = output(result)
    assert "failed its preflight" in text and "module_that_does_not_exist" in text, text[-3000:]
    assert "flask_app_rollout_commands:" not in text, "the rollout commands ran"
    assert releases == dict.fromkeys(APPS, STORY["v2"]), "no host changed release"
    assert figures["non_2xx"] == 0 and figures["errors"] == 0, figures
    log = haproxy_log(before)
    assert not any(drain_windows(log, container) for container in APPS), "a host was drained"
    # Built on every host before the first switch, live nowhere.
    for container in APPS:
        assert (
            sh(container, f"test -f /srv/{APP}/releases/v3/.flask_app_release.json && echo built")
            == "built\n"
        )


def test_v4_with_a_failing_migration_stops_the_rollout_before_any_host_switches(run_playbook):
    """(A release failing its health check stops a rollout the same way v3 does, at its first
    host; that it never serves, its live Gunicorn untouched, is molecule/upgrade's.)"""
    before = time.time()
    load = Load("v4")
    result = run_playbook(
        {"flask_app_src": str(variant("failing-migration")), "flask_app_version": "v4"}
    )
    figures = load.stop()
    releases = {container: live_release(container) for container in APPS}
    report("v4 migration fails", figures, f"exit {result.returncode}, live {releases}")
    assert result.returncode != 0
    text = output(result)
    assert "flask_app_rollout_commands:" in text, text[-3000:]
    assert "before any host switched to it; every host keeps serving" in text, text[-3000:]
    # The cause from the end of the output, not only Alembic's INFO lines before it.
    assert "no_such_function_in_migration_0003" in text, text[-3000:]
    assert releases == dict.fromkeys(APPS, STORY["v2"])
    assert figures["non_2xx"] == 0 and figures["errors"] == 0, figures
    log = haproxy_log(before)
    assert not any(drain_windows(log, container) for container in APPS), "a host was drained"
    # One transaction: the schema is where v2 left it.
    assert psql("SELECT version_num FROM alembic_version") == "0002"
    columns = "SELECT count(*) FROM information_schema.columns WHERE table_name = 'notes'"
    assert psql(f"{columns} AND column_name = 'colour'") == "0"


# --- Bad input: refused with the variable named, before any host changes ----------------------


# (id, extra vars, what the error says). Every one must fail before any host changes.
BAD_FLEET_INPUTS = [
    ("serial-0", {"flask_app_serial": 0}, 'flask_app_serial="0" is not allowed'),
    ("serial-negative", {"flask_app_serial": -1}, 'flask_app_serial="-1" is not allowed'),
    ("serial-0-percent", {"flask_app_serial": "0%"}, 'flask_app_serial="0%" is not allowed'),
    (
        "empty-backend-group",
        {"flask_app_lb_backend_group": "nosuchgroup"},
        'flask_app_lb_backend_group="nosuchgroup" names no hosts',
    ),
    (
        "certificate-without-key",
        {"flask_app_lb_tls_certificate": "/etc/ssl/certs/hello.pem"},
        "flask_app_lb_tls_certificate_key",
    ),
    (
        # Source only on PyPI: no wheel for the hosts' Pythons, so no wheelhouse.
        "dependency-without-wheel",
        {"flask_app_pip_packages": ["pycrypto==2.6.1"]},
        "could not build the wheelhouses of release v9",
    ),
    (
        # The database host is in the inventory, but not an app host of the run.
        "primary-host-not-an-app-host",
        {"flask_app_primary_host": DB},
        'flask_app_primary_host="flask-app-fleet-db" is not one of the app\'s hosts',
    ),
    (
        "unreachable-backend",
        {"flask_app_lb_backend_address": "172.30.99.99"},
        "Set each app host's flask_app_lb_backend_address",
    ),
]


@pytest.fixture(scope="module", name="bad_fleet_runs")
def bad_fleet_runs_fixture(run_playbook) -> dict:
    """Every bad fleet input's run, four at a time: none may change a host, so side by side
    proves what one by one would (the hosts are checked after all of them)."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = pool.map(
            run_playbook,
            [{"flask_app_version": "v9", **extra} for _, extra, _ in BAD_FLEET_INPUTS],
        )
        return dict(zip([name for name, _, _ in BAD_FLEET_INPUTS], results, strict=True))


@pytest.mark.parametrize(
    ("case", "message"),
    [pytest.param(name, message, id=name) for name, _, message in BAD_FLEET_INPUTS],
)
def test_bad_fleet_input_is_refused_before_any_host_changes(bad_fleet_runs, case, message):
    result = bad_fleet_runs[case]
    assert result.returncode != 0
    assert message in output(result), output(result)[-2000:]
    for host, counts in recap(result).items():
        assert counts["changed"] == 0, (host, counts)
    for container in APPS:
        assert live_release(container) == STORY["v2"]
        assert sh(container, f"test -e /srv/{APP}/releases/v9 && echo made", check=False) == ""


def test_a_wheelhouse_missing_a_dependency_stops_the_rollout_before_any_switch(run_playbook):
    # The Python 3.13 wheelhouse of v5 is built as the role would, then loses MarkupSafe.
    source = variant("v5")
    dest = EPHEMERAL / "wheelhouse" / APP / "v5"
    subprocess.run(
        [
            sys.executable,
            str(PROJECT / "roles/flask_app/files/build_wheelhouse.py"),
            f"--dest={dest}",
            "--target=3.13:2.41:x86_64",
            f"--app={source}",
            "--uv-version=0.13.9",
            "gunicorn==27.0.1",
            "setproctitle==1.3.8",
        ],
        check=True,
        capture_output=True,
    )
    archive = dest / "cp313-glibc2.41-x86_64.tar"
    kept = io.BytesIO()
    with tarfile.open(archive) as old, tarfile.open(fileobj=kept, mode="w") as new:
        for member in old.getmembers():
            if "markupsafe" not in member.name:
                new.addfile(member, old.extractfile(member) if member.isfile() else None)
    archive.write_bytes(kept.getvalue())

    load = Load("v5")
    result = run_playbook({"flask_app_src": str(source), "flask_app_version": "v5"})
    figures = load.stop()
    releases = {container: live_release(container) for container in APPS}
    report(
        "v5 wheelhouse misses a dependency", figures, f"exit {result.returncode}, live {releases}"
    )
    assert result.returncode != 0
    text = output(result)
    assert (
        "could not be installed from the wheelhouse" in text and "flask_app_wheelhouse_dir" in text
    )
    assert "markupsafe" in text.lower()
    assert releases == dict.fromkeys(APPS, STORY["v2"])
    assert figures["non_2xx"] == 0 and figures["errors"] == 0, figures
    assert (
        sh(
            APPS[2],
            f"test -f /srv/{APP}/releases/v5/.flask_app_release.json && echo built",
            check=False,
        )
        == ""
    )


# --- Back to v1 -----------------------------------------------------------------------------


def roll_back_to_v1_under_load(run_playbook, step: str, extra: dict) -> float:
    """playbooks/rollback.yml to v1 under load: it succeeds, v1 everywhere, nothing failed.
    Returns when it started."""
    before = time.time()
    load = Load(step.split()[0])
    result = run_playbook(
        {"flask_app_rollback_to": "v1", **extra}, playbook="playbooks/rollback.yml"
    )
    figures = load.stop()
    releases = {container: live_release(container) for container in APPS}
    report(step, figures, f"exit {result.returncode}, live {releases}")
    assert result.returncode == 0, result.stdout[-3000:]
    assert releases == dict.fromkeys(APPS, "v1")
    assert figures["non_2xx"] == 0 and figures["errors"] == 0, figures
    return before


def test_the_fleet_rolls_back_in_batches_and_takes_the_schema_back_after_the_last_host(
    run_playbook,
):
    # 67 % of three hosts: batches of two, then one. The downgrade runs from v2, the release
    # left, which knows the way down of its migration; once, after the last host is back.
    downgrade = "flask --app \"board:create_app('production')\" db downgrade 0001"
    before = roll_back_to_v1_under_load(
        run_playbook,
        "rollback to v1 in batches, then the downgrade (serial 67%)",
        {"flask_app_serial": "67%", "flask_app_rollback_commands": [downgrade]},
    )
    log = haproxy_log(before)
    (first,), (second,), (third,) = (drain_windows(log, container) for container in APPS)
    assert first[0] < second[1] and second[0] < first[1], "hosts 1 and 2 drained together"
    assert max(first[1], second[1]) <= third[0], "host 3 in a batch of its own, after them"
    assert psql("SELECT version_num FROM alembic_version") == "0001"
    assert psql("SELECT count(*) FROM migration_runs WHERE revision = '0002-down'") == "1"
    downgraded = float(
        psql("SELECT extract(epoch FROM ran_at) FROM migration_runs WHERE revision = '0002-down'")
    )
    assert downgraded > third[1], (downgraded, third)
    # The code went back first (README, "Fleet"): v1 on hosts 1 and 2 served on v2's schema
    # while host 3 had its turn, which is all a rollback without rollback commands does.
    for container, window in zip(APPS[:2], (first, second), strict=True):
        served = [t for t in requests_to(log, container) if window[1] < t < third[1]]
        assert served, f"{container} served nothing on v1 before the downgrade"
    columns = "SELECT count(*) FROM information_schema.columns WHERE table_name = 'notes'"
    assert psql(f"{columns} AND column_name = 'pinned'") == "0"
    via(LB, "/notes", {"text": "v1 on its own schema again"})
    for container in APPS:
        answer = via(container, "/notes")
        assert answer["release"] == "v1", answer
        assert "v1 on its own schema again" in [n["text"] for n in answer["notes"]]
    # A second run switches no host, so it runs no downgrade.
    again = run_playbook(
        {"flask_app_rollback_to": "v1", "flask_app_rollback_commands": [downgrade]},
        playbook="playbooks/rollback.yml",
    )
    assert again.returncode == 0, again.stdout[-3000:]
    assert psql("SELECT count(*) FROM migration_runs WHERE revision = '0002-down'") == "1"


def test_the_singletons_move_to_a_named_primary_host_never_running_on_two(run_playbook):
    # Last: the ticker and the minutely job move from app1 (the default, first of the group)
    # to app2, named by flask_app_primary_host; no code changes, so no host switches.
    started = time.time()
    result = run_playbook({"flask_app_primary_host": APPS[1]})
    ended = time.time()
    assert result.returncode == 0, result.stdout[-3000:]
    print(f"\nFIGURES singletons moved to {APPS[1]} in {ended - started:.1f} s")
    states = singleton_units()
    assert states[APPS[1]]["ticker"] == "active" and states[APPS[1]]["timer"] == "active", states
    for container in (APPS[0], APPS[2]):
        assert states[container]["files"] == "", f"{container} has singleton units: {states}"
        assert states[container]["ticker"] != "active", states
    time.sleep(6)
    # The old primary's last beat came before the new one's first: never two tickers at once.
    span = f"at > to_timestamp({started})"
    last_old, first_new, hosts_after = psql(
        f"SELECT (SELECT extract(epoch FROM max(at)) FROM heartbeats"
        f" WHERE host = '{APPS[0]}' AND {span}),"
        f" (SELECT extract(epoch FROM min(at)) FROM heartbeats WHERE host = '{APPS[1]}'),"
        f" (SELECT string_agg(DISTINCT host, ',') FROM heartbeats"
        f" WHERE at > to_timestamp({ended}))"
    ).split("|")
    assert hosts_after == APPS[1], hosts_after
    if last_old:  # app1 may have stopped before its next beat in this run
        assert float(last_old) < float(first_new), (last_old, first_new)
    # No code changed: no host was drained, every host kept its release.
    assert not any(drain_windows(haproxy_log(started), container) for container in APPS)
    assert {container: live_release(container) for container in APPS} == dict.fromkeys(APPS, "v1")


# One merged line: "<inventory host> <UTC time> <identifier>[<pid>]: <message>". Found anywhere
# in the output, as the callback may print the listing as a block or as one quoted string.
JOURNAL_ENTRY = re.compile(r"(flask-app-fleet-app\d) (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}) ")


def journal_entries(output: str) -> list[tuple[str, str]]:
    return JOURNAL_ENTRY.findall(output)


def test_the_logs_of_every_app_host_come_merged_in_time_order(run_playbook):
    result = run_playbook({"flask_app_logs_since": "2h"}, playbook="playbooks/logs.yml")
    assert result.returncode == 0, result.stdout[-3000:]
    assert all(counts["changed"] == 0 for counts in recap(result).values())
    entries = journal_entries(result.stdout)
    assert {host for host, _ in entries} == set(APPS), result.stdout[-3000:]
    times = [when for _, when in entries]
    assert times == sorted(times)
    matching = run_playbook(
        {"flask_app_logs_since": "2h", "flask_app_logs_grep": "Started board@"},
        playbook="playbooks/logs.yml",
    )
    assert matching.returncode == 0, matching.stdout[-3000:]
    found = journal_entries(matching.stdout)
    # Every line shown is one of systemd's "Started board@<slot>.service" of some host.
    assert found and len(found) == matching.stdout.count("Started board@"), found[:5]
    print(f"\nFIGURES logs: {len(entries)} journal lines from {len(APPS)} hosts in 2 h")


# --- For make bench only (scripts/bench.py selects it; molecule.yml's `-k` leaves it out) ------


def test_bench_a_single_host_redeploy(run_playbook):
    """The same rollout of changed code on one app host (--limit): what the 3-host rollout is
    compared with. Under the same load; no assertion on its time."""
    before = time.time()
    load = Load("single")
    started = time.time()
    result = run_playbook(
        {"flask_app_src": str(variant("v2-redeploy")), "flask_app_version": ""},
        f"--limit={LB},{APPS[0]}",
    )
    ended = time.time()
    figures = load.stop()
    assert result.returncode == 0, result.stdout[-3000:]
    (window,) = drain_windows(haproxy_log(before), APPS[0])
    rollout_timeline("single-host", {APPS[0]: window}, started, ended, figures, result.stdout)
