#!/usr/bin/python
"""Ansible module: what an app's processes and jobs are installed as, and what they run."""

from __future__ import annotations

import glob
import os
import re
import subprocess
from typing import Any

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: flask_app_processes
short_description: Read the state of a flask_app app's processes and scheduled jobs
description:
  - >-
    Reads, without changing anything, which process template units and job timers the role
    installed for an app (each unit file carries a C(# flask_app: <app> process|job <name>)
    line), for each process instance whether it runs, since when, how often systemd restarted
    it and which release it runs (recorded by the role's C(live-exec) wrapper in the
    instance's runtime directory), and who owns any unit file with a wanted name. The role's
    C(flask_app_process_plan) and C(flask_app_unit_collisions) filters decide from this.
options:
  name:
    description: The app's name (unit prefix).
    type: str
    required: true
  inputs:
    description: Files a process reads only when it starts (its environment, the wrapper).
    type: list
    elements: path
    default: []
  wanted:
    description: Unit name prefixes (C(<app>-<name>)) to look up in every unit directory.
    type: list
    elements: str
    default: []
"""

RETURN = r"""
processes:
  description: Per installed process - unit, inputs (newest mtime of its unit file and the
    inputs), enabled (instance numbers), instances (per number - active, enabled, started,
    release, restarts).
  type: dict
  returned: always
jobs:
  description: Per installed job - unit, active (whether a run is under way).
  type: dict
  returned: always
need_daemon_reload:
  description: Whether a loaded process or job unit changed on disk since systemd read it.
  type: bool
  returned: always
unit_files:
  description: Each unit file found for the wanted prefixes, with the role's record of its owner
    (C(<app> process <name>)) or empty for a file the role did not write.
  type: dict
  returned: always
"""

UNIT_DIRS = (
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
)
WANTS = "/etc/systemd/system/multi-user.target.wants"
MARK = re.compile(r"^# flask_app: (\S+) (process|job) (\S+)$", re.MULTILINE)


def owner(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            found = MARK.search(handle.read(4096))
    except OSError:
        return ""
    return f"{found.group(1)} {found.group(2)} {found.group(3)}" if found else ""


def show(units: list[str]) -> dict[str, dict[str, str]]:
    if not units:
        return {}
    result = subprocess.run(
        [
            "systemctl",
            "show",
            "--timestamp=unix",
            "--property=Id,ActiveState,MainPID,NRestarts,ActiveEnterTimestamp,NeedDaemonReload",
            *units,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    blocks: list[dict[str, str]] = [{}]
    for line in result.stdout.splitlines():
        if not line.strip():
            blocks.append({})
            continue
        key, _, value = line.partition("=")
        blocks[-1][key] = value
    return {block["Id"]: block for block in blocks if block.get("Id")}


def unix_time(value: str) -> float:
    """``@1733123456`` (``--timestamp=unix``) -> seconds; 0.0 when never."""
    text = (value or "").strip().lstrip("@")
    try:
        return float(text)
    except ValueError:
        return 0.0


def loaded_instances(unit: str) -> list[str]:
    result = subprocess.run(
        [
            "systemctl",
            "list-units",
            "--all",
            "--plain",
            "--no-legend",
            "--full",
            f"{unit}@*.service",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    found = re.findall(rf"^\s*{re.escape(unit)}@(\d+)\.service\s", result.stdout, re.MULTILINE)
    return found


def newest_mtime(paths: list[str]) -> float:
    return max((os.stat(path).st_mtime for path in paths if os.path.exists(path)), default=0.0)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "inputs": {"type": "list", "elements": "path", "default": []},
            "wanted": {"type": "list", "elements": "str", "default": []},
        },
        supports_check_mode=True,
    )
    app = module.params["name"]
    processes: dict[str, Any] = {}
    jobs: dict[str, Any] = {}
    for path in sorted(glob.glob(f"/etc/systemd/system/{glob.escape(app)}-*")):
        record = owner(path)
        if not record:
            continue
        record_app, kind, name = record.split(" ")
        if record_app != app:
            continue
        base = os.path.basename(path)
        if kind == "process" and base.endswith("@.service"):
            processes[name] = {"unit": base[: -len("@.service")], "file": path}
        elif kind == "job" and base.endswith(".timer"):
            jobs[name] = {"unit": base[: -len(".timer")]}

    instance_units: dict[str, tuple[str, str]] = {}
    for name, info in processes.items():
        unit = info["unit"]
        numbers = set(loaded_instances(unit))
        numbers |= {
            found.group(1)
            for link in glob.glob(f"{WANTS}/{glob.escape(unit)}@*.service")
            if (found := re.search(r"@(\d+)\.service$", link))
        }
        for number in numbers:
            instance_units[f"{unit}@{number}.service"] = (name, number)
        info["instances"] = {}
        info["inputs"] = newest_mtime([info.pop("file"), *module.params["inputs"]])

    states = show(sorted(instance_units))
    for unit_name, (name, number) in instance_units.items():
        block = states.get(unit_name, {})
        active = block.get("ActiveState") in ("active", "activating", "reloading", "deactivating")
        runtime = f"/run/{unit_name[: -len('.service')]}/release"
        release = ""
        if active and os.path.exists(runtime):
            with open(runtime, encoding="utf-8") as handle:
                release = handle.read().strip()
        processes[name]["instances"][number] = {
            "active": active,
            "enabled": os.path.lexists(f"{WANTS}/{unit_name}"),
            "started": unix_time(block.get("ActiveEnterTimestamp", "")) if active else 0.0,
            "release": release,
            "restarts": int(block.get("NRestarts", "0") or 0),
        }
    for info in processes.values():
        info["enabled"] = sorted(
            (n for n, seen in info["instances"].items() if seen["enabled"]), key=int
        )

    job_states = show(
        [f"{info['unit']}.{kind}" for info in jobs.values() for kind in ("service", "timer")]
    )
    for info in jobs.values():
        block = job_states.get(f"{info['unit']}.service", {})
        info["active"] = block.get("ActiveState") in ("active", "activating", "deactivating")

    unit_files: dict[str, str] = {}
    for prefix in module.params["wanted"]:
        for directory in UNIT_DIRS:
            for suffix in ("@.service", ".service", ".timer", "@.socket", ".socket"):
                path = f"{directory}/{prefix}{suffix}"
                if os.path.exists(path) and os.path.basename(path) not in unit_files:
                    unit_files[os.path.basename(path)] = owner(path)

    need_reload = any(
        block.get("NeedDaemonReload") == "yes" for block in [*states.values(), *job_states.values()]
    )
    module.exit_json(
        changed=False,
        processes=processes,
        jobs=jobs,
        unit_files=unit_files,
        need_daemon_reload=need_reload,
    )


if __name__ == "__main__":
    main()
