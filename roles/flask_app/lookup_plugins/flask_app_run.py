"""Lookup: this run of ansible-playbook, as the deploy lock and the release ledger name it."""

from __future__ import annotations

import getpass
import multiprocessing
import os
import socket
import sys
import time
from collections.abc import Sequence
from typing import Any

from ansible.plugins.lookup import LookupBase

DOCUMENTATION = r"""
name: flask_app_run
short_description: This run of ansible-playbook (who, where, which process, which playbook)
description:
  - One dict, the same wherever it is looked up during the run. C(run) identifies the run
    (user@controller:pid:process start); C(user), C(controller), C(pid), C(started) (the
    process's start in clock ticks since boot, Linux controllers), C(playbook) (the playbook
    files named on the command line), C(since) (now, in epoch seconds, when a lock taken with it
    was taken).
"""


def main_process_id() -> int:
    """ansible-playbook's own process: lookups run in its forked workers, or in it."""
    parent = multiprocessing.parent_process()
    return parent.pid if parent is not None and parent.pid else os.getpid()


def process_start(pid: int) -> str:
    """When process ``pid`` started (clock ticks since boot, /proc on Linux), ``""`` elsewhere.
    With the pid it tells a live process from a later one that reuses its number."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            stat = handle.read()
    except OSError:
        return ""
    # The command name (field 2) may hold spaces; the fields after its ")" are plain.
    return stat.rsplit(")", 1)[-1].split()[19]


# ansible-playbook's options that take the next argument as their value (an inventory or a
# vars file is often a .yml too, and is not the playbook).
VALUE_OPTIONS = frozenset(
    [
        "-i",
        "--inventory",
        "--inventory-file",
        "-e",
        "--extra-vars",
        "-l",
        "--limit",
        "-t",
        "--tags",
        "--skip-tags",
        "-u",
        "--user",
        "-c",
        "--connection",
        "-f",
        "--forks",
        "-M",
        "--module-path",
        "--vault-id",
        "--vault-password-file",
        "--vault-pass-file",
        "--private-key",
        "--key-file",
        "-T",
        "--timeout",
        "--start-at-task",
        "--become-method",
        "--become-user",
        "--become-password-file",
        "--connection-password-file",
        "--ssh-common-args",
        "--sftp-extra-args",
        "--scp-extra-args",
        "--ssh-extra-args",
    ]
)


def playbooks(argv: Sequence[str]) -> str:
    """The playbook files of an ansible-playbook command line: its positional arguments."""
    found, skip = [], False
    for arg in argv[1:]:
        if skip:
            skip = False
        elif arg in VALUE_OPTIONS:
            skip = True
        elif not arg.startswith("-"):
            found.append(arg)
    return " ".join(found)


def run_identity(user: str, controller: str, pid: int, started: str, argv: Sequence[str]) -> dict:
    return {
        "run": f"{user}@{controller}:{pid}:{started}",
        "user": user,
        "controller": controller,
        "pid": pid,
        "started": started,
        "playbook": playbooks(argv),
        "since": round(time.time(), 3),
    }


def this_run() -> dict[str, Any]:
    pid = main_process_id()
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return run_identity(user, socket.gethostname(), pid, process_start(pid), sys.argv)


class LookupModule(LookupBase):
    def run(self, terms: list[Any], variables: dict | None = None, **kwargs: Any) -> list[dict]:
        return [this_run()]
