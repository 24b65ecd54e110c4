#!/usr/bin/env python3
"""`make bench`: every figure in one run, then the report (scripts/bench_report.py).

1. Converge cost, on a fresh container of the demo image (`flask-app-bench`): the first
   converge of site.yml, a no-op re-run (its task counts), a redeploy of changed code, the same
   no-op re-run over SSH with pipelining instead of `docker exec`, and the release build alone
   with pip and with uv.
2. Throughput, latency and a deploy under load on the demo host (playbooks/bench.yml).
3. Rollouts on the fleet scenario's five containers (molecule/fleet): its v2 rollout across
   three app hosts and a redeploy of one, their timelines per host.

`--smoke` (by hand, with `--inventory` of a converged test host) skips 1 and 3 and measures 2 for a
couple of seconds: it proves the benchmark still runs, its figures mean nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bench_report

ROOT = Path(__file__).resolve().parents[1]
CONTAINER = "flask-app-bench"
SSH_PORT = 2222
# The bench container is new every run; its host key is never worth remembering.
NO_HOST_KEY_CHECK = "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
RECAP = re.compile(r"ok=(\d+)\s+changed=(\d+)\s+unreachable=\d+\s+failed=\d+\s+skipped=(\d+)")


def playbook(*args: str, inventory: str | None = "inventory/demo") -> dict[str, float | int]:
    """Run ansible-playbook and return its wall time and the recap's task counts.

    ``inventory=None``: the implicit localhost, on the controller's own Python.
    """
    started = time.monotonic()
    result = subprocess.run(
        ["ansible-playbook", *(["-i", inventory] if inventory else []), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        # Molecule (which runs the smoke mode) sets ANSIBLE_FORCE_COLOR for its own output.
        env={**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"},
        check=False,
    )
    seconds = time.monotonic() - started
    if result.returncode != 0:
        sys.exit(f"ansible-playbook {' '.join(args)} failed:\n{result.stdout[-4000:]}")
    recaps = RECAP.findall(ANSI.sub("", result.stdout))
    figures: dict[str, float | int] = {"seconds": round(seconds, 1)}
    if recaps:  # the task counts are for the report; the run itself already succeeded
        ok, changed, skipped = (int(n) for n in recaps[-1])
        figures.update(ok=ok, changed=changed, skipped=skipped)
    return figures


def in_container(*argv: str) -> str:
    return subprocess.run(
        ["docker", "exec", CONTAINER, *argv], capture_output=True, text=True, check=True
    ).stdout


def timed_in_container(script: str) -> float:
    started = time.monotonic()
    in_container("sh", "-ec", script)
    return round(time.monotonic() - started, 1)


def bench_inventory(work: Path, name: str, connection: dict[str, str]) -> list[str]:
    """ansible-playbook arguments for the bench container in group flask_app.

    Its connection is host vars of its own inventory (as extra vars they would also apply to
    the tasks the role delegates to localhost); the demo inventory adds its group_vars.
    """
    host = {"ansible_user": "root", **connection}
    inventory = work / f"{name}.json"
    inventory.write_text(json.dumps({"flask_app": {"hosts": {CONTAINER: host}}}))
    return ["-i", str(inventory), "--limit", CONTAINER]


def converge_cost(work: Path) -> dict[str, object]:
    subprocess.run(["docker", "rm", "-f", CONTAINER], capture_output=True, check=False)
    playbook(
        "playbooks/demo-host.yml",
        "-e",
        f"demo_container={CONTAINER}",
        "-e",
        "demo_http_port=8081",
        "-e",
        f"demo_ssh_port={SSH_PORT}",
        inventory=None,
    )
    docker = bench_inventory(work, "docker", {"ansible_connection": "community.docker.docker"})
    source = ["-e", f"flask_app_src={ROOT / 'files' / 'hello'}"]
    figures: dict[str, object] = {}
    figures["first"] = playbook("site.yml", *docker, *source)
    figures["noop"] = playbook("site.yml", *docker, *source)
    changed = work / "hello"
    shutil.copytree(ROOT / "files" / "hello", changed)
    views = changed / "src" / "hello" / "views.py"
    views.write_text(views.read_text() + "\n# changed for the redeploy benchmark\n")
    figures["redeploy"] = playbook("site.yml", *docker, "-e", f"flask_app_src={changed}")

    # The same no-op re-run over SSH (key, pipelining on in ansible.cfg), as users connect.
    key = work / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    in_container("sh", "-ec", "apt-get install -y -qq openssh-server >/dev/null")
    in_container("sh", "-ec", "install -d -m 700 /root/.ssh")
    subprocess.run(
        ["docker", "cp", f"{key}.pub", f"{CONTAINER}:/root/.ssh/authorized_keys"], check=True
    )
    in_container("sh", "-ec", "chown root: /root/.ssh/authorized_keys; systemctl restart ssh")
    ssh = bench_inventory(
        work,
        "ssh",
        {
            "ansible_connection": "ssh",
            "ansible_host": "127.0.0.1",
            "ansible_port": str(SSH_PORT),
            "ansible_ssh_private_key_file": str(key),
            "ansible_ssh_common_args": NO_HOST_KEY_CHECK,
        },
    )
    figures["noop_docker_exec"] = playbook("site.yml", *docker, "-e", f"flask_app_src={changed}")
    figures["noop_ssh"] = playbook("site.yml", *ssh, "-e", f"flask_app_src={changed}")

    # The release build alone: a fresh venv with the app, Gunicorn and setproctitle, no cache.
    packages = "/srv/hello/current/app gunicorn==27.0.1 setproctitle==1.3.8"
    uv = "/var/tmp/uv/bin/uv"
    figures["build_pip"] = {
        "seconds": timed_in_container(
            "rm -rf /var/tmp/b; python3 -m venv /var/tmp/b; "
            f"/var/tmp/b/bin/pip install -q --no-cache-dir {packages}"
        )
    }
    in_container("sh", "-ec", "python3 -m venv /var/tmp/uv; /var/tmp/uv/bin/pip install -q uv")
    figures["build_uv"] = {
        "seconds": timed_in_container(
            f"rm -rf /var/tmp/c; {uv} venv -q --python /usr/bin/python3 /var/tmp/c; "
            # uv trusts its own CA roots unless told to use the system's, as pip does here, and
            # compiles the bytecode as pip does (and the role has it do).
            f"UV_NATIVE_TLS=1 UV_COMPILE_BYTECODE=1 {uv} pip install -q --no-cache "
            "--python /var/tmp/c/bin/python " + packages
        )
    }
    subprocess.run(["docker", "rm", "-f", CONTAINER], capture_output=True, check=False)
    return figures


def fleet_rollouts(results: Path) -> None:
    """The fleet scenario's hosts (molecule/fleet): converged, then its v2 rollout across three
    app hosts and a redeploy of one, each under load; the tests write their timelines and the
    playbooks' output (profile_tasks) to results/rollout-*.json and .log."""
    env = {
        **os.environ,
        "FLASK_APP_FLEET_TESTS": "test_v2_rolls or test_bench",
        "FLASK_APP_BENCH_RESULTS": str(results),
        "ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks",
    }
    try:
        for action in ("converge", "verify"):
            subprocess.run(["molecule", action, "-s", "fleet"], cwd=ROOT, env=env, check=True)
    finally:
        subprocess.run(["molecule", "destroy", "-s", "fleet"], cwd=ROOT, env=env, check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="a few seconds, no converge cost")
    parser.add_argument("--inventory", default="inventory/demo")
    parser.add_argument(
        "--no-converge", action="store_true", help="keep the converge figures of the last run"
    )
    parser.add_argument(
        "--no-fleet", action="store_true", help="keep the rollout figures of the last run"
    )
    parser.add_argument(
        "--only-fleet", action="store_true", help="measure the rollouts, keep the rest"
    )
    args = parser.parse_args()
    if args.only_fleet:
        fleet_rollouts(bench_report.RESULTS)
        print(bench_report.report())
        return
    results = bench_report.RESULTS
    kept = [results / "converge.json"] if args.no_converge else []
    kept += list(results.glob("rollout-*")) if args.no_fleet else []
    previous = {path.name: path.read_text() for path in kept if path.exists()}
    shutil.rmtree(results, ignore_errors=True)
    results.mkdir(parents=True)
    for name, text in previous.items():
        (results / name).write_text(text)
    if not (args.smoke or args.no_converge):
        with tempfile.TemporaryDirectory() as work:
            figures = converge_cost(Path(work))
        (results / "converge.json").write_text(json.dumps(figures, indent=2))
    quick = [
        "-e",
        json.dumps(
            {
                "bench_seconds": 2,
                "bench_rounds": 1,
                "bench_deploy_window": 20,
                "bench_deploy_lead": 3,
            }
        ),
    ]
    playbook("playbooks/bench.yml", *(quick if args.smoke else []), inventory=args.inventory)
    # Last: its five containers would share the CPUs with the figures above.
    if not (args.smoke or args.no_fleet):
        fleet_rollouts(results)
    if args.smoke:
        text = bench_report.report(
            out=results / "report.md",
            picture=results / "chart.png",
            rollout_picture=results / "rollout.png",
        )
    else:
        text = bench_report.report()
    print(text)


if __name__ == "__main__":
    main()
