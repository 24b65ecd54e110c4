"""`make bench` still runs: its smoke mode against this scenario's host, last (file order).

Two seconds per wrk run and a short deploy window: the figures mean nothing, the test proves
the benchmark's playbook, servers, load generators and report still work together.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROJECT = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", Path(__file__).resolve().parents[3]))


def test_make_bench_runs_in_smoke_mode():
    inventory = os.environ["MOLECULE_INVENTORY_FILE"]
    result = subprocess.run(
        [sys.executable, "scripts/bench.py", "--smoke", "--inventory", inventory],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    report = result.stdout
    rows = [line for line in report.splitlines() if line.startswith("| ")]
    for server in (
        "| Flask's dev server",
        "| seed's bare `gunicorn -w 4",
        "| bare Gunicorn, the role's worker count",
        "| the role's gunicorn.conf.py, no Nginx",
        "| the same, `flask_app_access_log: false`",
        "| the deployed stack",
    ):
        found = [row for row in rows if row.startswith(server)]
        assert len(found) == 2, f"{server!r}: one row per path expected\n{report}"
    assert "## A deploy under load" in report and "## Goals" in report
    results = PROJECT / "bench" / "results"
    assert (results / "chart.png").stat().st_size > 10_000
    assert len((results / "deploy.csv").read_text().splitlines()) > 100
