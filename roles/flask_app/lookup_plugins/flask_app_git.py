"""Lookup: the git commit of a source directory on the controller, for the release ledger."""

from __future__ import annotations

import subprocess
from typing import Any

from ansible.plugins.lookup import LookupBase

DOCUMENTATION = r"""
name: flask_app_git
short_description: The git commit a source directory is checked out at
description:
  - For each term (a directory on the controller), C(<commit>) when it is inside a git
    checkout, C(<commit>-dirty) when it has uncommitted changes, C("") when it is not a
    checkout or git is missing.
"""


def commit_of(directory: str) -> str:
    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", "-C", directory, *args], capture_output=True, text=True, check=False
        )

    try:
        head = git("rev-parse", "--verify", "HEAD")
    except OSError:  # no git on the controller
        return ""
    if head.returncode != 0:
        return ""
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", ".").stdout.strip()
    return head.stdout.strip() + ("-dirty" if dirty else "")


class LookupModule(LookupBase):
    def run(self, terms: list[Any], variables: dict | None = None, **kwargs: Any) -> list[str]:
        return [commit_of(str(term)) if term else "" for term in terms]
