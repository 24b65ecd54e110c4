"""Once-per-rollout decisions (filter_plugins/flask_app_rollout.py)."""

from __future__ import annotations

from role_code import load

rollout = load("filter_plugins/flask_app_rollout.py")

HOSTS = ["app1", "app2", "app3"]


GROUPS = {"flask_app": HOSTS, "flask_app_lb": ["lb1"], "database": ["db1"]}


def test_the_app_hosts_are_the_group_whatever_the_limit():
    # --limit app2,app3: the primary is still app1, which keeps its singletons.
    assert rollout.app_hosts(GROUPS, "app2", ["app2", "app3"]) == HOSTS
    # A host outside site.yml's group: the hosts of the run are the app's hosts.
    assert rollout.app_hosts(GROUPS, "web1", ["web1", "web2"]) == ["web1", "web2"]
    assert rollout.app_hosts({}, "web1", ["web1"]) == ["web1"]


def test_the_first_app_host_is_primary_by_default():
    assert rollout.primary_host(HOSTS) == "app1"
    # app1 left the inventory: the choice moves on, stable again.
    assert rollout.primary_host(HOSTS[1:]) == "app2"


def test_a_named_primary_host_is_kept_when_it_is_an_app_host():
    assert rollout.primary_host(HOSTS, "app3") == "app3"


def test_a_named_primary_host_that_is_not_an_app_host_is_no_host():
    assert rollout.primary_host(HOSTS, "db1") == ""
    assert rollout.primary_host([], "") == ""


def test_the_primary_of_a_host_in_one_call():
    assert rollout.primary_of(GROUPS, "app3", ["app2", "app3"]) == "app1"
    assert rollout.primary_of(GROUPS, "app3", HOSTS, "app2") == "app2"
    assert rollout.primary_of(GROUPS, "web1", ["web1", "web2"]) == "web1"


def test_the_rollout_commands_run_on_the_primary_or_the_first_host_of_the_run():
    assert rollout.rollout_host(HOSTS, "app2") == "app2"
    # --limit app2,app3 with app1 primary: a host of the run, which has the new release.
    assert rollout.rollout_host(["app2", "app3"], "app1") == "app2"


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


def test_the_switching_hosts_are_those_whose_build_noted_a_switch_in_run_order():
    hostvars = {
        "app1": {"flask_app_switch_pending": False},
        "app2": {"flask_app_switch_pending": True},
        "app3": {},
        "app4": {"flask_app_switch_pending": True},
    }
    hosts = ["app4", "app1", "app2", "app3"]
    assert rollout.switching_hosts(hosts, hostvars) == ["app4", "app2"]
    assert rollout.rollout_due(hosts, hostvars)
    assert not rollout.rollout_due(["app1", "app3"], hostvars)
