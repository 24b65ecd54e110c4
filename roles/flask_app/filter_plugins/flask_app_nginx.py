"""Decisions about Nginx's capacity and per-client limits (README "Security"): how many
connections each worker holds and how many files it may open, and the directives that cap what
one client address may take from the app's Gunicorn workers.
"""

from __future__ import annotations

from typing import Any

# Beyond two descriptors per connection: log files, listening sockets, the upstream's.
RLIMIT_SPARE = 256
# Per-client state in a zone: 10 MiB holds about 160,000 addresses (Nginx's documentation).
ZONE_SIZE = "10m"


def nginx_capacity(worker_connections: int) -> dict[str, int]:
    """Nginx's worker_connections and the worker_rlimit_nofile it needs: a proxied request holds
    two descriptors (the client's and the upstream's), so each worker may open twice its
    connections, plus spares; Debian's 1,024 default soft limit would cap it far below."""
    connections = int(worker_connections)
    return {
        "worker_connections": connections,
        "worker_rlimit_nofile": 2 * connections + RLIMIT_SPARE,
    }


def limit_zone(app: str, what: str) -> str:
    """A zone name of the app's own, its name kept as it is (apps differing only in '-' and '_'
    stay apart, as their upstreams do)."""
    return f"flask_app_{app}_{what}"


def nginx_limits(app: str, limit_conn: int, rate: int, burst: int) -> dict[str, list[str]]:
    """The directives of the app's per-client limits: ``http`` (the zones, at the top of the
    server block's file) and ``proxy`` (in the location that reaches Gunicorn; static files cost
    Nginx little and are not limited). A limit of 0 is off. The client is the address Nginx sees
    after the trusted load balancers' X-Forwarded-For, so a fleet limits clients, not HAProxy.
    Over a limit a client gets 429."""
    http: list[str] = []
    proxy: list[str] = []
    if int(limit_conn) > 0:
        zone = limit_zone(app, "conn")
        http.append(f"limit_conn_zone $binary_remote_addr zone={zone}:{ZONE_SIZE};")
        proxy += [f"limit_conn {zone} {int(limit_conn)};", "limit_conn_status 429;"]
    if int(rate) > 0:
        zone = limit_zone(app, "req")
        http.append(
            f"limit_req_zone $binary_remote_addr zone={zone}:{ZONE_SIZE} rate={int(rate)}r/s;"
        )
        proxy += [f"limit_req zone={zone} burst={int(burst)} nodelay;", "limit_req_status 429;"]
    return {"http": http, "proxy": proxy}


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "flask_app_nginx_capacity": nginx_capacity,
            "flask_app_nginx_limits": nginx_limits,
        }
