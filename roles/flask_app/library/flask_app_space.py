#!/usr/bin/python
"""Ansible module: free space where a release is built, and the size of the live release."""

from __future__ import annotations

import os
from typing import Any

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: flask_app_space
short_description: Read a filesystem's free space and a directory's disk usage
description:
  - Reads, without changing anything, the filesystem that holds O(path) (or its nearest existing
    parent), that is its mount point, its size and the space an unprivileged user may still
    write (statvfs, like the Avail column of C(df)). With O(measure), also the disk usage of
    that directory (links not followed, hard links counted once, like C(du -s)); a missing one
    measures 0. The role's C(flask_app_space_*) filters decide from this.
options:
  path:
    description: Where the release will be built.
    type: path
    required: true
  measure:
    description: A directory (or a link to one, such as C(current)) whose disk usage to add up.
    type: path
"""

RETURN = r"""
mount:
  description: The mount point of the filesystem that holds O(path).
  type: str
  returned: always
free_bytes:
  description: Bytes an unprivileged user may still write there.
  type: int
  returned: always
total_bytes:
  description: The filesystem's size in bytes.
  type: int
  returned: always
measured_bytes:
  description: Disk usage of O(measure) in bytes, 0 when it is missing or not given.
  type: int
  returned: always
"""


def existing_parent(path: str) -> str:
    """``path`` or its nearest parent that exists (a first deploy has no releases/ yet)."""
    path = os.path.abspath(path)
    while not os.path.exists(path) and path != os.path.dirname(path):
        path = os.path.dirname(path)
    return path


def mount_point(path: str) -> str:
    """The mount point of the filesystem that holds ``path`` (an existing path)."""
    path = os.path.realpath(path)
    device = os.stat(path).st_dev
    while path != os.path.dirname(path):
        parent = os.path.dirname(path)
        if os.stat(parent).st_dev != device:
            break
        path = parent
    return path


def disk_usage(path: str) -> int:
    """Bytes the tree at ``path`` occupies on disk, links not followed, hard links once."""
    if not os.path.isdir(path):
        return 0
    seen: set[tuple[int, int]] = set()
    total = 0
    # A directory is seen as its parent's entry and again as a root: counted once by inode.
    for root, dirs, files in os.walk(os.path.realpath(path), followlinks=False):
        for entry in [root, *(os.path.join(root, name) for name in dirs + files)]:
            try:
                info = os.lstat(entry)
            except OSError:
                continue
            key = (info.st_dev, info.st_ino)
            if key in seen:
                continue
            seen.add(key)
            total += info.st_blocks * 512
    return total


def space(path: str) -> dict[str, Any]:
    where = existing_parent(path)
    stats = os.statvfs(where)
    return {
        "mount": mount_point(where),
        "free_bytes": stats.f_bavail * stats.f_frsize,
        "total_bytes": stats.f_blocks * stats.f_frsize,
    }


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "measure": {"type": "path"},
        },
        supports_check_mode=True,
    )
    result = space(module.params["path"])
    measure = module.params["measure"]
    result["measured_bytes"] = disk_usage(measure) if measure else 0
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
