"""Maintenance mode's decisions: what Nginx does with each request, what the files on the host
say, and when a run writes them."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import jinja2
import pytest
from role_code import load

maintenance = load("filter_plugins/flask_app_maintenance.py")
TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


def route(routes: list[tuple[str, str]], key: str) -> str:
    """What Nginx's map gives for ``key``: exact keys first, then regular expressions in order."""
    table = [(k.strip('"'), v.strip('"')) for k, v in routes]
    exact = {k: v for k, v in table if not k.startswith("~") and k != "default"}
    if key in exact:
        return exact[key]
    for k, v in table:
        if k.startswith("~") and re.search(k[1:].replace("\\\\", "\\"), key):
            return v
    return dict(table)["default"]


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("0:/", ""),
        ("0:/healthz", ""),
        ("1:/", "page"),
        ("1:/notes/7", "page"),
        ("1:/healthz", "health"),
        ("1:/healthz/more", "page"),
        ("1:/.well-known/acme-challenge/token", ""),
        ("1:/.flask_app-maintenance/page.html", ""),
        ("1:/.flask_app-maintenance/health", ""),
    ],
)
def test_held_back_clients_get_the_page_the_health_check_200_and_acme_goes_on(key, expected):
    assert route(maintenance.maintenance_routes("/healthz?full=1"), key) == expected


def test_map_keys_are_quoted_nginx_strings():
    assert maintenance.nginx_string('1:/a"b\\c') == '"1:/a\\"b\\\\c"'
    for key, _ in maintenance.maintenance_routes('/he"alth'):
        assert key == "default" or re.fullmatch(r'"([^"\\]|\\.)*"', key), key


def test_nginx_variables_of_apps_are_names_nginx_takes():
    assert maintenance.nginx_variable("my-app", "maintenance") == "flask_app_my_app_maintenance"


@pytest.mark.parametrize(
    ("text", "state"),
    [
        (None, "absent"),
        ("# managed\n# flask_app maintenance: off\n", "off"),
        ("# managed\n# flask_app maintenance: on\ngeo $x {\n}\n", "on"),
        ("", "off"),
    ],
)
def test_the_mode_is_read_from_the_file(text, state):
    read = {} if text is None else {"content": base64.b64encode(text.encode()).decode()}
    assert maintenance.maintenance_state(read) == state


@pytest.mark.parametrize(
    ("wanted", "state", "plan"),
    [
        # A deploy without flask_app_maintenance: files only where there are none, as live.
        (None, "absent", {"write": True, "on": False}),
        (None, "on", {"write": False, "on": True}),
        (None, "off", {"write": False, "on": False}),
        (True, "off", {"write": True, "on": True}),
        (True, "absent", {"write": True, "on": True}),
        (False, "on", {"write": True, "on": False}),
    ],
)
def test_a_run_changes_the_mode_only_when_asked(wanted, state, plan):
    assert maintenance.maintenance_write(wanted, state) == plan


def render(name: str, **variables) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), keep_trailing_newline=True, trim_blocks=True
    )
    env.filters.update(maintenance.FilterModule().filters())
    env.filters["comment"] = lambda text: "# " + text
    return env.get_template(name).render(ansible_managed="managed by Ansible", **variables)


def slurped(text: str) -> dict[str, str]:
    return {"content": base64.b64encode(text.encode()).decode()}


SETTINGS = {
    "flask_app_name": "alpha-app",
    "flask_app_maintenance_allow": ["127.0.0.2", "10.0.0.0/24"],
    "flask_app_health_path": "/healthz",
    "flask_app_maintenance_retry_after": 600,
    "__flask_app_maintenance_page_file": "/etc/nginx/flask_app/alpha-app/maintenance.html",
    "__flask_app_security_headers": {"X-Frame-Options": "SAMEORIGIN"},
    "__flask_app_serves_https": True,
    "flask_app_hsts_max_age": 600,
}


def test_live_files_hold_no_directive_and_say_off():
    for name in ("nginx-maintenance-http.conf.j2", "nginx-maintenance-server.conf.j2"):
        text = render(name, __flask_app_maintenance_on=False, **SETTINGS)
        assert all(not line or line.startswith("#") for line in text.splitlines()), text
    http = render("nginx-maintenance-http.conf.j2", __flask_app_maintenance_on=False, **SETTINGS)
    assert maintenance.maintenance_state(slurped(http)) == "off"


def test_maintenance_files_hold_the_allow_list_the_page_and_retry_after():
    http = render("nginx-maintenance-http.conf.j2", __flask_app_maintenance_on=True, **SETTINGS)
    assert maintenance.maintenance_state(slurped(http)) == "on"
    assert "geo $flask_app_alpha_app_maintenance_client {" in http
    assert "    127.0.0.2 0;\n    10.0.0.0/24 0;\n" in http
    assert (
        'map "$flask_app_alpha_app_maintenance_client:$uri" $flask_app_alpha_app_maintenance'
        in http
    )
    server = render("nginx-maintenance-server.conf.j2", __flask_app_maintenance_on=True, **SETTINGS)
    assert "if ($flask_app_alpha_app_maintenance = page) {\n    return 503;" in server
    assert "alias /etc/nginx/flask_app/alpha-app/maintenance.html;" in server
    assert "add_header Retry-After 600 always;" in server
    assert 'add_header X-Frame-Options "SAMEORIGIN" always;' in server
    assert 'add_header Strict-Transport-Security "max-age=600" always;' in server
    assert server.count("{") == server.count("}")


def test_the_headers_add_hsts_only_while_serving_https():
    security = {"X-Frame-Options": "SAMEORIGIN"}
    assert maintenance.nginx_headers(security, False, 63072000) == security
    assert maintenance.nginx_headers(security, True, 0) == security
    assert maintenance.nginx_headers(security, True, 600) == {
        **security,
        "Strict-Transport-Security": "max-age=600",
    }
