"""Decisions of a rollout across app hosts: which host is primary (it runs the singleton
processes and jobs, ``placement: primary``), which runs what runs once per rollout (the
database migrations of ``flask_app_rollout_commands``), whether that is due, and how a failed
command's output is shown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

APP_GROUP = "flask_app"


def app_hosts(
    groups: Mapping[str, Sequence[str]], hostname: str, play_hosts: Sequence[str]
) -> list[str]:
    """The hosts that serve the app together: site.yml's group ``flask_app`` when this host is
    in it (whatever --limit leaves in the run), else the hosts of the run."""
    group = list(groups.get(APP_GROUP) or [])
    return group if hostname in group else list(play_hosts)


def primary_host(hosts: Sequence[str], wanted: str = "") -> str:
    """The primary app host: ``wanted`` (flask_app_primary_host) when it is one of ``hosts``
    (the app hosts), else the first of them in inventory order, so the choice is stable from
    run to run and moves on by itself when that host leaves the inventory. ``""`` when
    ``wanted`` is not an app host: validation refuses that."""
    hosts = list(hosts)
    if wanted:
        return wanted if wanted in hosts else ""
    return hosts[0] if hosts else ""


def primary_of(
    groups: Mapping[str, Sequence[str]], hostname: str, play_hosts: Sequence[str], wanted: str = ""
) -> str:
    """``primary_host`` of ``app_hosts``: the one question the tasks ask, in one call."""
    return primary_host(app_hosts(groups, hostname, play_hosts), wanted)


def rollout_host(play_hosts: Sequence[str], primary: str) -> str:
    """Where the once-per-rollout commands run: the primary host when it is in this run,
    else (a --limit without it) the first host of the run, which has the new release too."""
    hosts = list(play_hosts)
    return primary if primary in hosts else (hosts[0] if hosts else "")


def switching_hosts(
    play_hosts: Sequence[str], hostvars: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    """The hosts of the run that will switch to the new release (their build play noted
    ``flask_app_switch_pending``), in the run's order."""
    return [host for host in play_hosts if hostvars.get(host, {}).get("flask_app_switch_pending")]


def rollout_due(play_hosts: Sequence[str], hostvars: Mapping[str, Mapping[str, Any]]) -> bool:
    """True when any host of the run will switch to the new release: a re-run with every host
    live on it migrates nothing (and tells the webhook nothing)."""
    return bool(switching_hosts(play_hosts, hostvars))


def output_tail(stdout: str | None, stderr: str | None = "", limit: int = 3000) -> str:
    """A command's output for an error message: stdout then stderr, the last ``limit``
    characters. A traceback ends with its cause, and Alembic prints INFO lines before it, so
    the end is what to keep."""
    text = "\n".join(part for part in ((stdout or "").strip(), (stderr or "").strip()) if part)
    if len(text) <= limit:
        return text
    return "…" + text[-limit:]


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "flask_app_app_hosts": app_hosts,
            "flask_app_primary_host": primary_host,
            "flask_app_primary_of": primary_of,
            "flask_app_rollout_host": rollout_host,
            "flask_app_rollout_due": rollout_due,
            "flask_app_switching_hosts": switching_hosts,
            "flask_app_output_tail": output_tail,
        }
