"""After the upgrade story: v1 is live again, its data survived, every release kept its own."""

from __future__ import annotations

import json

APP = "hello"


def _get(host, path: str) -> str:
    return host.check_output(f"curl --silent --fail -H 'Host: hello.test' http://127.0.0.1{path}")


def test_v1_is_live_after_the_rollback(host):
    assert host.file(f"/srv/{APP}/current").linked_to == f"/srv/{APP}/releases/v1"
    assert json.loads(_get(host, "/healthz"))["release"] == "v1"


def test_data_written_by_v1_survived_every_release(host):
    notes = json.loads(_get(host, "/notes"))
    assert {"id": 1, "text": "written by v1"} in notes


def test_shared_path_lives_in_the_state_directory(host):
    for release in ("v1", "v2", "v4"):
        link = host.file(f"/srv/{APP}/releases/{release}/instance")
        assert link.is_symlink and link.linked_to == f"/var/lib/{APP}/instance"
    db = host.file(f"/var/lib/{APP}/instance/notes.sqlite3")
    assert db.is_file and db.user == APP
    assert not host.file(f"/var/lib/{APP}/instance").mode & 0o007, "not world-accessible"


def test_every_release_has_its_own_venv(host):
    # The unhealthy v4 never serving is checked as it happens (side_effect.yml: the masters
    # before and after, the release that serves).
    for release in ("v1", "v2", "v4"):
        assert host.file(f"/srv/{APP}/releases/{release}/venv/bin/gunicorn").exists
