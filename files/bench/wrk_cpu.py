#!/usr/bin/env python3
"""Run wrk and add the CPU time the serving processes spent to its WRK_JSON line.

  wrk_cpu.py --unit nginx.service --unit hello@blue.service -- wrk --script=wrk_json.lua ...

Each unit's CPU time is read from its cgroup (cpu.stat's usage_usec: the master, its workers
and anything they started) before and after the run; the sum of the differences goes into the
JSON as ``cpu_us``. A whole stack's cost per request is then cpu_us / requests, which holds
steadier than requests/s on a host whose other tenants take the CPU now and then.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def cgroup_of(unit: str) -> Path:
    """The cgroup directory of ``unit``, through its main process (whatever the cgroup namespace
    makes of systemd's own ControlGroup path)."""
    pid = subprocess.check_output(
        ["systemctl", "show", "--property=MainPID", "--value", unit], text=True
    ).strip()
    if pid in ("", "0"):
        sys.exit(f"wrk_cpu: {unit} has no main process")
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        if line.startswith("0::"):
            return CGROUP_ROOT / line[3:].lstrip("/")
    sys.exit(f"wrk_cpu: no cgroup v2 line in /proc/{pid}/cgroup")


def usage_usec(cgroup: Path) -> int:
    found = re.search(r"^usage_usec (\d+)$", (cgroup / "cpu.stat").read_text(), re.M)
    return int(found.group(1)) if found else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unit", action="append", default=[], help="a unit whose CPU counts")
    parser.add_argument("wrk", nargs=argparse.REMAINDER, help="-- then wrk's command line")
    args = parser.parse_args()
    command = args.wrk[1:] if args.wrk[:1] == ["--"] else args.wrk
    cgroups = [cgroup_of(unit) for unit in args.unit]
    before = sum(usage_usec(cgroup) for cgroup in cgroups)
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    spent = sum(usage_usec(cgroup) for cgroup in cgroups) - before
    found = re.search(r"^WRK_JSON (.*)$", output, re.M)
    if not found:
        sys.exit(f"wrk_cpu: no WRK_JSON line in wrk's output:\n{output}")
    figures = json.loads(found.group(1))
    figures["cpu_us"] = spent
    figures["cpu_units"] = args.unit
    print(output.replace(found.group(0), "WRK_JSON " + json.dumps(figures)))


if __name__ == "__main__":
    main()
