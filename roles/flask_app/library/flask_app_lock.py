#!/usr/bin/python
"""Ansible module: take or release an app's deploy lock on one host, atomically."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from typing import Any

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: flask_app_lock
short_description: Take or release a flask_app app's deploy lock on one host
description:
  - The lock is a file naming its holder (a run of ansible-playbook, with its id, who, from which
    controller, since when, which playbook). Taking it creates the file with O_EXCL, so of two
    runs that try at once exactly one gets it; taking it again in the same run is a no-op.
    A lock held by another run is reported, not taken, unless I(replace) names that run (the
    role breaks a stale lock that way, deliberately). Releasing removes the file only when
    this run holds it. The role decides staleness and writes the error message.
options:
  path:
    description: The lock file.
    type: path
    required: true
  state:
    description: C(held) to take the lock, C(released) to give it back.
    type: str
    choices: [held, released]
    default: held
  holder:
    description: This run; its C(run) key identifies it.
    type: dict
    required: true
  replace:
    description: The run id of a lock to take over (a broken stale lock).
    type: str
    default: ""
"""

RETURN = r"""
acquired:
  description: Whether this run holds the lock now (always false for C(released)).
  type: bool
held_by:
  description: The holder found in the file before this call, if any (C({}) for none).
  type: dict
replaced:
  description: Whether a lock of another run was taken over (I(replace)).
  type: bool
"""


def read_holder(path: str) -> dict[str, Any] | None:
    """The lock's holder, ``None`` when there is no lock. A file that is not a JSON object
    (a half-written lock of a killed run) is held by an unknown run, never silently free."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        return None
    try:
        holder = json.loads(text)
    except ValueError:
        holder = None
    return holder if isinstance(holder, dict) else {"run": "", "unreadable": text[:200]}


def create_exclusive(path: str, holder: dict[str, Any]) -> bool:
    """Write the lock if there is none; False when another run's file is already there."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(holder, handle, sort_keys=True)
    return True


def overwrite(path: str, holder: dict[str, Any]) -> None:
    """Replace the lock in one rename, so no reader ever sees it missing or half written."""
    directory = os.path.dirname(path)
    descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=".lock-")
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(holder, handle, sort_keys=True)
    os.replace(temporary, path)


def take(path: str, holder: dict[str, Any], replace: str, check: bool) -> dict[str, Any]:
    """Take the lock for ``holder``: the result's ``acquired``, ``held_by``, ``replaced``."""
    found = read_holder(path)
    mine = holder["run"]
    if found is not None and found.get("run") == mine:
        return {"acquired": True, "held_by": found, "replaced": False, "changed": False}
    if found is None:
        if check:
            return {"acquired": True, "held_by": {}, "replaced": False, "changed": True}
        if create_exclusive(path, holder):
            return {"acquired": True, "held_by": {}, "replaced": False, "changed": True}
        found = read_holder(path) or {}  # another run won the race just now
        if found.get("run") == mine:
            return {"acquired": True, "held_by": found, "replaced": False, "changed": False}
    if replace and found.get("run", "") == replace:
        if not check:
            overwrite(path, holder)
        return {"acquired": True, "held_by": found, "replaced": True, "changed": True}
    return {"acquired": False, "held_by": found, "replaced": False, "changed": False}


def release(path: str, holder: dict[str, Any], check: bool) -> dict[str, Any]:
    """Remove the lock when ``holder``'s run holds it; anything else is left alone."""
    found = read_holder(path)
    if found is None or found.get("run") != holder["run"]:
        return {"acquired": False, "held_by": found or {}, "replaced": False, "changed": False}
    if not check:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        # A run that only looked (an app that was never deployed) leaves no directories.
        directory = os.path.dirname(path)
        for empty in (directory, os.path.dirname(directory)):
            with contextlib.suppress(OSError):
                os.rmdir(empty)
    return {"acquired": False, "held_by": found, "replaced": False, "changed": True}


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "state": {"type": "str", "choices": ["held", "released"], "default": "held"},
            "holder": {"type": "dict", "required": True},
            "replace": {"type": "str", "default": ""},
        },
        supports_check_mode=True,
    )
    path, holder = module.params["path"], module.params["holder"]
    if not holder.get("run"):
        module.fail_json(msg="holder needs a 'run' key naming this run")
    if module.params["state"] == "held":
        if not module.check_mode:
            os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        result = take(path, holder, module.params["replace"], module.check_mode)
    else:
        result = release(path, holder, module.check_mode)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
