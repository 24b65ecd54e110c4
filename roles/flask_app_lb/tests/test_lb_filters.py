"""The load balancer's backend servers (filter_plugins/flask_app_lb.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_path = Path(__file__).resolve().parents[1] / "filter_plugins" / "flask_app_lb.py"
_spec = importlib.util.spec_from_file_location("flask_app_lb_filters", _path)
assert _spec and _spec.loader
lb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lb)


def test_one_server_per_app_host_in_inventory_order_with_its_address():
    hostvars = {
        "app1": {"flask_app_lb_backend_address": "10.0.0.11", "ansible_host": "203.0.113.1"},
        "app2": {"ansible_host": "10.0.0.12"},
        "app3": {},
    }
    assert lb.backend_servers(["app2", "app1", "app3"], hostvars) == [
        {"name": "app2", "address": "10.0.0.12"},
        {"name": "app1", "address": "10.0.0.11"},
        {"name": "app3", "address": "app3"},
    ]


def test_no_app_hosts_no_servers():
    assert lb.backend_servers([], {}) == []
