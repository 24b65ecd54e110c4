#!/usr/bin/python
"""Ansible module: what an app's Gunicorn slots really run, read from the host in one call."""

from __future__ import annotations

import os
import re
import subprocess
from datetime import datetime, timezone
from typing import Any

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: flask_app_slots
short_description: Read the state of a flask_app app's Gunicorn slots
description:
  - Reads, without changing anything, which slot receives traffic (the live link), which
    release C(current) names, and for each slot whether its service runs, since when, and
    which release its running Gunicorn master actually serves (the working directory of its
    main process, as the kernel reports it), plus the modification times of the files the
    service reads. The role's C(flask_app_switch_plan) filter decides from this.
options:
  name:
    description: The app's name (unit prefix).
    type: str
    required: true
  releases_dir:
    description: Directory of the releases.
    type: path
    required: true
  current:
    description: The C(current) link.
    type: path
    required: true
  live_link:
    description: The link naming the live slot's socket.
    type: path
    required: true
  slot_links_dir:
    description: Directory of the per-slot release links.
    type: path
    required: true
  slots:
    description: The slot names.
    type: list
    elements: str
    required: true
  restart_inputs:
    description: Files read only when Gunicorn starts.
    type: list
    elements: path
    default: []
  reload_inputs:
    description: Files a reload re-reads (Gunicorn's configuration).
    type: list
    elements: path
    default: []
  socket_inputs:
    description: Files the slots' sockets read (their unit).
    type: list
    elements: path
    default: []
"""

RETURN = r"""
live_slot:
  description: Slot the live link points at, or empty.
  type: str
  returned: always
current:
  description: Release C(current) names, or empty.
  type: str
  returned: always
slots:
  description: >-
    Per slot - active, pid, started, release (what its master runs), linked (what its link
    names), reloaded (last reload stamp), socket_started.
  type: dict
  returned: always
restart_inputs:
  description: Newest modification time of the start-only inputs (0 if none).
  type: float
  returned: always
reload_inputs:
  description: Newest modification time of the reload inputs (0 if none).
  type: float
  returned: always
socket_inputs:
  description: Newest modification time of the socket inputs (0 if none).
  type: float
  returned: always
legacy_units:
  description: Whether the single-unit layout of role versions before slots is installed.
  type: bool
  returned: always
"""


def systemd_epoch(value: str) -> float:
    """``systemctl show --timestamp=us+utc`` -> seconds since the epoch (0.0 when never)."""
    text = (value or "").strip()
    if not text or text == "n/a":
        return 0.0
    parsed = datetime.strptime(text, "%a %Y-%m-%d %H:%M:%S.%f UTC")
    return parsed.replace(tzinfo=timezone.utc).timestamp()


def parse_show(output: str) -> list[dict[str, str]]:
    """``systemctl show`` of several units: one dict per unit, blocks split by blank lines."""
    blocks: list[dict[str, str]] = [{}]
    for line in output.splitlines():
        if not line.strip():
            if blocks[-1]:
                blocks.append({})
            continue
        key, _, value = line.partition("=")
        blocks[-1][key] = value
    return [block for block in blocks if block]


def release_of(path: str, releases_dir: str) -> str:
    """The release a resolved path lies in: ``/srv/a/releases/v2/app`` -> ``v2``."""
    prefix = releases_dir.rstrip("/") + "/"
    if not path.startswith(prefix):
        return ""
    return path[len(prefix) :].split("/", 1)[0]


def title_release(cmdline: bytes, name: str) -> str:
    """The release in a master's process title: ``gunicorn: master [<name>@<release>]``.

    The role's ``proc_name`` is ``<name>@$FLASK_APP_RELEASE``, the release the slot's
    ``release.env`` named when this master started.
    """
    text = cmdline.replace(b"\0", b" ").decode(errors="replace")
    found = re.search(rf"master \[{re.escape(name)}@([^\]\s]+)\]", text)
    return found.group(1) if found else ""


def running_release(pid: int, name: str, releases_dir: str) -> str:
    """The release a running master serves: its working directory, as the kernel resolved it
    at start; where reading that is not allowed (root without CAP_SYS_PTRACE, as in containers),
    its process title."""
    try:
        return release_of(os.readlink(f"/proc/{pid}/cwd"), releases_dir)
    except PermissionError:
        pass
    except OSError:
        return ""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return title_release(handle.read(), name)
    except OSError:
        return ""


def link_release(path: str, releases_dir: str) -> str:
    try:
        return release_of(os.path.realpath(path, strict=True), releases_dir)
    except OSError:
        return ""


def newest_mtime(paths: list[str]) -> float:
    times = [os.stat(path).st_mtime for path in paths if os.path.exists(path)]
    return max(times, default=0.0)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "releases_dir": {"type": "path", "required": True},
            "current": {"type": "path", "required": True},
            "live_link": {"type": "path", "required": True},
            "slot_links_dir": {"type": "path", "required": True},
            "slots": {"type": "list", "elements": "str", "required": True},
            "restart_inputs": {"type": "list", "elements": "path", "default": []},
            "reload_inputs": {"type": "list", "elements": "path", "default": []},
            "socket_inputs": {"type": "list", "elements": "path", "default": []},
        },
        supports_check_mode=True,
    )
    p = module.params
    units = [f"{p['name']}@{slot}.service" for slot in p["slots"]]
    sockets = [f"{p['name']}@{slot}.socket" for slot in p["slots"]]
    show = subprocess.run(
        [
            "systemctl",
            "show",
            "--timestamp=us+utc",
            "--property=Id,ActiveState,MainPID,ActiveEnterTimestamp",
            *units,
            *sockets,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if show.returncode != 0:
        module.fail_json(msg=f"systemctl show failed: {show.stderr.strip()}")
    by_id = {block.get("Id", ""): block for block in parse_show(show.stdout)}

    slots: dict[str, dict[str, Any]] = {}
    for slot, unit, socket in zip(p["slots"], units, sockets, strict=True):
        block = by_id.get(unit, {})
        socket_block = by_id.get(socket, {})
        socket_active = socket_block.get("ActiveState") in ("active", "running", "listening")
        pid = int(block.get("MainPID", "0") or 0)
        active = block.get("ActiveState") in ("active", "reloading", "activating") and pid > 0
        running = running_release(pid, p["name"], p["releases_dir"]) if active else ""
        # The unit's ExecReload leaves it in the slot's RuntimeDirectory (/run/<name>@<slot>).
        stamp = f"/run/{p['name']}@{slot}/reloaded"
        slots[slot] = {
            "active": active,
            "pid": pid if active else 0,
            "started": systemd_epoch(block.get("ActiveEnterTimestamp", "")) if active else 0.0,
            "release": running,
            "linked": link_release(os.path.join(p["slot_links_dir"], slot), p["releases_dir"]),
            "reloaded": os.stat(stamp).st_mtime if active and os.path.exists(stamp) else 0.0,
            "socket_started": (
                systemd_epoch(socket_block.get("ActiveEnterTimestamp", "")) if socket_active else 0
            ),
        }

    live = ""
    try:
        target = os.readlink(p["live_link"])
        names = {f"{p['name']}@{s}.sock": s for s in p["slots"]}
        live = names.get(os.path.basename(target), "")
    except OSError:
        live = ""

    module.exit_json(
        changed=False,
        live_slot=live,
        current=link_release(p["current"], p["releases_dir"]),
        slots=slots,
        restart_inputs=newest_mtime(p["restart_inputs"]),
        reload_inputs=newest_mtime(p["reload_inputs"]),
        socket_inputs=newest_mtime(p["socket_inputs"]),
        legacy_units=os.path.exists(f"/etc/systemd/system/{p['name']}.service"),
    )


if __name__ == "__main__":
    main()
