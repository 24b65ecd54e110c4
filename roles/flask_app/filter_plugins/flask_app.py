"""Filters of the flask_app role."""

from __future__ import annotations

import hashlib
import ipaddress
import json
from typing import Any

# Facts the role sets for the playbook around it (site.yml reads them); not input.
RESULT_FACTS = frozenset({"flask_app_switch_pending"})


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


def claims(local_facts: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The claims the apps on a host recorded (``ansible_local.flask_app_<name>``, read from
    ``/etc/ansible/facts.d``), in name order; anything else in the local facts is ignored."""
    found = [
        value
        for key, value in sorted((local_facts or {}).items())
        if key.startswith("flask_app_") and isinstance(value, dict) and "name" in value
    ]
    return found


def default_server_files(ports: list[int], *directories: str) -> list[str]:
    """The default-server files (``000-default-server-<port>.conf``) of ``ports`` in each of
    ``directories`` (Nginx's sites-enabled and sites-available)."""
    return [f"{d}/000-default-server-{int(port)}.conf" for d in directories for port in ports]


SLOTS = ("blue", "green")


def switch_plan(state: dict[str, Any], release: str, strategy: str) -> dict[str, Any]:
    """Decide how to bring ``release`` live, from what the host really runs.

    ``state`` is what the role's ``flask_app_slots`` module read. Two Gunicorn slots
    (``<app>@blue``, ``<app>@green``) take turns. With ``overlap`` a change starts the idle
    slot, checks it on its own socket, moves traffic to it, then drains and stops the old one;
    with ``restart`` the one slot (``blue``) restarts (or reloads) in place while requests wait
    in its socket's backlog. A slot serves the release its running master's working directory
    lies in; a slot whose service is not running (after a reboot, before its first request)
    serves what its link names, which is what socket activation would start.

    Returns ``action`` (``none``, ``overlap``, ``restart``, ``reload``, or ``finish``: the
    release already serves, only ``current``, stray slots and a health check are left),
    ``restart_socket`` (the target's socket restarts first: always for an idle ``overlap``
    target, with ``restart`` only when its unit is newer than it), ``target`` (the slot serving
    afterwards), ``previous`` (the slot serving now, "" if none),
    ``serving`` (the release it serves),
    ``stop`` (slots to stop once ``target`` has the traffic), ``release_changes`` (deploy
    commands run), ``legacy`` (the single-unit layout of earlier role versions is to go) and
    ``reason``.
    """
    if strategy not in ("overlap", "restart"):
        raise ValueError(f"strategy must be overlap or restart, not {strategy!r}")
    slots: dict[str, dict[str, Any]] = state.get("slots", {})
    legacy = bool(state.get("legacy_units"))
    live = "blue" if strategy == "restart" else state.get("live_slot", "")
    info = slots.get(live, {}) if live else {}
    if strategy == "restart" and not info.get("active") and not info.get("linked"):
        info = {}
    running = bool(info.get("active"))
    serving = (info.get("release") if running else info.get("linked")) or ""
    if legacy and not info:
        # The single unit of earlier versions serves what `current` names.
        serving = state.get("current", "")
    started = float(info.get("started", 0.0))
    stale_start = running and float(state.get("restart_inputs", 0.0)) >= started
    stale_config = running and float(state.get("reload_inputs", 0.0)) >= max(
        started, float(info.get("reloaded", 0.0))
    )
    # The live slot's socket was started before its unit last changed (e.g. flask_app_bind).
    socket_started = float(info.get("socket_started", 0.0))
    stale_socket = socket_started > 0 and float(state.get("socket_inputs", 0.0)) >= socket_started
    others = [slot for slot, i in sorted(slots.items()) if i.get("active") and slot != live]

    def plan(action: str, target: str, stop: list[str], reason: str) -> dict[str, Any]:
        socket_started = float(slots.get(target, {}).get("socket_started", 0.0))
        return {
            "action": action,
            "restart_socket": action == "overlap"
            or (action == "restart" and float(state.get("socket_inputs", 0.0)) >= socket_started),
            "target": target,
            "previous": live if info else "",
            "stop": stop,
            "serving": serving,
            "release_changes": serving != release,
            "legacy": legacy,
            "reason": reason,
        }

    if not info:
        reason = (
            "the single unit of earlier role versions serves; a slot takes over"
            if legacy
            else "no slot serves yet"
        )
    elif serving != release:
        reason = f"release {release} should serve, {serving or 'none'} does"
    elif stale_start or stale_socket or (stale_config and strategy == "overlap"):
        reason = "a file the app reads at start is newer than its running Gunicorn"
    elif stale_config:
        return plan("reload", live, others, "gunicorn.conf.py is newer than the last (re)load")
    elif others or legacy or state.get("current", "") != release:
        return plan("finish", live, others, "the release serves; an earlier run left work")
    else:
        return plan("none", live, [], "the release serves and its Gunicorn read every file")

    if strategy == "restart":
        return plan("restart", "blue", others, reason)
    target = next(slot for slot in SLOTS if slot != live)
    stop = [slot for slot in [live, *others] if slot and slot != target and slot in slots]
    return plan("overlap", target, sorted(set(stop)), reason)


def releases_to_prune(found: list[dict[str, Any]], keep: int, protected: list[str]) -> list[str]:
    """Release directories to delete: all but the ``keep`` newest (by mtime), never a
    ``protected`` release name (the live one, the one it replaced).

    ``found`` is what ``ansible.builtin.find`` lists under ``releases/`` (``path``, ``mtime``).
    """
    newest_first = sorted(found, key=lambda entry: float(entry["mtime"]), reverse=True)
    beyond = [str(entry["path"]) for entry in newest_first[max(int(keep), 0) :]]
    return [path for path in beyond if path.rstrip("/").rsplit("/", 1)[-1] not in protected]


def rollback_target(markers: list[dict[str, Any]], live: str, wanted: str = "") -> dict[str, Any]:
    """Which release a rollback goes to, from the markers of the complete releases.

    ``markers`` are the ``find`` results of ``releases/<release>/.flask_app_release.json``
    (``path``, ``mtime``). Returns ``releases`` (complete ones, newest first) and ``target``:
    ``wanted`` when given (the caller checks it is complete), else the newest release older
    than ``live``, else "" (nothing to go back to).
    """
    newest_first = sorted(markers, key=lambda entry: float(entry["mtime"]), reverse=True)
    releases = [str(entry["path"]).rstrip("/").rsplit("/", 2)[-2] for entry in newest_first]
    older = releases[releases.index(live) + 1 :] if live in releases else []
    return {"releases": releases, "target": wanted or (older[0] if older else "")}


def input_fingerprint(variables: dict[str, Any]) -> str:
    """A digest of the role's input: every ``flask_app_*`` variable with its value, as the play
    sees them, without the facts the role itself sets (``RESULT_FACTS``).

    The `build` entry point records it once the input passed validate.yml; main.yml run later
    in the same play run on the same host (site.yml's rolling play) with the same digest has
    nothing new to check. A digest, not the values: secrets are among them.
    """
    wanted = {key: value for key, value in variables.items() if key not in RESULT_FACTS}
    canonical = json.dumps(wanted, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def bad_addresses(entries: list[Any]) -> list[Any]:
    """The entries that are not an IPv4 or IPv6 address or network (``10.0.0.5``,
    ``10.0.0.0/24``, ``fd00::/8``), as systemd's ``IPAddressAllow=`` and Nginx's
    ``set_real_ip_from`` take them."""
    bad = []
    for entry in entries:
        try:
            ipaddress.ip_network(str(entry), strict=False)
        except ValueError:
            bad.append(entry)
        else:
            if not isinstance(entry, str) or " " in entry:
                bad.append(entry)
    return bad


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "flask_app_bad_addresses": bad_addresses,
            "flask_app_collisions": collisions,
            "flask_app_claims": claims,
            "flask_app_default_server_files": default_server_files,
            "flask_app_switch_plan": switch_plan,
            "flask_app_releases_to_prune": releases_to_prune,
            "flask_app_rollback_target": rollback_target,
            "flask_app_input_fingerprint": input_fingerprint,
        }
