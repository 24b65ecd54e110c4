#!/usr/bin/env python3
"""Turn `make bench`'s raw figures into the printed table, bench/report.md and the chart.

Reads bench/results/bench.json (wrk figures and the deploy's timeline, written by
playbooks/bench.yml), bench/results/deploy.csv (hey: one row per answered request during the
deploy) and, when present, bench/results/converge.json (scripts/bench.py).
"""

from __future__ import annotations

import csv
import json
import math
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


def report(results: Path = RESULTS, out: Path = REPORT, picture: Path | None = CHART) -> str:
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
