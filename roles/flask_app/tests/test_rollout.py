"""Once-per-rollout decisions (filter_plugins/flask_app_rollout.py)."""

from __future__ import annotations

from role_code import load

rollout = load("filter_plugins/flask_app_rollout.py")

HOSTS = ["app1", "app2", "app3"]


def test_the_first_host_of_the_run_is_primary_by_default():
    assert rollout.primary_host(HOSTS) == "app1"
    # app1 left the inventory (or the --limit): the choice moves on, stable again.
    assert rollout.primary_host(HOSTS[1:]) == "app2"


def test_a_named_primary_host_is_kept_when_it_is_in_the_run():
    assert rollout.primary_host(HOSTS, "app3") == "app3"


def test_a_named_primary_host_outside_the_run_is_no_host():
    assert rollout.primary_host(HOSTS, "db1") == ""
    assert rollout.primary_host([], "") == ""


def test_the_rollout_is_due_when_any_host_switches():
    hostvars = {
        "app1": {"flask_app_switch_pending": False},
        "app2": {"flask_app_switch_pending": True},
        "app3": {},
    }
    assert rollout.rollout_due(HOSTS, hostvars)
    assert not rollout.rollout_due(["app1", "app3"], hostvars)
    assert not rollout.rollout_due(HOSTS, {})


def test_a_failed_commands_output_keeps_its_end():
    info = "INFO  [alembic.runtime.migration] Running upgrade 0001 -> 0002\n" * 200
    cause = 'psycopg.errors.DuplicateColumn: column "author" already exists'
    tail = rollout.output_tail("", info + cause, limit=300)
    assert tail.endswith(cause) and tail.startswith("…") and len(tail) == 301
    assert rollout.output_tail("out\n", "err\n") == "out\nerr"
    assert rollout.output_tail(None, None) == ""
