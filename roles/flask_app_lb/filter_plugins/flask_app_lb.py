"""Filters of the flask_app_lb role."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def backend_servers(hosts: list[str], hostvars: Mapping[str, Mapping[str, Any]]) -> list[dict]:
    """One HAProxy backend server per app host, in inventory order: ``name`` (the inventory
    name, which draining names too) and ``address``: the host's ``flask_app_lb_backend_address``,
    else its ``ansible_host``, else its inventory name."""
    servers = []
    for host in hosts:
        facts = hostvars.get(host, {}) if hasattr(hostvars, "get") else hostvars[host]
        address = facts.get("flask_app_lb_backend_address") or facts.get("ansible_host") or host
        servers.append({"name": str(host), "address": str(address)})
    return servers


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"flask_app_lb_backend_servers": backend_servers}
