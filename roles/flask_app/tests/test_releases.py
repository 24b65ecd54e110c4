"""Which releases a deploy prunes and which one a rollback goes to (the role's filters)."""

from __future__ import annotations

from role_code import load

filters = load("filter_plugins/flask_app.py")

ROOT = "/srv/hello/releases"


def found(*names: str) -> list[dict]:
    """find's answer, oldest first: each release one second newer than the one before."""
    return [{"path": f"{ROOT}/{name}", "mtime": 1000.0 + n} for n, name in enumerate(names)]


def markers(*names: str) -> list[dict]:
    return [
        {"path": f"{ROOT}/{name}/.flask_app_release.json", "mtime": 1000.0 + n}
        for n, name in enumerate(names)
    ]


def test_nothing_is_pruned_before_there_are_more_than_keep():
    assert filters.releases_to_prune([], 5, ["v1"]) == []
    assert filters.releases_to_prune(found("v1"), 1, ["v1"]) == []
    assert filters.releases_to_prune(found("v1", "v2", "v3"), 5, ["v3"]) == []


def test_the_oldest_beyond_keep_go():
    got = filters.releases_to_prune(found("v1", "v2", "v3", "v4"), 2, ["v4", "v3"])
    assert got == [f"{ROOT}/v2", f"{ROOT}/v1"]


def test_the_live_and_previous_release_stay_however_old():
    # After a rollback to v1, v1 is live: the oldest directory, and still kept.
    got = filters.releases_to_prune(found("v1", "v2", "v3", "v4"), 2, ["v1", "v4"])
    assert got == [f"{ROOT}/v2"]


def test_rollback_goes_to_the_newest_release_older_than_the_live_one():
    got = filters.rollback_target(markers("v1", "v2", "v3"), "v3")
    assert got == {"releases": ["v3", "v2", "v1"], "target": "v2"}
    assert filters.rollback_target(markers("v1", "v2", "v3"), "v2")["target"] == "v1"


def test_no_rollback_target_with_one_release_or_none():
    assert filters.rollback_target(markers("v1"), "v1")["target"] == ""
    assert filters.rollback_target([], "") == {"releases": [], "target": ""}


def test_a_named_target_is_taken_as_asked_and_checked_by_the_caller():
    got = filters.rollback_target(markers("v1", "v2"), "v2", "v9")
    assert got["target"] == "v9" and "v9" not in got["releases"]


def test_without_a_live_release_there_is_nothing_older():
    assert filters.rollback_target(markers("v1", "v2"), "")["target"] == ""
