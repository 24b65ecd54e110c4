"""Filters for playbooks/logs.yml: which units hold an app's journal lines, and one time-ordered
listing from the lines of every host."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

# journalctl --output=short-unix: "<epoch seconds.micro> <hostname> <identifier>[<pid>]: text"
LINE = re.compile(r"^(?P<time>\d+\.\d+) (?P<hostname>\S+) (?P<rest>.*)$")
SPAN = re.compile(r"^\d+\s*(s|sec|m|min|h|d|w)$")


def journal_units(state: Mapping[str, Any], app: str) -> list[str]:
    """journalctl --unit patterns for the app's web slots and the processes and jobs the host
    has (``state``: the flask_app_processes module's result)."""
    processes = sorted(info["unit"] for info in (state.get("processes") or {}).values())
    jobs = sorted(info["unit"] for info in (state.get("jobs") or {}).values())
    return [f"{app}@*.service", *(f"{unit}@*.service" for unit in processes)] + [
        f"{unit}.service" for unit in jobs
    ]


def journal_since(value: str) -> str:
    """flask_app_logs_since as journalctl's --since takes it: a span such as ``10m`` or ``2h``
    means that long ago (``-10m``); anything else (``2026-12-03 10:00``, ``today``) is
    passed on as it is."""
    value = str(value).strip()
    return f"-{value.replace(' ', '')}" if SPAN.match(value) else value


def journal_argv(state: Mapping[str, Any], app: str, since: str, grep: str = "") -> list[str]:
    """The journalctl command of playbooks/logs.yml on one host: the app's units since
    ``since``, one line each with its epoch time (short-unix), only those matching ``grep``."""
    argv = ["journalctl", "--no-pager", "--quiet", "--output=short-unix"]
    argv.append(f"--since={journal_since(since)}")
    argv += [f"--unit={unit}" for unit in journal_units(state, app)]
    return argv + ([f"--grep={grep}"] if grep else [])


def printable(text: str) -> str:
    """A line as the callback can print it in a block: no control characters (a tab becomes a
    space) and no trailing blanks, either of which makes it print one long quoted string."""
    return "".join(char if char.isprintable() else " " for char in text).rstrip()


def journal_merge(hosts: Sequence[str], hostvars: Mapping[str, Any]) -> list[str]:
    """Every host's ``__flask_app_journal`` lines in time order, each as ``<host> <UTC time>
    <identifier>[<pid>]: <text>``; a message's continuation lines stay with it."""
    entries: list[tuple[float, int, str, int, str]] = []
    for rank, host in enumerate(hosts):
        result = hostvars[host].get("__flask_app_journal") or {}
        for number, line in enumerate(str(result.get("stdout") or "").splitlines()):
            match = LINE.match(line)
            if match:
                stamp = float(match["time"])
                when = datetime.fromtimestamp(stamp, timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
                text = printable(f"{host} {when} {match['rest']}")
                entries.append((stamp, rank, host, number, text))
            elif entries and entries[-1][2] == host:
                stamp = entries[-1][0]
                text = printable(f"{host} {' ' * 26} {line.strip()}")
                entries.append((stamp, rank, host, number, text))
    return [text for *_, text in sorted(entries)]


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "flask_app_journal_argv": journal_argv,
            "flask_app_journal_merge": journal_merge,
        }
