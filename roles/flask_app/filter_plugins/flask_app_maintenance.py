"""Decisions of maintenance mode (README "Operating the app"): which requests Nginx answers
itself while an app is in maintenance, and what the files that hold the mode say.

The app's server block never changes: it includes two files of its own
(/etc/nginx/flask_app/<name>/maintenance-http.conf at the http level, maintenance-server.conf
inside the server block), which hold nothing while the app is live and the rules below while
it is in maintenance.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from typing import Any

# Where Nginx's own answers live in the URI space while the app is in maintenance: internal
# locations, which a client cannot request.
INTERNAL_PREFIX = "/.flask_app-maintenance/"
# The line that marks maintenance-http.conf as in maintenance
# (templates/nginx-maintenance-http.conf.j2).
MARK_ON = "# flask_app maintenance: on"


def nginx_variable(app: str, what: str) -> str:
    """An Nginx variable name of the app's (letters, digits and ``_`` only)."""
    return "flask_app_" + re.sub(r"[^A-Za-z0-9_]", "_", app) + "_" + what


def nginx_string(value: str) -> str:
    """``value`` as one double-quoted Nginx string (a map key: taken literally, or as a regular
    expression when it starts with ``~``)."""
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def nginx_headers(security: Mapping[str, str], serves_https: bool, hsts_max_age: int) -> dict:
    """The headers Nginx sends with every answer of the app, the maintenance page included:
    the role's security headers, and HSTS while the app serves HTTPS (flask_app_hsts_max_age
    above 0)."""
    headers = dict(security)
    if serves_https and int(hsts_max_age) > 0:
        headers["Strict-Transport-Security"] = f"max-age={int(hsts_max_age)}"
    return headers


def maintenance_routes(health_path: str) -> list[tuple[str, str]]:
    """The map from ``<client is held back>:<URI>`` to what Nginx does with the request while
    the app is in maintenance, in Nginx's order (exact keys first, then regular expressions in
    the order given): ``page`` (503 and the maintenance page), ``health`` (Nginx answers the
    health check itself: 200), ``""`` (the request goes on as usual).

    Allowed clients (``0:``) always go on to the app. For the others, the health path answers
    200 so that a load balancer keeps the host in and its users get this host's page rather
    than the balancer's own error; ACME challenges still reach certbot's webroot, so renewals
    go on; Nginx's own internal answers are left alone; everything else gets the page."""
    path = health_path.split("?", 1)[0] or "/"
    return [
        ("default", '""'),
        (nginx_string(f"1:{path}"), "health"),
        (nginx_string("~^1:" + re.escape(INTERNAL_PREFIX)), '""'),
        (nginx_string("~^1:/\\.well-known/acme-challenge/"), '""'),
        (nginx_string("~^1:"), "page"),
    ]


def maintenance_state(read: Mapping[str, Any]) -> str:
    """What maintenance-http.conf on the host says, from the slurp module's result: ``on``,
    ``off``, or ``absent`` (no file: an app deployed before maintenance mode existed, or never
    deployed here)."""
    if "content" not in read:
        return "absent"
    text = base64.b64decode(read["content"]).decode("utf-8", "replace")
    return "on" if MARK_ON in text.splitlines() else "off"


def maintenance_write(wanted: bool | None, state: str) -> dict[str, Any]:
    """Whether a run writes the maintenance files, and in which mode. ``wanted`` is
    flask_app_maintenance (``None``: leave the mode as it is); ``state`` what the host has
    (maintenance_state). A run without flask_app_maintenance never changes the mode, so a
    deploy in the middle of a maintenance window keeps the page up; it writes the files (live)
    only where there are none, as the server block includes them."""
    if wanted is None:
        return {"write": state == "absent", "on": state == "on"}
    return {"write": True, "on": bool(wanted)}


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "flask_app_nginx_headers": nginx_headers,
            "flask_app_nginx_variable": nginx_variable,
            "flask_app_nginx_string": nginx_string,
            "flask_app_maintenance_routes": maintenance_routes,
            "flask_app_maintenance_state": maintenance_state,
            "flask_app_maintenance_write": maintenance_write,
        }
