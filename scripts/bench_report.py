#!/usr/bin/env python3
"""Turn `make bench`'s raw figures into the printed table, bench/report.md and the chart.

Reads bench/results/bench.json (wrk figures and the deploy's timeline, written by
playbooks/bench.yml), bench/results/deploy.csv (hey: one row per answered request during the
deploy) and, when present, bench/results/converge.json (scripts/bench.py) and the fleet's rollout
timelines, bench/results/rollout-v2.json and rollout-single-host.json (with the playbooks'
output, .log), written by molecule/fleet/tests/test_fleet.py.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
import re
import statistics
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
REPORT = ROOT / "bench" / "report.md"
CHART = ROOT / "bench" / "deploy-latency.png"
ROLLOUT_CHART = ROOT / "bench" / "rollout-timeline.png"
# Ansible's default: how many hosts a task runs on at once.
FORKS = 5
# The phases of a host's turn, between the events molecule/fleet's tests record.
# The host is out of HAProxy from "drained" to "back"; the processes move after, the host
# serving.
PHASES = [
    ("drained", "started", "drain, then the new slot starts", "tab:gray"),
    ("started", "switched", "its health check, the switch", "tab:green"),
    ("switched", "back", "Nginx check, back in HAProxy (UP)", "tab:blue"),
    ("back", "processes_moved", "serving; the worker restarts", "tab:purple"),
    ("processes_moved", "old_stopped", "processes settle, the old slot stops", "tab:orange"),
]
# profile_tasks' line under a task's banner: the time since the playbook started, last.
PROFILE_LINE = re.compile(
    r"^\w+ \d\d \w+ \d{4}\s+[\d:]+ [+-]\d{4} \([\d:.]+\)\s+(\d+):(\d\d):([\d.]+)"
)
BANNER = re.compile(r"^(?:TASK|RUNNING HANDLER) \[(.*)\] \**$")

SERVERS = {
    "devserver": "Flask's dev server (`flask run`, threaded)",
    "seed": "seed's bare `gunicorn -w 4 -b 127.0.0.1:4000`",
    "bare": "bare Gunicorn, the role's worker count",
    "role-conf": "the role's gunicorn.conf.py, no Nginx (TCP)",
    "role-conf-no-access-log": "the same, `flask_app_access_log: false`",
    "handmade": "by hand: Nginx's usual proxy block → `gunicorn -w 4 -b unix:` with its access log",
    "handmade-no-access-log": "the same by hand, no Gunicorn access log",
    "uwsgi": "Nginx → `uwsgi_pass` → Debian's uWSGI, the role's worker count",
    "stack": "the deployed stack: Nginx → socket → Gunicorn",
    "stack-https": "the deployed stack over HTTPS",
}


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (share in 0..100) of values; 0.0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(share / 100 * len(ordered)))
    return ordered[rank - 1]


def systemd_epoch(lines: list[str], name: str) -> float:
    """Epoch of ``Name=Sun 2026-11-22 22:30:00.123456 UTC`` among ``systemctl show`` lines."""
    for line in lines:
        key, _, value = line.partition("=")
        if key == name and value.strip():
            stamp = datetime.strptime(value.strip(), "%a %Y-%m-%d %H:%M:%S.%f UTC")
            return stamp.replace(tzinfo=UTC).timestamp()
    return 0.0


@dataclass
class Second:
    """What the requests started in one second of the deploy window got."""

    at: int
    answers: int
    non_2xx: int
    p50_ms: float
    p99_ms: float
    max_ms: float


def deploy_series(rows: list[dict[str, str]]) -> list[Second]:
    by_second: dict[int, list[tuple[float, int]]] = {}
    for row in rows:
        start = float(row["offset"])
        by_second.setdefault(int(start), []).append(
            (float(row["response-time"]) * 1000, int(row["status-code"]))
        )
    series = []
    for second in range(0, max(by_second, default=-1) + 1):
        got = by_second.get(second, [])
        latencies = [latency for latency, _ in got]
        series.append(
            Second(
                at=second,
                answers=len(got),
                non_2xx=sum(1 for _, status in got if not 200 <= status < 300),
                p50_ms=percentile(latencies, 50),
                p99_ms=percentile(latencies, 99),
                max_ms=max(latencies, default=0.0),
            )
        )
    return series


def throughput_rows(bench: dict[str, Any]) -> dict[tuple[str, str], dict[str, float]]:
    """Per server and path: the median of its rounds' rate and latencies, all rounds' errors."""
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for run in bench["throughput"]:
        runs.setdefault((run["server"], run["path"]), []).append(run)
    rows = {}
    for key, group in runs.items():
        errors = [run["errors"] for run in group]
        rows[key] = {
            "rps": statistics.median(run["requests"] / (run["duration_us"] / 1e6) for run in group),
            "p50_ms": statistics.median(run["latency_us"]["p50"] for run in group) / 1000,
            "p99_ms": statistics.median(run["latency_us"]["p99"] for run in group) / 1000,
            "errors": sum(e["connect"] + e["read"] + e["write"] + e["timeout"] for e in errors),
            "non_2xx": sum(e["status"] for e in errors),
            "rounds": len(group),
            # The serving processes' CPU time per answered request (wrk_cpu.py), when measured.
            "cpu_us_per_request": statistics.median(
                run["cpu_us"] / max(run["requests"], 1) for run in group
            )
            if all("cpu_us" in run for run in group)
            else None,
        }
    return rows


def deploy_figures(bench: dict[str, Any], rows: list[dict[str, str]]) -> dict[str, Any]:
    deploy = bench["deploy"]
    began = deploy["deploy_began"] - deploy["started"]
    ended = deploy["deploy_ended"] - deploy["started"]
    started = systemd_epoch(deploy["systemd"], "ExecMainStartTimestamp") - deploy["started"]
    ready = systemd_epoch(deploy["systemd"], "ActiveEnterTimestamp") - deploy["started"]
    # The overlap (flask_app_switch_strategy overlap): traffic moves once the new slot answers,
    # then the old slot stops. Absent for reports of the single-unit layout.
    moved = deploy["traffic_moved"] - deploy["started"] if "traffic_moved" in deploy else None
    old_stopped = systemd_epoch(deploy.get("systemd_old", []), "InactiveEnterTimestamp")
    # Steady: every request outside the run of ansible-playbook, before and after it (the lead-in
    # alone is a few seconds, too few to stand for the host's steady state).
    steady = [
        float(r["response-time"]) * 1000 for r in rows if not began <= float(r["offset"]) <= ended
    ]
    switch_end = old_stopped - deploy["started"] if old_stopped else ended
    switch = [
        float(r["response-time"]) * 1000
        for r in rows
        if started <= float(r["offset"]) <= switch_end
    ]
    window = [
        float(r["response-time"]) * 1000 for r in rows if began <= float(r["offset"]) <= ended
    ]
    every = [float(r["response-time"]) * 1000 for r in rows]
    total = int(deploy["load"]["total"])
    return {
        "rate": int(deploy["load"]["rate"]),
        "capacity": float(deploy["load"]["capacity"]),
        "requests": total,
        "answers": len(rows),
        "no_answer": total - len(rows),
        "non_2xx": sum(1 for r in rows if not 200 <= int(r["status-code"]) < 300),
        "began": began,
        "ended": ended,
        "gunicorn_started": started,
        "gunicorn_ready": ready,
        "traffic_moved": moved,
        "old_stopped": old_stopped - deploy["started"] if old_stopped else None,
        "steady_p99_ms": percentile(steady, 99),
        "window_p99_ms": percentile(window, 99),
        # From the new Gunicorn's start to the old one's stop: the switch alone.
        "switch_p99_ms": percentile(switch, 99),
        "max_ms": max(every, default=0.0),
        # The switch must happen while the load runs, or the window proved nothing about it.
        "load_ended": max((float(r["offset"]) for r in rows), default=0.0),
    }


def goals(rows: dict[tuple[str, str], dict[str, float]], deploy: dict[str, Any]) -> list[tuple]:
    def ratio(a: str, b: str, path: str) -> float:
        return rows[(a, path)]["rps"] / rows[(b, path)]["rps"]

    def cpu_ratio(a: str, b: str, path: str) -> float:
        # Lower is better: this is the other stack's CPU per request ÷ the stack's.
        return rows[(b, path)]["cpu_us_per_request"] / rows[(a, path)]["cpu_us_per_request"]

    checks = []
    for path in ("/healthz", "/"):
        # The stacks users would build instead, access logs on both sides (absent from reports
        # of older runs and of --smoke on hosts without them).
        for other, label in (("handmade", "the hand-made stack"), ("uwsgi", "Nginx + uWSGI")):
            if (other, path) in rows and ("stack", path) in rows:
                checks.append(
                    (
                        f"stack ≥ 1.0 x {label}, requests/s ({path})",
                        ratio("stack", other, path),
                        1.0,
                    )
                )
                if (
                    rows[(other, path)]["cpu_us_per_request"]
                    and rows[("stack", path)]["cpu_us_per_request"]
                ):
                    checks.append(
                        (
                            f"{label}'s CPU per request ÷ the stack's ({path})",
                            cpu_ratio("stack", other, path),
                            1.0,
                        )
                    )
        checks += [
            (
                f"stack ≥ 0.95 x bare Gunicorn, equal workers ({path})",
                ratio("stack", "bare", path),
                0.95,
            ),
            (f"stack ≥ 1.0 x the seed's command ({path})", ratio("stack", "seed", path), 1.0),
            (f"stack ≥ 4 x the dev server ({path})", ratio("stack", "devserver", path), 4.0),
        ]
    window = deploy["window_p99_ms"] / max(deploy["steady_p99_ms"], 1e-9)
    covered = deploy["load_ended"] - deploy["gunicorn_ready"]
    return [(label, value, value >= goal, f"≥ {goal}") for label, value, goal in checks] + [
        ("load ran on after the new Gunicorn was ready (s)", covered, covered > 0, "> 0"),
        (
            "errors during the deploy",
            deploy["no_answer"] + deploy["non_2xx"],
            deploy["no_answer"] + deploy["non_2xx"] == 0,
            "= 0",
        ),
        ("p99 across the deploy window ÷ steady p99", window, window <= 1.5, "≤ 1.5"),
        (
            "slowest request during the run (s)",
            deploy["max_ms"] / 1000,
            deploy["max_ms"] <= 1500,
            "≤ 1.5",
        ),
    ]


def converge_goals(converge: dict[str, Any]) -> list[tuple]:
    first, noop, redeploy = (
        converge["first"]["seconds"],
        converge["noop"]["seconds"],
        converge["redeploy"]["seconds"],
    )
    return [
        ("no-op re-run ÷ first converge", noop / first, noop / first <= 0.25, "≤ 0.25"),
        ("no-op re-run (s)", noop, noop <= 15, "≤ 15"),
        ("redeploy of changed code (s)", redeploy, redeploy <= 30, "≤ 30"),
    ]


def task_starts(output: str) -> list[tuple[str, float]]:
    """(task name, seconds since the playbook started) of each task run, from the output of
    ansible-playbook with the ansible.posix.profile_tasks callback (a time line under each
    banner)."""
    starts, name = [], None
    for line in output.splitlines():
        banner = BANNER.match(line.strip())
        if banner:
            name = banner.group(1)
            continue
        profile = PROFILE_LINE.match(line.strip())
        if profile and name is not None:
            hours, minutes, seconds = profile.groups()
            starts.append((name, int(hours) * 3600 + int(minutes) * 60 + float(seconds)))
            name = None
    return starts


def task_seconds(output: str, suffix: str) -> list[float]:
    """How long each run of the tasks whose name ends with suffix took: until the next task."""
    starts = task_starts(output)
    return [
        following - start
        for (name, start), (_, following) in itertools.pairwise(starts)
        if name.endswith(suffix)
    ]


def rollout_figures(timeline: dict[str, Any], output: str) -> dict[str, Any]:
    """A rollout's phases from its timeline: the build and ship (up to the first drain), each
    host's turn out of the load balancers (drained to back) with its drain wait (the load
    balancers' drain task), the step from one host's drain to the next (the turn, then the
    processes' move and the old slot's stop with the host serving), and the tail after the
    last host's old slot stopped."""
    hosts = timeline["hosts"]
    drains = task_seconds(output, "in the load balancers to drain")
    turns = [host["back"] - host["drained"] for host in hosts]
    steps = [b["drained"] - a["drained"] for a, b in itertools.pairwise(hosts)]
    return {
        "hosts": len(hosts),
        "total": timeline["ended"] - timeline["started"],
        "build": hosts[0]["drained"] - timeline["started"],
        "turns": turns,
        "drain_waits": drains,
        "switches": [turn - wait for turn, wait in zip(turns, drains, strict=False)],
        # One host's whole share of a serial rollout: up to the next host's drain; with one
        # host, up to its old slot's stop (its ledger line and lock count in the tail).
        "step": statistics.mean(steps) if steps else hosts[0]["old_stopped"] - hosts[0]["drained"],
        "tail": timeline["ended"] - hosts[-1]["old_stopped"],
        "load": timeline["load"],
    }


def projected_rollout(single: dict[str, Any], hosts: int, batch: int, forks: int = FORKS) -> float:
    """Seconds to roll `hosts` app hosts, `batch` at a time (flask_app_serial), from a
    single-host redeploy's figures: every host a machine of its own, as fast as the test host,
    and Ansible running a task on `forks` hosts at once; so the build play takes a single
    host's build per `forks` hosts, and each batch a single host's step per `forks` hosts of it."""
    build = single["build"] * math.ceil(hosts / forks)
    batches = math.ceil(hosts / batch)
    return build + batches * math.ceil(batch / forks) * single["step"] + single["tail"]


def serial_batch(hosts: int, serial: str) -> int:
    """The batch size Ansible makes of `serial` (a number or a percentage) for `hosts` hosts."""
    if serial.endswith("%"):
        return max(1, int(hosts * int(serial[:-1]) / 100))
    return int(serial)


def rollout_goals(fleet: dict[str, Any], single: dict[str, Any]) -> list[tuple]:
    slowest = max(fleet["switches"], default=0.0)
    return [
        ("slowest per-host switch, drain wait apart (s)", slowest, slowest <= 10, "≤ 10"),
        (
            f"{fleet['hosts']}-host rollout ÷ single-host redeploy",
            fleet["total"] / single["total"],
            fleet["total"] / single["total"] <= 2,
            "≤ 2",
        ),
    ]


def rollout_chart(timelines: dict[str, dict[str, Any]], path: Path) -> None:
    """One bar per host, its turn in phases, after the build and ship."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [(name, t, host) for name, t in timelines.items() for host in t["hosts"]]
    labels = [f"{name}: {host['host']}" for name, _, host in reversed(rows)]
    fig, axis = plt.subplots(figsize=(10, 1.2 + 0.6 * len(rows)))
    for y, (_, timeline, host) in enumerate(reversed(rows)):
        zero = timeline["started"]
        if host is timeline["hosts"][0]:
            axis.barh(y, host["drained"] - zero, left=0, color="0.85")
            axis.text(0.5, y, "build and ship", va="center", fontsize=8)
        for first, last, label, colour in PHASES:
            axis.barh(
                y,
                host[last] - host[first],
                left=host[first] - zero,
                color=colour,
                label=label if y == len(rows) - 1 else None,
            )
    axis.set_yticks(range(len(rows)), labels)
    axis.set_xlabel("seconds since ansible-playbook started")
    axis.set_title("Rollouts on the fleet scenario: each host's turn")
    axis.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3, fontsize=8)
    fig.savefig(path, dpi=100, bbox_inches="tight")


def rollout_section(results: Path, picture: Path | None) -> tuple[list[str], list[tuple]]:
    """The report's part on the fleet's rollouts, and their goals; nothing without them."""
    paths = {name: results / f"rollout-{name}.json" for name in ("v2", "single-host")}
    if not all(path.exists() for path in paths.values()):
        return [], []
    timelines = {name: json.loads(path.read_text()) for name, path in paths.items()}
    figures = {
        name: rollout_figures(
            timeline, (results / f"rollout-{name}.log").read_text(errors="replace")
        )
        for name, timeline in timelines.items()
    }
    fleet, single = figures["v2"], figures["single-host"]
    parts = [
        "",
        "## Rollouts on the fleet",
        "",
        f"The fleet scenario (molecule/fleet: {fleet['hosts']} app hosts over SSH behind HAProxy, "
        f"containers sharing this machine's CPUs) rolls a release with a migration under "
        f"{fleet['load']['requests'] / max(fleet['load']['wall_seconds'], 1):.0f} requests/s "
        f"through HAProxy ({fleet['load']['non_2xx']} non-2xx, {fleet['load']['errors']} errors), "
        f"then the same kind of change on one host (`--limit`: "
        f"{single['load']['non_2xx']} non-2xx, {single['load']['errors']} errors). Seconds:",
        "",
    ]
    body = []
    for name, timeline in timelines.items():
        for host, turn, wait in zip(
            timeline["hosts"], figures[name]["turns"], figures[name]["drain_waits"], strict=False
        ):
            zero = timeline["started"]
            body.append(
                [name, host["host"], f"{host['drained'] - zero:.1f}"]
                + [f"+{host[last] - host['drained']:.1f}" for _, last, _, _ in PHASES]
                + [f"{turn:.1f}", f"{wait:.1f}"]
            )
    parts.append(
        table(
            [
                "rollout",
                "host",
                "drained at",
                "new slot started",
                "switched (healthy)",
                "back (enabled)",
                "worker restarted",
                "old slot stopped",
                "out of HAProxy",
                "of it drain wait",
            ],
            body,
        )
    )
    parts += [
        "",
        f"3 hosts: build and ship {fleet['build']:.1f} s, a host every {fleet['step']:.1f} s, "
        f"{fleet['tail']:.1f} s after the last one's old slot stopped, {fleet['total']:.1f} s "
        f"in all. One host: build and ship {single['build']:.1f} s, out of HAProxy "
        f"{single['turns'][0]:.1f} s, its part {single['step']:.1f} s, "
        f"{single['total']:.1f} s in all.",
    ]
    if picture:
        rollout_chart(timelines, picture)
        parts += ["", f"![each host's turn]({picture.name})"]
    parts += [
        "",
        f"Projected from the single-host figures (every host its own machine as fast as a test "
        f"host, Ansible's default forks {FORKS}, `scripts/bench_report.py` projected_rollout):",
        "",
        table(
            ["app hosts", "flask_app_serial 1", "flask_app_serial 20%"],
            [
                [
                    str(hosts),
                    f"{projected_rollout(single, hosts, 1) / 60:.1f} min",
                    f"{projected_rollout(single, hosts, serial_batch(hosts, '20%')) / 60:.1f} min",
                ]
                for hosts in (10, 50)
            ],
        ),
    ]
    return parts, rollout_goals(fleet, single)


def chart(series: list[Second], deploy: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    seconds = [s.at for s in series]
    fig, (top, middle, bottom) = plt.subplots(3, 1, sharex=True, figsize=(10, 7.5))
    top.plot(seconds, [s.answers for s in series], color="tab:blue")
    top.set_ylabel("answers/s")
    top.set_title(f"A deploy under {deploy['rate']} requests/s (half the stack's capacity)")
    middle.plot(seconds, [s.p50_ms for s in series], label="p50")
    middle.plot(seconds, [s.p99_ms for s in series], label="p99")
    middle.plot(seconds, [s.max_ms for s in series], label="max", linestyle=":")
    middle.set_yscale("log")
    middle.set_ylabel("latency (ms)")
    middle.legend(loc="upper left")
    bottom.bar(seconds, [s.non_2xx for s in series], color="tab:red")
    bottom.set_ylabel("non-2xx/s")
    bottom.set_xlabel("seconds since the load started (by request start)")
    marks = [
        ("gunicorn_started", "new starts", "tab:green"),
        ("gunicorn_ready", "new ready", "tab:olive"),
        ("traffic_moved", "traffic moved", "tab:purple"),
        ("old_stopped", "old stopped", "tab:red"),
    ]
    for axis in (top, middle, bottom):
        axis.axvspan(deploy["began"], deploy["ended"], color="0.9", zorder=0)
        for key, _, colour in marks:
            if deploy.get(key) is not None:
                axis.axvline(deploy[key], color=colour, linestyle="--")
    top.text(deploy["began"], top.get_ylim()[1] * 0.95, " ansible-playbook", va="top", fontsize=8)
    for number, (key, label, colour) in enumerate(marks):
        if deploy.get(key) is not None:
            height = top.get_ylim()[1] * (0.8 - 0.12 * number)
            top.text(deploy[key], height, " " + label, color=colour, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def table(headers: list[str], body: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines)


def report(
    results: Path = RESULTS,
    out: Path = REPORT,
    picture: Path | None = CHART,
    rollout_picture: Path | None = ROLLOUT_CHART,
) -> str:
    bench = json.loads((results / "bench.json").read_text())
    with (results / "deploy.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    rows_by = throughput_rows(bench)
    deploy = deploy_figures(bench, rows)
    series = deploy_series(rows)
    parts = [
        "# `make bench` report",
        "",
        f"Host `{bench['host']}`, wrk `-t2 -c{bench['connections']} -d{bench['seconds']}s` inside "
        f"it on 127.0.0.1, the role's {bench['workers']} workers; each figure is the median of "
        f"{bench.get('rounds', 1)} rounds that took the servers in turn (errors: all rounds).",
        "",
        "## Throughput and latency",
        "",
    ]
    body = []
    for (server, path), row in rows_by.items():
        stack_rps = rows_by.get(("stack", path), row)["rps"]
        body.append(
            [
                SERVERS.get(server, server),
                f"`{path}`",
                f"{row['rps']:,.0f}",
                f"{row['p50_ms']:.1f}",
                f"{row['p99_ms']:.1f}",
                f"{row['errors']:.0f} / {row['non_2xx']:.0f}",
                f"{row['cpu_us_per_request']:.0f}" if row["cpu_us_per_request"] else "",
                f"{stack_rps / row['rps']:.2f}",
            ]
        )
    parts.append(
        table(
            [
                "server",
                "path",
                "requests/s",
                "p50 ms",
                "p99 ms",
                "errors / non-2xx",
                "CPU µs/request",
                "stack ÷ this",
            ],
            body,
        )
    )
    parts += ["", "## A deploy under load", ""]
    d = deploy
    parts.append(
        f"{d['rate']} requests/s (half of {d['capacity']:,.0f}/s) for the whole window; "
        f"`ansible-playbook` from {d['began']:.1f} s to {d['ended']:.1f} s; the new Gunicorn "
        f"started at {d['gunicorn_started']:.1f} s and was ready at {d['gunicorn_ready']:.1f} s "
        f"({d['gunicorn_ready'] - d['gunicorn_started']:.2f} s), "
        + (
            f"the traffic moved to it at {d['traffic_moved']:.1f} s and the old one stopped at "
            f"{d['old_stopped']:.1f} s (requests never waited for the new one). "
            if d.get("traffic_moved") is not None and d.get("old_stopped") is not None
            else "requests waiting in the socket's backlog. "
        )
        + f"{d['requests']:,} requests: {d['answers']:,} answered, "
        f"{d['non_2xx']} non-2xx, {d['no_answer']} without an answer. Steady p99 "
        f"{d['steady_p99_ms']:.1f} ms (outside the playbook's run), p99 across the deploy "
        f"{d['window_p99_ms']:.1f} ms, from the new Gunicorn's start to the old one's stop "
        f"{d['switch_p99_ms']:.1f} ms, "
        f"slowest request {d['max_ms']:.0f} ms."
    )
    if picture:
        chart(series, deploy, picture)
        parts += ["", f"![latency through a deploy]({picture.name})"]
    checks = goals(rows_by, deploy)
    converge_path = results / "converge.json"
    if converge_path.exists():
        converge = json.loads(converge_path.read_text())
        parts += ["", "## Converge cost", ""]
        parts.append(
            table(
                ["run", "seconds", "tasks (ok / changed / skipped)"],
                [
                    [
                        name,
                        f"{run['seconds']:.1f}",
                        " / ".join(str(run.get(k, "")) for k in ("ok", "changed", "skipped")),
                    ]
                    for name, run in converge.items()
                    if isinstance(run, dict) and "seconds" in run
                ],
            )
        )
        checks += converge_goals(converge)
    rollout_parts, rollout_checks = rollout_section(results, rollout_picture)
    parts += rollout_parts
    checks += rollout_checks
    parts += ["", "## Goals", ""]
    parts.append(
        table(
            ["goal", "measured", "met"],
            [
                [label, f"{value:.2f}", f"{'yes' if ok else 'NO'} ({want})"]
                for label, value, ok, want in checks
            ],
        )
    )
    text = "\n".join(parts) + "\n"
    out.write_text(text)
    return text


if __name__ == "__main__":
    print(report())
    sys.exit(0)
