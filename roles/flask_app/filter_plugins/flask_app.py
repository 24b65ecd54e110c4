"""Filters of the flask_app role."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any


def systemd_timestamp_epoch(value: str) -> float:
    """Seconds since the epoch of a ``systemctl show --timestamp=us+utc`` value.

    ``"Sat 2026-11-21 18:34:04.123456 UTC"`` -> 1795286044.123456; an empty value (the unit
    never entered the state) or ``n/a`` -> 0.0, i.e. older than any file.
    """
    text = (value or "").strip()
    if not text or text == "n/a":
        return 0.0
    parsed = datetime.strptime(text, "%a %Y-%m-%d %H:%M:%S.%f UTC")
    return parsed.replace(tzinfo=timezone.utc).timestamp()


def collisions(mine: dict[str, Any], others: list[dict[str, Any]]) -> list[str]:
    """What ``mine`` claims that another app on the host already has, one message per clash.

    Each claim is what an app records on the host (``/etc/ansible/facts.d/flask_app_<name>.fact``):
    ``name``, ``server_names``, ``ports`` (where its server blocks listen), ``socket`` (its Unix
    socket, "" with a TCP bind) and ``bind``. Nginx would only warn about a server name served
    twice on one port and answer with whichever block it read first; two units cannot hold one
    socket or address. Server names compare as Nginx does, without case.
    """
    found: list[str] = []
    my_names = {str(name).lower(): str(name) for name in mine.get("server_names", [])}
    my_ports = {int(port) for port in mine.get("ports", [])}
    for other in others:
        if other.get("name") == mine.get("name"):
            continue
        app = other.get("name", "?")
        ports = sorted(my_ports & {int(port) for port in other.get("ports", [])})
        for name in other.get("server_names", []):
            if ports and str(name).lower() in my_names:
                where = ", ".join(str(port) for port in ports)
                found.append(
                    f"flask_app_server_name {my_names[str(name).lower()]!r} on port {where}"
                    f" is already served by app {app!r}"
                )
        for key, variable in (("socket", "flask_app_socket_path"), ("bind", "flask_app_bind")):
            if mine.get(key) and mine.get(key) == other.get(key):
                found.append(f"{variable} {mine[key]!r} is already app {app!r}'s")
    return found


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "flask_app_systemd_timestamp_epoch": systemd_timestamp_epoch,
            "flask_app_collisions": collisions,
        }
