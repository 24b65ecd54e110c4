"""Decisions about an app's deploy lock (taken by the flask_app_lock module) and the lines of
its release ledger: whether a lock another run holds is stale, what the refused run is told,
which lock a deliberate break may take over, and what one ledger line says.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any


def process_start(pid: int) -> str | None:
    """Start of a process on this controller (clock ticks since boot), ``""`` when it runs
    but /proc cannot say, ``None`` when there is no such process."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # it exists, another user's
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[-1].split()[19]
    except OSError:
        return ""


def duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds / 3600:.1f} h"


def lock_stale(
    held_by: Mapping[str, Any],
    me: Mapping[str, Any],
    stale_after: int,
    now: float | None = None,
    started_of: Callable[[int], str | None] = process_start,
) -> str:
    """Why another run's lock is stale, ``""`` while its holder may still be running. Stale:
    an unreadable lock file; a holder that ran on this controller whose process is gone; a
    lock older than ``stale_after`` seconds (flask_app_lock_timeout)."""
    if held_by.get("unreadable") is not None or not held_by.get("run"):
        return "the lock file is unreadable (a run killed while writing it)"
    if held_by.get("controller") == me.get("controller") and held_by.get("pid"):
        started = started_of(int(held_by["pid"]))
        recorded = str(held_by.get("started") or "")
        if started is None or (started and recorded and started != recorded):
            pid = held_by["pid"]
            return f"its ansible-playbook (pid {pid}) is no longer running on this controller"
    age = (time.time() if now is None else now) - float(held_by.get("since") or 0)
    if age > stale_after:
        return f"it is older than flask_app_lock_timeout ({stale_after} s)"
    return ""


def lock_to_break(
    held_by: Mapping[str, Any],
    me: Mapping[str, Any],
    stale_after: int,
    breaking: bool,
    now: float | None = None,
    started_of: Callable[[int], str | None] = process_start,
) -> str:
    """The run id whose lock this run takes over: the stale holder's when the operator asked
    to break it (flask_app_lock_break), else ``""``. A live holder's lock is never broken."""
    if not breaking or not held_by or held_by.get("run") == me.get("run"):
        return ""
    return held_by.get("run", "") if lock_stale(held_by, me, stale_after, now, started_of) else ""


def lock_refusal(
    held_by: Mapping[str, Any],
    me: Mapping[str, Any],
    stale_after: int,
    app: str,
    host: str,
    now: float | None = None,
    started_of: Callable[[int], str | None] = process_start,
) -> str:
    """What a run that did not get the lock is told: who holds it, for how long, and the way
    out (wait, or break it once it is stale)."""
    now = time.time() if now is None else now
    since = float(held_by.get("since") or 0)
    who = (
        f"{held_by.get('user', '?')}@{held_by.get('controller', '?')}"
        f" (ansible-playbook pid {held_by.get('pid', '?')}, {held_by.get('playbook') or '?'})"
    )
    held = f"for {duration(now - since)}" if since else "since an unknown time"
    stale = lock_stale(held_by, me, stale_after, now, started_of)
    if stale:
        way_out = (
            f"The lock is stale: {stale}. Make sure that run is over, then break the lock with"
            " -e flask_app_lock_break=true."
        )
    else:
        way_out = (
            "That run may still be going: wait for it to end. A lock counts as stale when its"
            f" run is gone from this controller or after flask_app_lock_timeout ({stale_after} s);"
            " then -e flask_app_lock_break=true breaks it."
        )
    return (
        f"{app} is locked on {host} by another deploy: {who}, held {held}. Nothing was changed. "
        + way_out
    )


def lock_refused_hosts(
    hosts: Sequence[str], hostvars: Mapping[str, Any], key: str = "__flask_app_lock_take"
) -> list[str]:
    """The hosts of the batch where taking the lock was refused (``key``: the lock task's
    registered result in each host's variables; a host without one was not refused)."""
    refused = []
    for host in hosts:
        result = (hostvars.get(host) or {}).get(key) or {}
        if result.get("skipped") or "acquired" not in result:
            continue
        if not result["acquired"]:
            refused.append(host)
    return refused


def ledger_entry(
    action: str,
    outcome: str,
    before: str,
    after: str,
    me: Mapping[str, Any],
    started: float,
    now: float | None = None,
    commit: str = "",
    message: str = "",
) -> str:
    """One line of /var/lib/flask_app/<app>/ledger.jsonl: a JSON object, keys sorted."""
    now = time.time() if now is None else now
    entry: dict[str, Any] = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        "action": action,
        "outcome": outcome,
        "release_before": before or None,
        "release_after": after or None,
        "duration_s": round(max(0.0, now - float(started or now)), 1),
        "by": f"{me.get('user', '?')}@{me.get('controller', '?')}",
        "playbook": me.get("playbook", ""),
    }
    if commit:
        entry["commit"] = commit
    if message:
        entry["message"] = message[:1000]
    return json.dumps(entry, sort_keys=True, ensure_ascii=False)


def ledger_table(lines: Sequence[str], last: int = 10) -> list[str]:
    """The last ``last`` ledger lines as aligned text rows for releases.yml (lines that are
    not JSON objects are shown as they are)."""
    rows = []
    for line in [line for line in lines if line.strip()][-last:]:
        try:
            entry = json.loads(line)
        except ValueError:
            entry = None
        if not isinstance(entry, dict):
            rows.append(f"(unreadable) {line[:120]}")
            continue
        change = f"{entry.get('release_before') or '-'} -> {entry.get('release_after') or '-'}"
        rows.append(
            f"{entry.get('time', '?'):20}  {entry.get('action', '?'):9} "
            f"{entry.get('outcome', '?'):9} {change:40} {entry.get('duration_s', '?'):>6} s  "
            f"{entry.get('by', '?')}" + (f"  {entry['commit'][:12]}" if entry.get("commit") else "")
        )
    return rows


def releases_report(
    hosts: Sequence[str], hostvars: Mapping[str, Any], app: str, last: int = 10
) -> list[str]:
    """playbooks/releases.yml's table: per host the live release and the complete releases
    kept (newest first), then each host's last ``last`` ledger entries. Reads each host's
    ``__flask_app_report`` (``live``, ``kept``, ``ledger`` lines)."""
    reports = {host: hostvars[host].get("__flask_app_report", {}) for host in hosts}
    width = max([len(host) for host in hosts] + [4])
    rows = [f"{'host':{width}}  {'live':40}  kept on disk, newest first"]
    for host, report in reports.items():
        kept = ", ".join(report.get("kept") or []) or "-"
        rows.append(f"{host:{width}}  {report.get('live') or '-':40}  {kept}")
    for host, report in reports.items():
        entries = ledger_table(report.get("ledger") or [], last)
        rows.append(f"{host}: the last {len(entries)} ledger entries of {app}")
        rows.extend(f"  {entry}" for entry in entries or ["(none)"])
    return rows


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "flask_app_lock_stale": lock_stale,
            "flask_app_lock_to_break": lock_to_break,
            "flask_app_lock_refusal": lock_refusal,
            "flask_app_lock_refused_hosts": lock_refused_hosts,
            "flask_app_ledger_entry": ledger_entry,
            "flask_app_ledger_table": ledger_table,
            "flask_app_releases_report": releases_report,
        }
