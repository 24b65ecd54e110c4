"""playbooks/logs.yml's decisions: the units of an app, the --since value, the merged listing."""

from __future__ import annotations

import pytest
from role_code import load

journal = load("filter_plugins/flask_app_journal.py")


def test_the_units_are_the_web_slots_the_processes_and_the_jobs():
    state = {
        "processes": {"worker": {"unit": "board-worker"}, "beat": {"unit": "board-beat"}},
        "jobs": {"report": {"unit": "board-report"}},
    }
    assert journal.journal_units(state, "board") == [
        "board@*.service",
        "board-beat@*.service",
        "board-worker@*.service",
        "board-report.service",
    ]
    assert journal.journal_units({}, "hello") == ["hello@*.service"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10m", "-10m"),
        ("2 h", "-2h"),
        ("90s", "-90s"),
        ("today", "today"),
        ("2026-12-03 10:00", "2026-12-03 10:00"),
    ],
)
def test_since_takes_a_span_as_that_long_ago(value, expected):
    assert journal.journal_since(value) == expected


def test_the_command_reads_those_units_since_then_matching_the_pattern():
    argv = journal.journal_argv({"jobs": {"tick": {"unit": "tasks-tick"}}}, "tasks", "5m", "ERR")
    assert argv == [
        "journalctl",
        "--no-pager",
        "--quiet",
        "--output=short-unix",
        "--since=-5m",
        "--unit=tasks@*.service",
        "--unit=tasks-tick.service",
        "--grep=ERR",
    ]


def test_the_lines_of_every_host_are_merged_in_time_order_with_the_host_named():
    hostvars = {
        "app1": {
            "__flask_app_journal": {"stdout": "100.5 h1 board[1]: first\n300.0 h1 board[1]: third"}
        },
        "app2": {"__flask_app_journal": {"stdout": "200.0 h2 w[2]: second\n  traceback line"}},
        "app3": {"__flask_app_journal": {"stdout": ""}},
    }
    merged = journal.journal_merge(["app1", "app2", "app3"], hostvars)
    assert [line.split()[0] for line in merged] == ["app1", "app2", "app2", "app1"]
    assert merged[0] == "app1 1970-01-01 00:01:40.500000 board[1]: first"
    assert merged[1].endswith("w[2]: second") and merged[2].endswith("traceback line")
