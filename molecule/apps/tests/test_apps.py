"""Apps as people write them, on a minimal Debian host, after converge and side_effect.

side_effect.yml wrote data through release 1 and release 2 of each app, then rolled each back
to release 1; these tests check the host that is left, through Nginx and on disk.
"""

from __future__ import annotations

import json
import subprocess

import pytest

IMAGE = "flask-app-test/debian-systemd:12"
APPS = {
    # name: (Host header, data URL, data key, instance folder inside the release)
    "plain": ("plain.test", "/guests", "guests", "app/instance"),
    "guestbook": ("guestbook.test", "/entries", "entries", "venv/var/guestbook-instance"),
}
WRITTEN = ["written by release 1", "written by release 2"]
INSTANCE_SECRET = "guestbook-instance-secret-93be"


def curl(host, path: str, host_header: str):
    return host.run(
        f"curl --silent --show-error --max-time 10 -w '\\n%{{http_code}}' "
        f"-H 'Host: {host_header}' http://127.0.0.1{path}"
    )


def body_and_status(host, path: str, host_header: str) -> tuple[str, int]:
    result = curl(host, path, host_header)
    assert result.rc == 0, result.stderr
    body, _, status = result.stdout.rpartition("\n")
    return body, int(status)


@pytest.mark.parametrize(
    "package", ["dbus", "procps", "python3-apt", "python3-venv", "nginx", "sudo", "curl"]
)
def test_the_image_is_a_minimal_host(package):
    """What the role relies on is not in the image, so the role must have installed it."""
    query = ["dpkg-query", "--show", "--showformat=${db:Status-Status}", package]
    probe = subprocess.run(
        ["docker", "run", "--rm", "--entrypoint", *query[:1], IMAGE, *query[1:]],
        capture_output=True,
        text=True,
        check=False,
    )
    assert probe.stdout != "installed", f"{package} is in {IMAGE}"


@pytest.mark.parametrize("package", ["dbus", "procps", "ca-certificates", "python3-apt"])
def test_the_role_installed_what_it_runs(host, package):
    assert host.package(package).is_installed


@pytest.mark.parametrize("app", APPS)
def test_the_service_reloads(host, app, live_unit):
    """ExecReload runs /bin/kill: a reload works on the host as the role left it."""
    unit = live_unit(host, app)
    pid = host.check_output(f"systemctl show --property=MainPID --value {unit}")
    assert host.run(f"systemctl reload {unit}").rc == 0
    assert host.check_output(f"systemctl show --property=MainPID --value {unit}") == pid


def test_the_system_bus_runs_for_systemd_run(host):
    assert host.service("dbus.socket").is_running
    assert host.run("systemd-run --quiet --wait --pipe --collect /bin/true").rc == 0


@pytest.mark.parametrize("app", APPS)
def test_page_served_through_nginx(host, app):
    body, status = body_and_status(host, "/", APPS[app][0])
    assert status == 200
    assert "<h1>" in body


def test_plain_directory_page_after_rollback_is_release_1(host):
    body, _ = body_and_status(host, "/", "plain.test")
    assert "Hello from a plain directory of modules" in body
    assert "changed plain directory" not in body


def test_packaged_app_reads_its_instance_config(host):
    body, _ = body_and_status(host, "/", "guestbook.test")
    assert "The apps scenario&#39;s guestbook" in body, "TITLE from the instance config.py"
    assert "first edition" in body, "release 1 again after the rollback"


@pytest.mark.parametrize("app", APPS)
def test_data_survived_redeploy_and_rollback(host, app):
    host_header, path, key, _ = APPS[app]
    body, status = body_and_status(host, path, host_header)
    assert status == 200
    assert json.loads(body)[key] == WRITTEN


@pytest.mark.parametrize("app", APPS)
def test_instance_folder_is_the_persistent_one_in_every_release(host, app):
    instance_rel = APPS[app][3]
    releases = host.file(f"/srv/{app}/releases").listdir()
    assert len(releases) == 2, "release 1 and release 2 of the side effect"
    for release in releases:
        link = host.file(f"/srv/{app}/releases/{release}/{instance_rel}")
        assert link.is_symlink and link.linked_to == f"/var/lib/{app}/instance", release
        marker = json.loads(
            host.file(f"/srv/{app}/releases/{release}/.flask_app_release.json").content_string
        )
        assert marker["instance_path"] == f"/srv/{app}/releases/{release}/{instance_rel}"
    folder = host.file(f"/var/lib/{app}/instance")
    assert folder.is_directory
    assert (folder.user, folder.group, folder.mode) == (app, app, 0o750)


def test_packaged_app_database_made_by_the_deploy_command(host):
    db = host.file("/var/lib/guestbook/instance/guestbook.sqlite")
    assert db.is_file
    assert db.user == "guestbook"
    assert db.mode & 0o007 == 0, "the deploy command runs with the service's UMask"


def test_instance_config_is_secret(host):
    config = host.file("/var/lib/guestbook/instance/config.py")
    assert (config.user, config.group, config.mode) == ("root", "guestbook", 0o640)
    assert INSTANCE_SECRET in config.content_string
    leaks = host.run(
        f"grep -rl {INSTANCE_SECRET} /srv /var/log /etc/nginx /etc/systemd /etc/guestbook"
    )
    assert leaks.stdout == "", leaks.stdout
    assert INSTANCE_SECRET not in host.run("journalctl --no-pager").stdout


def test_plain_directory_runs_from_its_own_directory(host, live_unit):
    """Gunicorn starts in the app's directory, which puts it first on the import path."""
    unit = live_unit(host, "plain")
    workdir = host.check_output(f"systemctl show --property=WorkingDirectory --value {unit}")
    slot = unit.removeprefix("plain@").removesuffix(".service")
    assert workdir == f"/srv/plain/slots/{slot}/app"
    assert host.file(f"{workdir}/manage.py").is_file


def test_plain_directory_lock_with_hashes_is_exactly_installed(host):
    freeze = host.check_output("/srv/plain/current/venv/bin/pip freeze").lower().splitlines()
    pinned = [
        line.split()[0].lower()
        for line in host.file("/srv/plain/current/app/requirements.txt").content_string.splitlines()
        if "==" in line
    ]
    assert pinned and set(pinned) <= set(freeze)
    assert "gunicorn==27.0.1" in freeze
    marker = json.loads(host.file("/srv/plain/current/.flask_app_release.json").content_string)
    assert (marker["layout"], marker["lock"]) == ("plain directory", "requirements.txt")


def test_packaged_app_installed_with_its_lock(host):
    freeze = host.check_output("/srv/guestbook/current/venv/bin/pip freeze").lower()
    assert "werkzeug==3.1.9" in freeze and "click==8.5.1" in freeze
    assert "guestbook @ file://" in freeze or "guestbook==1.0.0" in freeze


@pytest.mark.parametrize("app", APPS)
def test_no_health_route_yet_live(host, app, live_unit):
    """The default health check took the app's 404 on /healthz as an answer."""
    _, status = body_and_status(host, "/healthz", APPS[app][0])
    assert status == 404
    assert host.service(live_unit(host, app)).is_running
