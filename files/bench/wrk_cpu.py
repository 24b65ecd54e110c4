#!/usr/bin/env python3
"""Run wrk and add the CPU time the serving processes spent to its WRK_JSON line.

  wrk_cpu.py --unit nginx.service --unit hello@blue.service -- wrk --script=wrk_json.lua ...

Each unit's CPU time (the master, its workers and anything they started: every process in its
cgroup) is read from /proc before and after the run; the sum of the differences goes into the
JSON as ``cpu_us``. A whole stack's cost per request is then cpu_us / requests, which holds
steadier than requests/s on a host whose other tenants take the CPU now and then.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

TICK_US = 1_000_000 / os.sysconf("SC_CLK_TCK")


def cgroup_line(pid: str) -> str:
    """The process's cgroup, as systemd placed it (the unified hierarchy's ``0::`` line)."""
    try:
        text = Path(f"/proc/{pid}/cgroup").read_text()
    except OSError:
        return ""
    return next((line for line in text.splitlines() if line.startswith("0::")), "")


def unit_cgroup(unit: str) -> str:
    pid = subprocess.check_output(
        ["systemctl", "show", "--property=MainPID", "--value", unit], text=True
    ).strip()
    if pid in ("", "0"):
        sys.exit(f"wrk_cpu: {unit} has no main process")
    return cgroup_line(pid)


def cpu_us(cgroups: set[str]) -> int:
    """CPU time of every process in ``cgroups``, user and system, with that of their children
    already reaped. From /proc rather than the cgroup's cpu.stat: a host on cgroup v1 (this
    one, in a container) keeps no per-unit CPU account."""
    ticks = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and cgroup_line(entry.name) in cgroups:
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            # utime, stime, cutime, cstime: fields 14-17 of proc(5), 11-14 after the name.
            ticks += sum(int(value) for value in fields[11:15])
    return int(ticks * TICK_US)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unit", action="append", default=[], help="a unit whose CPU counts")
    parser.add_argument("wrk", nargs=argparse.REMAINDER, help="-- then wrk's command line")
    args = parser.parse_args()
    command = args.wrk[1:] if args.wrk[:1] == ["--"] else args.wrk
    cgroups = {unit_cgroup(unit) for unit in args.unit}
    before = cpu_us(cgroups)
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    spent = cpu_us(cgroups) - before
    found = re.search(r"^WRK_JSON (.*)$", output, re.M)
    if not found:
        sys.exit(f"wrk_cpu: no WRK_JSON line in wrk's output:\n{output}")
    figures = json.loads(found.group(1))
    figures["cpu_us"] = spent
    figures["cpu_units"] = args.unit
    print(output.replace(found.group(0), "WRK_JSON " + json.dumps(figures)))


if __name__ == "__main__":
    main()
