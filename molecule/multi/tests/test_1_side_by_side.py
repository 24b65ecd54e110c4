"""Two apps on one host: each served on its own names, isolated from the other, and a third
app that would take what one of them has is refused before the host changes.

Runs before test_2_removal.py (file order), while both apps are installed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

PROJECT = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", Path(__file__).resolve().parents[3]))

APPS = ("alpha", "beta")
OTHER = {"alpha": "beta", "beta": "alpha"}


def curl(host, url: str, *args: str):
    return host.run(
        "curl --silent --show-error --max-time 10 --output /dev/null --write-out '%{http_code}' "
        + " ".join(args)
        + f" {url}"
    )


def test_alpha_serves_https_and_redirects_http(host):
    https = curl(
        host, "https://alpha.test/healthz", "--insecure", "--resolve alpha.test:443:127.0.0.1"
    )
    assert https.stdout == "200", https.stderr
    http = curl(host, "http://127.0.0.1/", "-H 'Host: alpha.test'")
    assert http.stdout == "301"


def test_beta_serves_http_only(host):
    assert curl(host, "http://127.0.0.1/", "-H 'Host: beta.test'").stdout == "200"
    https = curl(host, "https://beta.test/", "--insecure", "--resolve beta.test:443:127.0.0.1")
    assert https.rc != 0, "no TLS for a name no app serves on 443"


@pytest.mark.parametrize("app", APPS)
def test_each_app_has_its_own_user_units_socket_files_and_site(host, app, live_unit):
    assert host.user(app).group == app
    assert host.service(live_unit(host, app)).is_running
    socket = host.file(f"/run/{live_unit(host, app).removesuffix('.service')}.sock")
    assert (socket.user, socket.group, socket.mode) == (app, "www-data", 0o660)
    for path in (f"/etc/{app}/env", f"/etc/{app}/secret.env"):
        env = host.file(path)
        assert (env.user, env.group, env.mode) == ("root", app, 0o640)
    assert host.file(f"/etc/logrotate.d/{app}").is_file
    assert host.file(f"/etc/nginx/sites-enabled/{app}.conf").is_symlink
    assert host.file(f"/var/log/{app}/access.log").is_file


def test_default_servers_are_shared_one_per_port(host):
    enabled = host.file("/etc/nginx/sites-enabled").listdir()
    assert sorted(f for f in enabled if f.startswith("000-default-server")) == [
        "000-default-server-443.conf",
        "000-default-server-80.conf",
    ]


@pytest.mark.parametrize("app", APPS)
def test_an_app_user_cannot_read_the_other_apps_secrets(host, app):
    other = OTHER[app]
    for path in (f"/etc/{other}/env", f"/etc/{other}/secret.env"):
        result = host.run(f"runuser -u {app} -- cat {path}")
        assert result.rc != 0 and "Permission denied" in result.stderr, path


@pytest.mark.parametrize("app", APPS)
def test_an_app_user_cannot_connect_to_the_other_apps_socket(host, app):
    def as_user(user: str):
        return host.run(
            f"runuser -u {user} -- curl --verbose --silent --max-time 5 --output /dev/null "
            f"--write-out '%{{http_code}}' --unix-socket /run/{OTHER[app]}.sock http://localhost/"
        )

    refused = as_user(app)
    assert refused.rc == 7 and "Permission denied" in refused.stderr, refused.stderr
    assert as_user("www-data").stdout == "200", "Nginx's user gets through the same socket"


@pytest.mark.parametrize("app", APPS)
def test_an_app_user_cannot_write_the_other_apps_code_or_data(host, app):
    other = OTHER[app]
    for directory in (f"/srv/{other}/current", f"/srv/{other}/current/venv", f"/var/lib/{other}"):
        result = host.run(f"runuser -u {app} -- touch {directory}/written-by-{app}")
        assert result.rc != 0 and "Permission denied" in result.stderr, directory


@pytest.mark.parametrize("app", APPS)
def test_in_its_sandbox_an_app_cannot_see_the_other_apps_processes(host, app, live_unit):
    """The unit's ProtectProc=invisible: other users' processes are not in its /proc."""
    own_unit, other_unit = live_unit(host, app), live_unit(host, OTHER[app])
    unit = host.check_output(f"systemctl show --property=ProtectProc,ProcSubset {own_unit}")
    assert "ProtectProc=invisible" in unit
    other_pid = host.check_output(f"systemctl show --property=MainPID --value {other_unit}")
    own_pid = host.check_output(f"systemctl show --property=MainPID --value {own_unit}")
    assert int(other_pid) > 0 and int(own_pid) > 0
    seen = host.check_output(
        f"systemd-run --quiet --wait --pipe --collect --uid={app} --gid={app} "
        "--property=ProtectProc=invisible --property=ProcSubset=pid "
        '/bin/sh -c \'ls /proc | grep -E "^[0-9]+$" | tr "\\n" " "\''
    ).split()
    assert other_pid not in seen
    assert own_pid in seen, "its own processes stay visible: the check can tell"
    # Outside the sandbox the same user sees everything: the sandbox is what hides it.
    assert host.run(f"runuser -u {app} -- test -e /proc/{other_pid}").rc == 0


COLLISIONS = [
    (
        "server-name-of-beta",
        {"flask_app_server_name": ["gamma.test", "BETA.test"]},
        ["collides with another app", "flask_app_server_name 'BETA.test' on port 80", "'beta'"],
    ),
    (
        "socket-of-alpha",
        {"flask_app_socket_path": "/run/alpha.sock"},
        ["flask_app_socket_path '/run/alpha.sock' is already app 'alpha'"],
    ),
]


@pytest.mark.parametrize(
    ("extra_vars", "fragments"), [pytest.param(v, f, id=i) for i, v, f in COLLISIONS]
)
def test_a_colliding_third_app_is_refused_before_the_host_changes(
    host, run_playbook, extra_vars, fragments
):
    gamma = {
        "flask_app_name": "gamma",
        "flask_app_src": str(PROJECT / "files" / "examples" / "plain"),
        "flask_app_factory": "manage:create_app('config.py')",
        "flask_app_server_name": ["gamma.test"],
    }
    result = run_playbook({**gamma, **extra_vars})
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    message = re.sub(r"\s+", " ", output)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} missing from:\n{output[-3000:]}"
    assert re.search(r"changed=0\b", output), output[-2000:]
    assert not host.file("/etc/gamma").exists
    assert not host.user("gamma").exists
