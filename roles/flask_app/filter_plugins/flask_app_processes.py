"""Decisions about an app's processes besides Gunicorn (workers, beat) and its scheduled jobs.

The role reads the host with its ``flask_app_processes`` module and decides here, so the
tasks only carry out lists: which instances to (re)start, which to stop, which units to drop.
"""

from __future__ import annotations

import re
from typing import Any

# Signals a stop may send (systemd's KillSignal=); the ones Celery, RQ, Dramatiq and
# Huey treat as "finish the running job, then exit" are TERM (all of them) and INT/QUIT.
STOP_SIGNALS = ("TERM", "INT", "QUIT", "HUP", "USR1", "USR2", "WINCH")
NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
# Names the app's own files already use: the web service and Gunicorn's two log files.
RESERVED = ("web", "access", "error")
# Where a process or job runs among the app hosts: on every one, or on the primary host only.
PLACEMENTS = ("all", "primary")


def unit_prefix(app: str, name: str) -> str:
    """``hello`` + ``worker`` -> ``hello-worker``: the unit name of a process or job."""
    return f"{app}-{name}"


def process_problems(processes: list[dict[str, Any]], jobs: list[dict[str, Any]]) -> list[str]:
    """Every reason ``flask_app_processes``/``flask_app_jobs`` cannot be used, as messages that
    name the variable, the entry and what is allowed. Empty when all is well."""
    problems: list[str] = []
    seen: dict[str, str] = {}
    for variable, entries in (("flask_app_processes", processes), ("flask_app_jobs", jobs)):
        for index, entry in enumerate(entries):
            name = str(entry.get("name", ""))
            where = f"{variable}[{index}]" + (f" ({name})" if name else "")
            if not NAME.match(name):
                problems.append(
                    f"{where}: name {name!r} must match {NAME.pattern} (lower-case letters, digits"
                    " and '_'; it becomes the unit <app>-<name>)"
                )
            elif name in RESERVED:
                problems.append(f"{where}: name {name!r} is reserved ({', '.join(RESERVED)})")
            elif name in seen:
                problems.append(f"{where}: name {name!r} is used already by {seen[name]}")
            else:
                seen[name] = where
            command = str(entry.get("command", ""))
            if not command.strip():
                problems.append(f"{where}: command is empty")
            elif "\n" in command or "\r" in command:
                problems.append(f"{where}: command must be one line (join commands with && or ;)")
            placement = entry.get("placement", "all")
            if placement not in PLACEMENTS:
                problems.append(
                    f"{where}: placement {placement!r} is not one of {', '.join(PLACEMENTS)}"
                    " (every app host, or flask_app_primary_host only)"
                )
            timeout = entry.get("stop_timeout", 60)
            if not isinstance(timeout, int) or isinstance(timeout, bool) or timeout < 1:
                problems.append(
                    f"{where}: stop_timeout {timeout!r} must be a whole number of seconds, 1 or"
                    " more"
                )
            if variable == "flask_app_processes":
                signal = str(entry.get("stop_signal", "TERM")).upper().removeprefix("SIG")
                if signal not in STOP_SIGNALS:
                    problems.append(
                        f"{where}: stop_signal {entry.get('stop_signal')!r} is not one of"
                        f" {', '.join(STOP_SIGNALS)}"
                    )
                instances = entry.get("instances", 1)
                if (
                    not isinstance(instances, int)
                    or isinstance(instances, bool)
                    or not 0 <= instances <= 64
                ):
                    problems.append(
                        f"{where}: instances {instances!r} must be a whole number from 0 to 64"
                    )
            else:
                if not str(entry.get("schedule", "")).strip():
                    problems.append(f"{where}: schedule is empty (a systemd OnCalendar expression)")
                delay = entry.get("randomized_delay", 0)
                if not isinstance(delay, int) or isinstance(delay, bool) or delay < 0:
                    problems.append(
                        f"{where}: randomized_delay {delay!r} must be 0 or more seconds"
                    )
    return problems


def placed_here(entry: dict[str, Any], on_primary: bool) -> bool:
    """Whether this host runs the process or job: ``placement: primary`` ones run on the
    primary host only (flask_app_primary_host), the others everywhere."""
    if isinstance(on_primary, str):  # a template's answer that reached us as text
        on_primary = on_primary.strip().lower() == "true"
    return entry.get("placement", "all") != "primary" or on_primary


def process_units(
    app: str, processes: list[dict[str, Any]], on_primary: bool = True
) -> list[dict[str, Any]]:
    """The process units this host runs (``on_primary``: it is the primary host), with every
    default filled in, as the templates use them."""
    units = []
    for entry in (entry for entry in processes if placed_here(entry, on_primary)):
        signal = str(entry.get("stop_signal", "TERM")).upper().removeprefix("SIG")
        units.append(
            {
                "name": entry["name"],
                "unit": unit_prefix(app, entry["name"]),
                "command": entry["command"],
                "instances": int(entry.get("instances", 1)),
                "stop_signal": f"SIG{signal}",
                "stop_timeout": int(entry.get("stop_timeout", 60)),
                "outbound_network": bool(entry.get("outbound_network", False)),
            }
        )
    return units


def job_units(
    app: str, jobs: list[dict[str, Any]], on_primary: bool = True
) -> list[dict[str, Any]]:
    """The job units this host runs (a .service and a .timer each), every default filled in."""
    return [
        {
            "name": entry["name"],
            "unit": unit_prefix(app, entry["name"]),
            "command": entry["command"],
            "schedule": entry["schedule"],
            "randomized_delay": int(entry.get("randomized_delay", 0)),
            "stop_timeout": int(entry.get("stop_timeout", 60)),
            "outbound_network": bool(entry.get("outbound_network", False)),
        }
        for entry in jobs
        if placed_here(entry, on_primary)
    ]


def unit_collisions(app: str, names: list[str], installed: dict[str, str]) -> list[str]:
    """Wanted unit prefixes that a unit the role did not write for this app already uses.

    ``installed`` maps each unit file name found under /etc/systemd/system for the wanted
    prefixes to its owner record (``"<app> process <name>"``, ``"<app> job <name>"``, or ``""``
    for a file the role did not write, such as another app's slot unit)."""
    clashes = []
    for name in names:
        prefix = unit_prefix(app, name)
        for unit_file, owner in sorted(installed.items()):
            stem = re.sub(r"(@?)\.(service|timer|socket)$", "", unit_file)
            if stem == prefix and not owner.startswith(f"{app} "):
                clashes.append(f"{unit_file} ({owner or 'not written by this role for ' + app})")
    return sorted(clashes)


def process_plan(
    state: dict[str, Any], wanted: list[dict[str, Any]] | None, live_release: str
) -> dict[str, list[str]]:
    """What to do so that exactly the wanted process instances run the live release.

    ``state`` is the ``flask_app_processes`` module's result: ``processes`` maps each installed
    process name to ``{"inputs": mtime, "instances": {n: {active, enabled, started, release,
    restarts}}}``. ``wanted`` is ``process_units(...)``, or None to keep the installed set as it is
    (a rollback, which does not know the inventory's processes).

    Returns ``restart`` (instances to start afresh on the live release: not running, running
    another release, or started before their unit, wrapper or environment last changed),
    ``enable``, ``stop`` (instances no longer wanted: stopped and disabled) and ``drop``
    (process names whose unit file goes).
    """
    installed: dict[str, Any] = state.get("processes", {})
    if wanted is None:
        wanted = [
            {"name": name, "unit": info["unit"], "instances": len(info.get("enabled", []))}
            for name, info in installed.items()
        ]
    plan: dict[str, list[str]] = {"restart": [], "enable": [], "stop": [], "drop": []}
    wanted_names = {entry["name"] for entry in wanted}
    for entry in wanted:
        info = installed.get(entry["name"], {"inputs": 0.0, "instances": {}})
        for number in range(1, entry["instances"] + 1):
            instance = f"{entry['unit']}@{number}.service"
            seen = info["instances"].get(str(number), {})
            stale = (
                not seen.get("active")
                or not live_release
                or seen.get("release") != live_release
                or float(seen.get("started", 0.0)) < float(info.get("inputs", 0.0))
            )
            if stale and live_release:
                plan["restart"].append(instance)
            if not seen.get("enabled"):
                plan["enable"].append(instance)
        for number, seen in sorted(info["instances"].items(), key=lambda item: int(item[0])):
            if int(number) > entry["instances"] and (seen.get("active") or seen.get("enabled")):
                plan["stop"].append(f"{entry['unit']}@{number}.service")
    for name, info in sorted(installed.items()):
        if name in wanted_names:
            continue
        for number, seen in sorted(info["instances"].items(), key=lambda item: int(item[0])):
            if seen.get("active") or seen.get("enabled"):
                plan["stop"].append(f"{info['unit']}@{number}.service")
        plan["drop"].append(name)
    return plan


def processes_down(state: dict[str, Any], units: list[str]) -> list[str]:
    """Of ``units`` (``<app>-<process>@<n>.service``), those not running, or restarted by
    systemd since their start: a process that crashes and comes back is not up either."""
    seen: dict[str, dict[str, Any]] = {}
    for info in state.get("processes", {}).values():
        for number, instance in info.get("instances", {}).items():
            seen[f"{info['unit']}@{number}.service"] = instance
    return [
        unit
        for unit in units
        if not seen.get(unit, {}).get("active") or int(seen.get(unit, {}).get("restarts", 0)) > 0
    ]


def job_plan(state: dict[str, Any], wanted: list[dict[str, Any]] | None) -> dict[str, list[str]]:
    """Timers to enable and start (the wanted ones, or the installed ones when ``wanted`` is
    None) and the job names whose units go."""
    installed: dict[str, Any] = state.get("jobs", {})
    units = (
        {entry["name"]: entry["unit"] for entry in wanted}
        if wanted is not None
        else {name: info["unit"] for name, info in installed.items()}
    )
    return {
        "timers": [f"{unit}.timer" for _, unit in sorted(units.items())],
        "drop": sorted(set(installed) - set(units)),
    }


def unit_files(
    state: dict[str, Any], processes: list[str] | None = None, jobs: list[str] | None = None
) -> list[str]:
    """The unit files under /etc/systemd/system of the named installed processes and jobs (all
    of them when a list is None)."""
    installed_processes = state.get("processes", {})
    installed_jobs = state.get("jobs", {})
    paths = [
        f"/etc/systemd/system/{installed_processes[name]['unit']}@.service"
        for name in (sorted(installed_processes) if processes is None else processes)
    ]
    for name in sorted(installed_jobs) if jobs is None else jobs:
        unit = installed_jobs[name]["unit"]
        paths += [f"/etc/systemd/system/{unit}.service", f"/etc/systemd/system/{unit}.timer"]
    return paths


def dotenv_files(files: list[str]) -> list[str]:
    """The python-dotenv files a source ships at its top (``.flaskenv``, ``.env``), which the
    ``flask`` command would load from a plain directory's working directory."""
    return sorted(path for path in files if path in (".flaskenv", ".env"))


def lock_pin(text: str, package: str) -> str:
    """The version a requirements/lock file pins ``package`` to with ``==`` ("" if none)."""
    wanted = re.sub(r"[-_.]+", "-", package).lower()
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip().rstrip("\\").strip()
        found = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*===?\s*([^\s;,]+)", line)
        if found and re.sub(r"[-_.]+", "-", found.group(1)).lower() == wanted:
            return found.group(3)
    return ""


def write_hint(output: str, release_dir: str, workdir_rel: str) -> str:
    """A sentence naming the path inside the sealed release that the app tried to write, and the
    variable that makes it writable; "" when the output shows no such failure."""
    release = release_dir.rstrip("/") + "/"
    pattern = re.compile(
        r"(?:\[Errno 30\] Read-only file system|\[Errno 13\] Permission denied): '([^']+)'"
    )
    for found in pattern.finditer(output):
        path = found.group(1)
        if not path.startswith("/"):
            path = release + "/".join(filter(None, [workdir_rel.strip("/"), path]))
        if not path.startswith(release):
            continue
        relative = path[len(release) :]
        parts = relative.split("/")
        # A file directly in app/ (app.db) needs its directory shared; else the first directory
        # below the working directory (logs/app.log -> logs).
        depth = 2 if workdir_rel and parts[0] == workdir_rel.strip("/") else 1
        shared = "/".join(parts[:depth]) if len(parts) > depth else relative
        return (
            f"The app tried to write {path}, inside the release, which is read-only to it. "
            f"List {shared!r} in flask_app_shared_paths to keep it in /var/lib/<name>/{shared} "
            "across releases (or write to /var/lib/<name>, $STATE_DIRECTORY, instead)."
        )
    return ""


def systemd_quote(argument: str) -> str:
    """One argument of an ``ExecStart=`` line, passed on verbatim: systemd neither splits it nor
    expands ``%`` specifiers or ``$VARIABLES`` in it (the shell that runs it expands those)."""
    escaped = (
        argument.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%").replace("$", "$$")
    )
    return f'"{escaped}"'


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "flask_app_process_problems": process_problems,
            "flask_app_process_units": process_units,
            "flask_app_job_units": job_units,
            "flask_app_unit_collisions": unit_collisions,
            "flask_app_process_plan": process_plan,
            "flask_app_job_plan": job_plan,
            "flask_app_processes_down": processes_down,
            "flask_app_unit_files": unit_files,
            "flask_app_dotenv_files": dotenv_files,
            "flask_app_lock_pin": lock_pin,
            "flask_app_write_hint": write_hint,
            "flask_app_systemd_quote": systemd_quote,
        }
