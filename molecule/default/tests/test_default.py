"""The default scenario: the whole stack runs and behaves as the role promises.

Requests go through Nginx on 127.0.0.1 inside the container, or straight to Gunicorn's
socket, always via ``docker exec`` (testinfra's docker backend).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import yaml

APP = "hello"
SOCKET = f"/run/{APP}.sock"
HOST_HEADER = "hello.test"
ROLE = Path(__file__).resolve().parents[3] / "roles" / "flask_app"


def curl(host, url: str, *args: str, user: str | None = None):
    """Run curl in the container and return the command result (body on stdout)."""
    cmd = ["curl", "--silent", "--show-error", "--max-time", "10", *args, url]
    if user:
        cmd = ["runuser", "-u", user, "--", *cmd]
    return host.run(" ".join(_quote(c) for c in cmd))


def _quote(arg: str) -> str:
    return "'" + arg.replace("'", "'\\''") + "'"


@pytest.mark.parametrize("package", ["nginx", "python3-venv", "logrotate"])
def test_packages_installed(host, package):
    assert host.package(package).is_installed


def test_app_user_cannot_log_in(host):
    user = host.user(APP)
    assert user.exists
    assert user.group == APP
    assert user.shell == "/usr/sbin/nologin"
    assert user.uid < 1000, "a system user"


def test_release_is_root_owned_with_its_own_venv(host, venv_freeze):
    current = host.file(f"/srv/{APP}/current")
    assert current.is_symlink
    release = host.file(current.linked_to)
    assert release.path.startswith(f"/srv/{APP}/releases/")
    assert release.user == "root"
    gunicorn = host.file(f"{release.path}/venv/bin/gunicorn")
    assert gunicorn.exists and gunicorn.user == "root"
    marker = json.loads(host.file(f"{release.path}/.flask_app_release.json").content_string)
    assert marker["release"] == Path(release.path).name
    freeze = venv_freeze(host, f"{release.path}/venv")
    # Compiled at install (uv, as pip would): the app may not write its release.
    flask_pyc = host.run(f"find {release.path}/venv -path '*/flask/__pycache__/app.*.pyc'")
    assert flask_pyc.stdout.strip(), "the installed packages come with their bytecode"
    assert "gunicorn==27.0.1" in freeze
    assert "hello @ file://" in freeze or "hello==" in freeze


@pytest.mark.parametrize("unit", [f"{APP}@blue.socket", f"{APP}@green.socket", "nginx.service"])
def test_units_enabled_and_active(host, unit):
    service = host.service(unit)
    assert service.is_enabled
    assert service.is_running


def test_one_slot_serves_and_the_other_is_stopped(host, live_unit):
    live = live_unit(host, APP)
    idle = f"{APP}@{'green' if live == f'{APP}@blue.service' else 'blue'}.service"
    assert host.service(live).is_running
    # Socket-activated: started by the role or by a connection; no [Install] of its own.
    assert host.run(f"systemctl is-enabled {live}").stdout.strip() == "static"
    assert not host.service(idle).is_running


def test_nginx_reaches_the_live_slot_through_fixed_links(host, live_unit):
    slot_socket = f"/run/{live_unit(host, APP, 'socket').removesuffix('.socket')}.sock"
    # One link at a time (testinfra's linked_to follows the whole chain).
    assert host.file(SOCKET).is_symlink
    assert host.check_output(f"readlink {SOCKET}") == f"/srv/{APP}/live.sock"
    assert host.check_output(f"readlink /srv/{APP}/live.sock") == slot_socket
    # After a boot /run is empty: systemd-tmpfiles makes the fixed link again.
    tmpfiles = host.file(f"/etc/tmpfiles.d/flask_app-{APP}.conf").content_string
    assert f"L {SOCKET} - - - - /srv/{APP}/live.sock" in tmpfiles


def test_socket_owned_by_app_and_nginx_group_only(host, live_unit):
    for slot in ("blue", "green"):
        path = f"/run/{APP}@{slot}.sock"
        sock = host.file(path)
        assert sock.is_socket
        assert sock.user == APP
        assert sock.group == "www-data"
        assert sock.mode == 0o660
        assert host.socket(f"unix://{path}").is_listening


def test_service_runs_as_app_user_under_notify_and_sandbox(host, live_unit):
    props = host.check_output(
        f"systemctl show {live_unit(host, APP)} -p User -p Type -p KillMode -p ProtectSystem"
        " -p TimeoutStopUSec -p Restart -p NoNewPrivileges"
    ).splitlines()
    shown = dict(line.split("=", 1) for line in props)
    assert shown == {
        "User": APP,
        "Type": "notify",
        "KillMode": "mixed",
        "ProtectSystem": "strict",
        "TimeoutStopUSec": "35s",  # graceful_timeout 30 + 5
        "Restart": "on-failure",
        "NoNewPrivileges": "yes",
    }


def test_page_served_through_nginx(host):
    result = curl(host, "http://127.0.0.1/", "-H", f"Host: {HOST_HEADER}", "--fail")
    assert result.rc == 0, result.stderr
    assert "<h1>Hello from Molecule</h1>" in result.stdout
    release = Path(host.file(f"/srv/{APP}/current").linked_to).name
    assert f'<dd id="release">{release}</dd>' in result.stdout


def test_healthz_through_nginx_reports_release(host):
    body = curl(host, "http://127.0.0.1/healthz", "-H", f"Host: {HOST_HEADER}", "--fail")
    assert body.rc == 0, body.stderr
    release = Path(host.file(f"/srv/{APP}/current").linked_to).name
    assert json.loads(body.stdout) == {"status": "ok", "release": release}


def test_forwarded_headers_reach_the_app(host):
    # Through Nginx: X-Forwarded-For carries the client (127.0.0.1 here), Host is kept.
    page = curl(host, "http://127.0.0.1/", "-H", f"Host: www.{HOST_HEADER}", "--fail").stdout
    assert '<dd id="client">127.0.0.1</dd>' in page
    assert f'<dd id="host">www.{HOST_HEADER}</dd>' in page
    assert '<dd id="scheme">http</dd>' in page
    # Straight to the socket: the app honours X-Forwarded-Proto/-For from its proxy.
    page = curl(
        host,
        "http://localhost/",
        "--unix-socket",
        SOCKET,
        "-H",
        "X-Forwarded-Proto: https",
        "-H",
        "X-Forwarded-For: 198.51.100.23",
    ).stdout
    assert '<dd id="scheme">https</dd>' in page
    assert '<dd id="client">198.51.100.23</dd>' in page


def test_static_files_served_by_nginx_not_gunicorn(host):
    marker = f"static-{uuid.uuid4()}"
    result = curl(
        host, "http://127.0.0.1/static/style.css", "-H", f"Host: {HOST_HEADER}", "-A", marker
    )
    assert result.rc == 0 and "font-family" in result.stdout
    assert marker not in host.file(f"/var/log/{APP}/access.log").content_string


def test_unknown_host_gets_no_answer(host):
    result = curl(host, "http://127.0.0.1/", "-H", "Host: other.example")
    assert result.rc == 52, "curl: empty reply (Nginx closed the connection, 444)"
    assert "Welcome to nginx" not in result.stdout


def test_security_headers_and_no_version(host):
    headers = curl(
        host, "http://127.0.0.1/", "-H", f"Host: {HOST_HEADER}", "-D", "-", "-o", "/dev/null"
    ).stdout.lower()
    assert "x-content-type-options: nosniff" in headers
    assert "x-frame-options: sameorigin" in headers
    assert "referrer-policy: strict-origin-when-cross-origin" in headers
    assert "strict-transport-security" not in headers, "no HSTS over plain HTTP"
    assert "server: nginx\r\n" in headers, "server_tokens off"


def test_socket_allows_nginx_user(host):
    result = curl(host, "http://localhost/healthz", "--unix-socket", SOCKET, user="www-data")
    assert result.rc == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "ok"


def test_socket_refuses_unrelated_user(host):
    connect = f"import socket; socket.socket(socket.AF_UNIX).connect({SOCKET!r})"
    # The same connection is accepted for www-data, so the refusal is about the user alone.
    assert host.run(f"runuser -u www-data -- python3 -c {_quote(connect)}").rc == 0
    result = host.run(f"runuser -u nobody -- python3 -c {_quote(connect)}")
    assert result.rc != 0
    assert "PermissionError" in result.stderr, result.stderr


def test_gunicorn_logs_receive_the_request(host):
    marker = f"testinfra-{uuid.uuid4()}"
    assert curl(host, "http://127.0.0.1/", "-H", f"Host: {HOST_HEADER}", "-A", marker).rc == 0
    access = host.file(f"/var/log/{APP}/access.log")
    error = host.file(f"/var/log/{APP}/error.log")
    assert access.user == APP and error.user == APP
    lines = [line for line in access.content_string.splitlines() if marker in line]
    assert len(lines) == 1
    # Client from X-Forwarded-For, request line, status, agent, request time.
    assert lines[0].startswith("127.0.0.1 ")
    assert '"GET / HTTP/1.0" 200' in lines[0]
    assert lines[0].endswith("us")
    # The app's own logger writes into Gunicorn's error log.
    assert "index requested by 127.0.0.1" in error.content_string
    assert "Booting worker" in error.content_string


def test_nginx_configuration_is_valid(host):
    assert host.run("nginx -t").rc == 0


def test_processes_and_status_show_the_release(host, live_unit):
    release = Path(host.file(f"/srv/{APP}/current").linked_to).name
    titles = host.check_output("ps -eo args").splitlines()
    assert sum(t.startswith(f"gunicorn: master [{APP}@{release}]") for t in titles) == 1
    assert sum(t.startswith(f"gunicorn: worker [{APP}@{release}]") for t in titles) == 3
    status = host.run(f"systemctl status --no-pager --lines=0 {live_unit(host, APP)}").stdout
    assert f"gunicorn: master [{APP}@{release}]" in status


def test_journal_has_gunicorn_start_lines(host):
    journal = host.check_output(f"journalctl --no-pager -u '{APP}@*.service'")
    assert "Starting gunicorn" in journal
    assert "Listening at: " in journal or "Using worker: sync" in journal


def test_config_and_secrets_are_not_world_readable(host):
    for name in ("env", "secret.env", "gunicorn.conf.py"):
        f = host.file(f"/etc/{APP}/{name}")
        assert (f.user, f.group, f.mode) == ("root", APP, 0o640), name
    assert "HELLO_TEST_SECRET=" in host.file(f"/etc/{APP}/env").content_string
    assert len(host.file(f"/etc/{APP}/secret.env").content_string.split('"')[1]) == 64


def test_role_knows_every_gunicorn_setting(host):
    """The role's list of Gunicorn settings is the installed Gunicorn's own, and its file is
    named for that Gunicorn's version."""
    venv = f"/srv/{APP}/current/venv/bin/python"
    installed = json.loads(
        host.check_output(
            f"{venv} -c 'import json, gunicorn.config as c;"
            " print(json.dumps([s.name for s in c.KNOWN_SETTINGS]))'"
        )
    )
    version = host.check_output(f"{venv} -c 'import gunicorn; print(gunicorn.__version__)'")
    role_vars = yaml.safe_load((ROLE / "vars" / f"gunicorn-{version}.yml").read_text())
    assert role_vars["__flask_app_gunicorn_known_settings"] == installed
