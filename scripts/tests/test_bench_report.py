"""scripts/bench_report.py on small, made-up figures: the maths and the goals, no load."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bench_report

SYSTEMD = [
    "ExecMainStartTimestamp=Sun 2026-11-22 22:00:12.500000 UTC",
    "ActiveEnterTimestamp=Sun 2026-11-22 22:00:13.000000 UTC",
]
STARTED = 1795384800.0  # 2026-11-22 22:00:00 UTC


def wrk(server: str, path: str, rps: int, status_errors: int = 0) -> dict:
    return {
        "server": server,
        "path": path,
        "requests": rps * 10,
        "duration_us": 10_000_000,
        "bytes": 1,
        "errors": {"connect": 0, "read": 0, "write": 0, "status": status_errors, "timeout": 0},
        "latency_us": {"p50": 4000, "p90": 6000, "p99": 9000, "max": 20000, "mean": 4500.0},
    }


@pytest.fixture(name="results")
def results_fixture(tmp_path: Path) -> Path:
    throughput = []
    for path in ("/healthz", "/"):
        throughput += [
            wrk("devserver", path, 1000),
            wrk("seed", path, 5000),
            wrk("bare", path, 5200),
            wrk("stack", path, 5000),
        ]
    bench = {
        "host": "demo",
        "workers": 5,
        "seconds": 10,
        "connections": 32,
        "throughput": throughput,
        "deploy": {
            "load": {"capacity": 5000.0, "rate": 2496, "per_connection": 156, "total": 60},
            "window": 60,
            "connections": 16,
            "started": STARTED,
            "deploy_began": STARTED + 10,
            "deploy_ended": STARTED + 20,
            "systemd": SYSTEMD,
            "systemd_old": ["InactiveEnterTimestamp=Sun 2026-11-22 22:00:14.250000 UTC"],
            "traffic_moved": STARTED + 13.5,
            "release": "bench-1",
        },
    }
    (tmp_path / "bench.json").write_text(json.dumps(bench))
    header = (
        "response-time,DNS+dialup,DNS,Request-write,Response-delay,Response-read,status-code,offset"
    )
    rows = [f"0.0050,0,0,0,0,0,200,{second + 0.5}" for second in range(30)]
    rows[12] = "0.9000,0,0,0,0,0,200,12.6"  # waited in the backlog through the switch
    rows[13] = "0.0050,0,0,0,0,0,502,13.2"
    (tmp_path / "deploy.csv").write_text("\n".join([header, *rows[:-1]]) + "\n")
    return tmp_path


def test_percentile_is_nearest_rank():
    assert bench_report.percentile([5, 1, 4, 2, 3], 50) == 3
    assert bench_report.percentile(list(range(1, 101)), 99) == 99
    assert bench_report.percentile([], 99) == 0.0


def test_systemd_timestamps_are_read_as_utc():
    assert bench_report.systemd_epoch(SYSTEMD, "ExecMainStartTimestamp") == STARTED + 12.5
    assert bench_report.systemd_epoch(SYSTEMD, "InactiveExitTimestamp") == 0.0


def test_the_deploy_figures_count_what_got_no_answer(results: Path):
    bench = json.loads((results / "bench.json").read_text())
    rows = bench_report.csv.DictReader((results / "deploy.csv").open())
    figures = bench_report.deploy_figures(bench, list(rows))
    assert figures["requests"] == 60 and figures["answers"] == 29
    assert figures["no_answer"] == 31
    assert figures["non_2xx"] == 1
    assert figures["gunicorn_started"] == pytest.approx(12.5)
    assert figures["max_ms"] == pytest.approx(900.0)


def test_the_overlap_timeline_is_read_from_the_link_and_the_old_slot(results: Path):
    bench = json.loads((results / "bench.json").read_text())
    rows = bench_report.csv.DictReader((results / "deploy.csv").open())
    figures = bench_report.deploy_figures(bench, list(rows))
    assert figures["gunicorn_ready"] == pytest.approx(13.0)
    assert figures["traffic_moved"] == pytest.approx(13.5)
    assert figures["old_stopped"] == pytest.approx(14.25)


def test_the_report_checks_every_goal_and_draws_the_chart(results: Path, tmp_path: Path):
    text = bench_report.report(results, tmp_path / "report.md", tmp_path / "chart.png")
    assert (tmp_path / "chart.png").stat().st_size > 10_000
    goals = {
        row.split(" | ")[0].removeprefix("| "): row.split(" | ")[2]
        for row in text.split("## Goals")[1].splitlines()
        if row.startswith("| ") and not row.startswith("| goal")
    }
    assert goals["stack ≥ 1.0 x the seed's command (/healthz)"] == "yes (≥ 1.0) |"
    assert goals["stack ≥ 4 x the dev server (/)"] == "yes (≥ 4.0) |"  # 5000 / 1000
    assert goals["stack ≥ 0.95 x bare Gunicorn, equal workers (/)"] == "yes (≥ 0.95) |"  # 0.96
    assert goals["errors during the deploy"] == "NO (= 0) |"  # 31 without answer, one 502
    assert goals["slowest request during the run (s)"] == "yes (≤ 1.5) |"  # 0.9 s
    assert goals["load ran on after the new Gunicorn was ready (s)"] == "yes (> 0) |"
    assert len(goals) == 10
    assert "the traffic moved to it at 13.5 s and the old one stopped at 14.2 s" in text


def test_rounds_give_the_median_rate_and_every_error():
    runs = [wrk("stack", "/", rps) for rps in (3000, 5000, 4000)]
    runs[0]["errors"]["read"] = 2
    runs[2]["errors"]["status"] = 1
    row = bench_report.throughput_rows({"throughput": runs})[("stack", "/")]
    assert row["rps"] == 4000
    assert row["errors"] == 2 and row["non_2xx"] == 1 and row["rounds"] == 3


def test_the_stacks_users_would_build_are_compared_by_rate_and_cpu(results: Path, tmp_path: Path):
    bench = json.loads((results / "bench.json").read_text())
    for run in bench["throughput"]:
        if run["server"] == "stack":
            run["cpu_us"] = run["requests"] * 400
    for path in ("/healthz", "/"):
        handmade = wrk("handmade", path, 4000) | {"cpu_us": 4000 * 10 * 500}
        uwsgi = wrk("uwsgi", path, 6000) | {"cpu_us": 6000 * 10 * 300}
        bench["throughput"] += [handmade, uwsgi]
    (results / "bench.json").write_text(json.dumps(bench))
    text = bench_report.report(results, tmp_path / "report.md", None)
    goals = {
        row.split(" | ")[0].removeprefix("| "): row.split(" | ")[1:]
        for row in text.split("## Goals")[1].splitlines()
        if row.startswith("| ") and not row.startswith("| goal")
    }
    assert goals["stack ≥ 1.0 x the hand-made stack, requests/s (/)"] == ["1.25", "yes (≥ 1.0) |"]
    assert goals["the hand-made stack's CPU per request ÷ the stack's (/)"][0] == "1.25"
    assert goals["stack ≥ 1.0 x Nginx + uWSGI, requests/s (/healthz)"][1] == "NO (≥ 1.0) |"
    assert goals["Nginx + uWSGI's CPU per request ÷ the stack's (/healthz)"][0] == "0.75"
    table = text.split("## A deploy")[0]
    assert "| 4,000 | 4.0 | 9.0 | 0 / 0 | 500 | 1.25 |" in table, table
    assert "| 5,000 | 4.0 | 9.0 | 0 / 0 | 400 | 1.00 |" in table, "the stack's own row"


PROFILED_RUN = """
TASK [Note that this host's turn began] ****************************************
Sunday 06 December 2026  10:00:05 +0000 (0:00:00.100)       0:01:00.000 ******
ok: [app1]

TASK [flask_app_lb : Set this host in the load balancers to drain] *************
Sunday 06 December 2026  10:00:05 +0000 (0:00:00.050)       0:01:00.250 ******
changed: [app1] => (item=lb)

TASK [flask_app : Digest the role's input] *************************************
Sunday 06 December 2026  10:00:07 +0000 (0:00:01.750)       0:01:02.000 ******
ok: [app1]

RUNNING HANDLER [flask_app : Reload nginx] *************************************
Sunday 06 December 2026  10:00:17 +0000 (0:00:10.000)       0:01:12.000 ******
"""


def test_task_times_are_read_from_profile_tasks_lines():
    starts = bench_report.task_starts(PROFILED_RUN)
    assert [name for name, _ in starts] == [
        "Note that this host's turn began",
        "flask_app_lb : Set this host in the load balancers to drain",
        "flask_app : Digest the role's input",
        "flask_app : Reload nginx",
    ]
    assert starts[1][1] == pytest.approx(60.25)
    assert bench_report.task_seconds(PROFILED_RUN, "to drain") == [pytest.approx(1.75)]
    # The last task's end is unknown: it has no time of its own.
    assert bench_report.task_seconds(PROFILED_RUN, "Reload nginx") == []


def timeline(hosts: int, build: float, turn: float, part: float, gap: float) -> dict:
    """Each host out of HAProxy for `turn` s, its old slot stopped `part` s after its drain,
    the next host drained `gap` s later."""
    rows, at = [], STARTED + build
    for number in range(hosts):
        rows.append(
            {
                "host": f"app{number + 1}",
                "drained": at,
                "started": at + 2,
                "switched": at + 3,
                "back": at + turn,
                "processes_moved": at + turn + 1,
                "old_stopped": at + part,
            }
        )
        at += part + gap
    load = {"requests": 1000, "wall_seconds": 100, "non_2xx": 0, "errors": 0}
    return {"started": STARTED, "ended": at - gap + 5, "hosts": rows, "load": load}


def test_a_rollout_is_split_into_build_turns_and_tail():
    figures = bench_report.rollout_figures(timeline(3, 60, 6, 12, 1), PROFILED_RUN * 3)
    assert figures["build"] == 60 and figures["turns"] == [6, 6, 6]
    assert figures["step"] == 13 and figures["tail"] == 5
    assert figures["total"] == pytest.approx(60 + 3 * 12 + 2 * 1 + 5)
    assert figures["switches"] == [pytest.approx(6 - 1.75)] * 3


def test_projections_add_batches_of_forks_hosts():
    single = bench_report.rollout_figures(timeline(1, 40, 6, 12, 1), PROFILED_RUN)
    # One host: its part runs to its old slot's stop, not only while it is out of HAProxy.
    assert single["step"] == 12
    # 10 hosts, one at a time: the build play twice (5 forks), then ten turns.
    assert bench_report.projected_rollout(single, 10, 1) == 2 * 40 + 10 * 12 + 5
    # 50 hosts, 10 at a time: ten build rounds, five batches of two rounds of five hosts.
    assert bench_report.projected_rollout(single, 50, 10) == 10 * 40 + 5 * 2 * 12 + 5
    assert bench_report.serial_batch(10, "20%") == 2
    assert bench_report.serial_batch(3, "20%") == 1
    assert bench_report.serial_batch(50, "1") == 1


def test_the_report_shows_the_rollouts_and_their_goals(results: Path, tmp_path: Path):
    for name, figures, runs in (
        ("v2", timeline(3, 60, 6, 12, 1), 3),
        ("single-host", timeline(1, 40, 6, 12, 1), 1),
    ):
        (results / f"rollout-{name}.json").write_text(json.dumps(figures))
        (results / f"rollout-{name}.log").write_text(PROFILED_RUN * runs)
    text = bench_report.report(results, tmp_path / "report.md", None, tmp_path / "rollout.png")
    assert (tmp_path / "rollout.png").stat().st_size > 10_000
    assert "| v2 | app2 | 73.0 | +2.0 | +3.0 | +6.0 | +7.0 | +12.0 | 6.0 | 1.8 |" in text, text
    goals = {
        row.split(" | ")[0].removeprefix("| "): row.split(" | ")[1:]
        for row in text.split("## Goals")[1].splitlines()
        if row.startswith("| ") and not row.startswith("| goal")
    }
    assert goals["slowest per-host switch, drain wait apart (s)"] == ["4.25", "yes (≤ 10) |"]
    # (60 + 36 + 2 + 5) / (40 + 12 + 5)
    assert goals["3-host rollout ÷ single-host redeploy"] == ["1.81", "yes (≤ 2) |"]
    # 10 hosts at serial 1: 2 * 40 + 10 * 12 + 5 s; 50 at 20 %: 10 * 40 + 5 * 2 * 12 + 5 s.
    assert "| 10 | 3.4 min | " in text and " | 8.8 min |" in text
