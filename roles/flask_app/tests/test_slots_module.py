"""The pure parts of the role's flask_app_slots module: reading what the host runs."""

from __future__ import annotations

import pytest
from role_code import load

slots = load("library/flask_app_slots.py")


def test_the_release_is_the_first_directory_under_releases():
    assert slots.release_of("/srv/hello/releases/v2", "/srv/hello/releases") == "v2"
    assert slots.release_of("/srv/hello/releases/v2/app", "/srv/hello/releases/") == "v2"
    assert slots.release_of("/srv/other/releases/v2", "/srv/hello/releases") == ""


def test_the_master_title_names_the_release_it_started_with():
    title = b"gunicorn: master [hello@2f9c1a0b7e3d]\x00\x00"
    assert slots.title_release(title, "hello") == "2f9c1a0b7e3d"
    # Another app's master, or a worker, says nothing about this app's slot.
    assert slots.title_release(b"gunicorn: master [hello-admin@v1]", "hello") == ""
    assert slots.title_release(b"gunicorn: worker [hello@v1]", "hello") == ""
    # Before setproctitle ran: the plain command line.
    assert slots.title_release(b"/srv/hello/slots/blue/venv/bin/python3\x00gunicorn", "hello") == ""


def test_systemctl_show_blocks_are_split_per_unit():
    out = "Id=a@blue.service\nMainPID=7\n\nId=a@green.service\nMainPID=0\n"
    assert slots.parse_show(out) == [
        {"Id": "a@blue.service", "MainPID": "7"},
        {"Id": "a@green.service", "MainPID": "0"},
    ]


@pytest.mark.parametrize("never", ["", "n/a", "  "])
def test_a_unit_that_never_started_is_older_than_any_file(never):
    assert slots.systemd_epoch(never) == 0.0


def test_systemd_timestamps_are_utc_with_microseconds():
    assert slots.systemd_epoch("Sat 2026-11-21 18:34:04.123456 UTC") == pytest.approx(
        1795286044.123456
    )
