"""Disk space around a build: the module's reading of the host and the filters' decisions
(room for a release before the build, a full disk named when a build fails)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from role_code import load

module = load("library/flask_app_space.py")
space = load("filter_plugins/flask_app_space.py")
MIB = 1024 * 1024


def reading(free_mib: float, live_mib: float = 0, mount: str = "/srv") -> dict:
    return {
        "mount": mount,
        "free_bytes": int(free_mib * MIB),
        "total_bytes": 256 * MIB,
        "measured_bytes": int(live_mib * MIB),
    }


def test_a_build_needs_the_live_release_size_plus_the_margin():
    assert space.space_needed(reading(0, live_mib=40), 100) == 140 * MIB
    # A first deploy has nothing to size from: the margin alone.
    assert space.space_needed(reading(0), 100) == 100 * MIB
    assert space.space_needed(reading(0, live_mib=40), 0) == 0, "0 turns the check off"


def test_room_enough_says_nothing():
    assert space.space_shortage(reading(141, 40), 100, "v2", "hello", "/srv/hello/releases") == ""
    assert space.space_shortage(reading(1, 40), 0, "v2", "hello", "/srv/hello/releases") == ""


def test_a_shortage_names_the_filesystem_what_is_free_needed_and_the_way_out():
    message = space.space_shortage(reading(5, 40), 100, "v2", "hello", "/srv/hello/releases")
    assert "release v2 of hello" in message
    assert "/srv (the filesystem of /srv/hello/releases) has 5.0 MiB free" in message
    assert (
        "the build needs 140 MiB (the live release's 40 MiB + flask_app_build_space_margin_mb=100)"
        in message
    )
    assert "Nothing was written" in message
    assert "flask_app_build_space_margin_mb (0 skips this check)" in message


def test_a_first_deploy_shortage_says_there_is_no_live_release():
    message = space.space_shortage(reading(50), 100, "v1", "hello", "/srv/hello/releases")
    assert "needs 100 MiB (flask_app_build_space_margin_mb=100; there is no live release" in message


@pytest.mark.parametrize(
    "text",
    [
        "OSError: [Errno 28] No space left on device: '/srv/hello/releases/v2/venv'",
        "tar: write error: No space left on device",
        "pip: ENOSPC",
    ],
)
def test_a_failure_that_says_the_disk_is_full_is_reported_as_such(text):
    message = space.build_failure(
        {"msg": "pip failed", "stderr": text}, "Install the app", reading(200), "v2", "hello"
    )
    assert "The task 'Install the app' failed building release v2 of hello" in message
    assert "the filesystem /srv is full" in message
    assert "No space left on device" in message
    assert "incomplete release was removed" in message


def test_a_full_disk_is_recognised_when_the_tool_does_not_say_so():
    """venv's ensurepip only says it returned 1: the free space at the failure tells."""
    failed = {
        "msg": "Error: Command '['python3', '-m', 'ensurepip']' returned non-zero exit status 1."
    }
    message = space.build_failure(failed, "Install the app", reading(0.2), "v2", "hello")
    assert "the filesystem /srv is full (0.2 MiB free when the build failed" in message
    assert "ensurepip" in message, "and the tool's own words"


def test_other_failures_are_not_blamed_on_the_disk():
    failed = {"msg": "No matching distribution found for flask==99"}
    message = space.build_failure(failed, "Install the app", reading(900), "v2", "hello")
    assert "is full" not in message
    assert message.endswith("Output: No matching distribution found for flask==99")


def test_a_failed_build_command_is_named_with_its_exit_status_and_output():
    item = {"rc": 2, "stdout": "building assets", "stderr": "npm ERR! missing script: build"}
    message = space.build_failure(
        item, "Run the build commands", reading(900), "v2", "tasks", "npm run build"
    )
    assert message.startswith(
        "Build command 'npm run build' (exit 2) failed building release v2 of tasks"
    )
    assert "npm ERR! missing script: build" in message and "building assets" in message


def test_long_output_keeps_its_end():
    failed = {"msg": "x" * 5000 + "the real error"}
    message = space.build_failure(failed, "t", reading(900), "v2", "hello")
    assert message.endswith("the real error")
    assert len(message) < 3300


def test_the_module_finds_the_nearest_existing_parent(tmp_path: Path):
    assert module.existing_parent(str(tmp_path / "srv" / "hello" / "releases")) == str(tmp_path)


def test_the_module_names_the_mount_point():
    assert module.mount_point("/proc/self") == "/proc"
    assert module.mount_point("/") == "/"


def test_the_module_measures_a_tree_once_without_following_links(tmp_path: Path):
    release = tmp_path / "releases" / "v1"
    (release / "venv").mkdir(parents=True)
    (release / "venv" / "big").write_bytes(os.urandom(256 * 1024))
    os.link(release / "venv" / "big", release / "venv" / "same")
    outside = tmp_path / "shared"
    outside.mkdir()
    (outside / "data").write_bytes(os.urandom(1024 * 1024))
    (release / "uploads").symlink_to(outside)
    (tmp_path / "current").symlink_to(release)
    measured = module.disk_usage(str(tmp_path / "current"))
    assert 256 * 1024 <= measured < 256 * 1024 + 64 * 1024, (
        "the hard link once, the link not followed"
    )
    assert module.disk_usage(str(tmp_path / "missing")) == 0


def test_the_module_reads_free_space_like_df(tmp_path: Path):
    found = module.space(str(tmp_path / "not" / "yet"))
    stats = os.statvfs(tmp_path)
    assert found["free_bytes"] == stats.f_bavail * stats.f_frsize
    assert 0 < found["free_bytes"] <= found["total_bytes"]
