"""Decisions about disk space when a release is built (README "A full disk"): whether the
filesystem of /srv/<name>/releases has room for one more release before anything is written,
and what a failed build says, a full disk named as such.

``space`` is what the role's flask_app_space module read on the host: ``mount``,
``free_bytes``, ``total_bytes`` and ``measured_bytes`` (the live release's size).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

MIB = 1024 * 1024
# Less than this left after a failed build: the disk filled up, whatever the tool printed
# (venv's ensurepip says only "returned non-zero exit status 1").
FULL_BELOW = 16 * MIB
FULL_SIGNS = re.compile(
    r"No space left on device|Errno 28\b|ENOSPC|Disk quota exceeded|Errno 122\b"
)


def mib(size: int) -> str:
    """``size`` bytes as MiB for a person: one decimal below 10 MiB, whole above."""
    value = int(size) / MIB
    return f"{value:.1f} MiB" if value < 10 else f"{value:,.0f} MiB"


def space_needed(space: Mapping[str, Any], margin_mib: int) -> int:
    """Bytes the filesystem must have free before a build: the live release's size (the new one
    is about as big) plus ``margin_mib`` (flask_app_build_space_margin_mb), which keeps room for
    what shares the disk (logs, databases). 0 turns the check off."""
    if int(margin_mib) <= 0:
        return 0
    return int(space.get("measured_bytes") or 0) + int(margin_mib) * MIB


def space_shortage(
    space: Mapping[str, Any], margin_mib: int, release: str, name: str, releases_dir: str
) -> str:
    """The error that stops a build before it writes anything, or ``""`` when there is room."""
    needed = space_needed(space, margin_mib)
    free = int(space["free_bytes"])
    if needed == 0 or free >= needed:
        return ""
    live = int(space.get("measured_bytes") or 0)
    margin = f"flask_app_build_space_margin_mb={int(margin_mib)}"
    basis = (
        f"the live release's {mib(live)} + {margin}"
        if live
        else f"{margin}; there is no live release to size from"
    )
    return (
        f"Not enough free space to build release {release} of {name}: {space['mount']} (the "
        f"filesystem of {releases_dir}) has {mib(free)} free, the build needs {mib(needed)} "
        f"({basis}). Nothing was written and nothing was switched. Free space on {space['mount']} "
        "(flask_app_keep_releases sets how many older releases stay), or lower "
        "flask_app_build_space_margin_mb (0 skips this check)."
    )


def disk_full(text: str, space: Mapping[str, Any]) -> bool:
    """Whether a build failed because its filesystem filled up: the failure says so, or less
    than FULL_BELOW was left free when it failed."""
    return (
        bool(FULL_SIGNS.search(text or "")) or int(space.get("free_bytes", FULL_BELOW)) < FULL_BELOW
    )


def failure_text(result: Mapping[str, Any]) -> str:
    """What a failed task said: its message, then its output (a command's or pip's)."""
    parts = [result.get("msg"), result.get("stderr"), result.get("stdout")]
    return "\n".join(str(part).strip() for part in parts if part and str(part).strip())


def build_failure(
    result: Mapping[str, Any],
    task: str,
    space: Mapping[str, Any],
    release: str,
    name: str,
    command: str = "",
) -> str:
    """The message a failed build ends with, once its incomplete release is removed. ``result``
    is the failed task's result (a build command's loop item when ``command`` names it),
    ``space`` the filesystem read right after the failure, before the clean-up."""
    text = failure_text(result)
    if command:
        what = f"Build command {command!r} (exit {result.get('rc', '?')})"
    else:
        what = f"The task {task!r}"
    message = f"{what} failed building release {release} of {name}"
    if disk_full(text, space):
        free = mib(space.get("free_bytes", 0))
        message += (
            f": the filesystem {space.get('mount', '?')} is full ({free} "
            "free when the build failed, No space left on device). Free space there; "
            "flask_app_build_space_margin_mb sets how much a build asks for before it starts"
        )
    tail = text[-3000:] if len(text) > 3000 else text
    return f"{message}. The incomplete release was removed; nothing was switched. Output: {tail}"


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "flask_app_space_needed": space_needed,
            "flask_app_space_shortage": space_shortage,
            "flask_app_build_failure": build_failure,
        }
