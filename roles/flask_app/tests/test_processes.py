"""Processes, jobs and build steps (filter_plugins/flask_app_processes.py, flask_app_release.py)."""

from __future__ import annotations

from typing import Any

import pytest
from role_code import load

procs = load("filter_plugins/flask_app_processes.py")
release = load("filter_plugins/flask_app_release.py")

WORKER = {"name": "worker", "command": "rq worker", "instances": 2}


def instance(
    release: str = "v1",
    active: bool = True,
    enabled: bool = True,
    started: float = 100.0,
    restarts: int = 0,
):
    return {
        "active": active,
        "enabled": enabled,
        "started": started,
        "release": release,
        "restarts": restarts,
    }


def state(inputs: float = 50.0, **instances: dict[str, Any]) -> dict[str, Any]:
    return {
        "processes": {
            "worker": {
                "unit": "hello-worker",
                "inputs": inputs,
                "instances": {key.removeprefix("i"): value for key, value in instances.items()},
                "enabled": sorted(
                    k.removeprefix("i") for k, v in instances.items() if v["enabled"]
                ),
            }
        },
        "jobs": {},
    }


def wanted(*entries: dict[str, Any]) -> list[dict[str, Any]]:
    return procs.process_units("hello", list(entries))


def test_units_get_every_default():
    (unit,) = wanted({"name": "worker", "command": "rq worker"})
    assert unit == {
        "name": "worker",
        "unit": "hello-worker",
        "command": "rq worker",
        "instances": 1,
        "stop_signal": "SIGTERM",
        "stop_timeout": 60,
        "outbound_network": False,
    }


def test_nothing_to_do_when_every_instance_runs_the_live_release():
    plan = procs.process_plan(state(i1=instance(), i2=instance()), wanted(WORKER), "v1")
    assert plan == {"restart": [], "enable": [], "stop": [], "drop": []}


def test_instances_on_the_old_release_restart_together():
    plan = procs.process_plan(state(i1=instance(), i2=instance()), wanted(WORKER), "v2")
    assert plan["restart"] == ["hello-worker@1.service", "hello-worker@2.service"]


def test_a_changed_environment_restarts_on_the_same_release():
    plan = procs.process_plan(
        state(inputs=200.0, i1=instance(), i2=instance()), wanted(WORKER), "v1"
    )
    assert plan["restart"] == ["hello-worker@1.service", "hello-worker@2.service"]


def test_a_new_process_starts_and_is_enabled():
    plan = procs.process_plan({"processes": {}, "jobs": {}}, wanted(WORKER), "v1")
    assert plan["restart"] == ["hello-worker@1.service", "hello-worker@2.service"]
    assert plan["enable"] == plan["restart"]


def test_nothing_starts_before_a_release_is_live():
    plan = procs.process_plan({"processes": {}, "jobs": {}}, wanted(WORKER), "")
    assert plan["restart"] == []


def test_fewer_instances_stop_the_extra_ones():
    plan = procs.process_plan(
        state(i1=instance(), i2=instance(), i3=instance()), wanted(WORKER), "v1"
    )
    assert plan["stop"] == ["hello-worker@3.service"]
    assert plan["drop"] == []


def test_a_process_no_longer_listed_stops_and_its_unit_goes():
    plan = procs.process_plan(
        state(i1=instance(), i2=instance(active=False, enabled=False)), [], "v1"
    )
    assert plan["stop"] == ["hello-worker@1.service"]
    assert plan["drop"] == ["worker"]


def test_a_rollback_keeps_the_installed_processes():
    plan = procs.process_plan(state(i1=instance(), i2=instance()), None, "v0")
    assert plan["restart"] == ["hello-worker@1.service", "hello-worker@2.service"]
    assert plan["stop"] == [] and plan["drop"] == []


def test_a_process_that_restarted_is_down():
    found = state(i1=instance(), i2=instance(restarts=2))
    assert procs.processes_down(found, ["hello-worker@1.service", "hello-worker@2.service"]) == [
        "hello-worker@2.service"
    ]
    assert procs.processes_down(found, ["hello-worker@9.service"]) == ["hello-worker@9.service"]


def test_singletons_run_on_the_primary_host_only():
    beat = {"name": "beat", "command": "celery beat", "placement": "primary"}
    assert [u["name"] for u in wanted(WORKER, beat)] == ["worker", "beat"]
    elsewhere = procs.process_units("hello", [WORKER, beat], False)
    assert [u["name"] for u in elsewhere] == ["worker"]
    # On a host that stops being primary, beat is a process no longer listed: it stops.
    found = state(i1=instance())
    found["processes"]["beat"] = {
        "unit": "hello-beat",
        "inputs": 50.0,
        "instances": {"1": instance()},
        "enabled": ["1"],
    }
    plan = procs.process_plan(found, elsewhere, "v1")
    assert plan["stop"] == ["hello-beat@1.service"] and plan["drop"] == ["beat"]
    assert [u["name"] for u in procs.process_units("hello", [beat], "False")] == []
    tick = {"name": "tick", "command": "flask tick", "schedule": "minutely", "placement": "primary"}
    assert procs.job_units("hello", [tick], False) == []
    assert [u["name"] for u in procs.job_units("hello", [tick], True)] == ["tick"]


def test_job_plan_lists_timers_and_what_goes():
    found = {
        "processes": {},
        "jobs": {"old": {"unit": "hello-old"}, "tick": {"unit": "hello-tick"}},
    }
    jobs = procs.job_units(
        "hello", [{"name": "tick", "command": "flask tick", "schedule": "*:*:0/10"}]
    )
    assert procs.job_plan(found, jobs) == {"timers": ["hello-tick.timer"], "drop": ["old"]}
    assert procs.job_plan(found, None) == {
        "timers": ["hello-old.timer", "hello-tick.timer"],
        "drop": [],
    }


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"name": "Worker", "command": "x"}, "name 'Worker' must match"),
        ({"name": "web", "command": "x"}, "is reserved"),
        ({"name": "worker", "command": " "}, "command is empty"),
        ({"name": "worker", "command": "a\nb"}, "must be one line"),
        (
            {"name": "worker", "command": "x", "stop_signal": "KILL"},
            "stop_signal 'KILL' is not one of",
        ),
        ({"name": "worker", "command": "x", "stop_timeout": -1}, "stop_timeout -1 must be"),
        ({"name": "worker", "command": "x", "instances": 65}, "instances 65 must be"),
        (
            {"name": "beat", "command": "x", "placement": "one"},
            "placement 'one' is not one of all, primary",
        ),
    ],
)
def test_bad_processes_are_named(entry: dict[str, Any], expected: str):
    (problem,) = procs.process_problems([entry], [])
    assert problem.startswith("flask_app_processes[0]")
    assert expected in problem


def test_a_job_needs_a_schedule_and_a_name_of_its_own():
    problems = procs.process_problems(
        [{"name": "tick", "command": "x"}], [{"name": "tick", "command": "y", "schedule": ""}]
    )
    assert any("used already by flask_app_processes[0]" in p for p in problems)
    assert any("schedule is empty" in p for p in problems)


def test_signals_are_accepted_with_or_without_sig():
    assert (
        procs.process_problems([{"name": "w", "command": "x", "stop_signal": "SIGINT"}], []) == []
    )
    assert (
        procs.process_units("a", [{"name": "w", "command": "x", "stop_signal": "quit"}])[0][
            "stop_signal"
        ]
        == "SIGQUIT"
    )


def test_collisions_with_units_the_role_did_not_write():
    installed = {
        "hello-worker@.service": "",
        "hello-tick.timer": "hello job tick",
        "hello-beat@.service": "other process beat",
    }
    clashes = procs.unit_collisions("hello", ["worker", "tick", "beat"], installed)
    assert clashes == [
        "hello-beat@.service (other process beat)",
        "hello-worker@.service (not written by this role for hello)",
    ]


def test_systemd_quote_passes_the_command_verbatim():
    assert (
        procs.systemd_quote('rq worker --url "$REDIS_URL" 100%')
        == '"rq worker --url \\"$$REDIS_URL\\" 100%%"'
    )


def test_lock_pin():
    text = "flask==3.1.0 \\\n    --hash=sha256:abc\nGunicorn == 21.2.0 ; python_version>'3'\n"
    assert procs.lock_pin(text, "gunicorn") == "21.2.0"
    assert procs.lock_pin(text, "rq") == ""
    assert procs.lock_pin("gunicorn>=21\n", "gunicorn") == ""


def test_dotenv_files_at_the_top_of_the_source():
    assert procs.dotenv_files(["app.py", ".flaskenv", "sub/.env", ".env"]) == [".env", ".flaskenv"]


def test_write_hint_names_the_path_and_the_variable():
    output = "PermissionError: [Errno 13] Permission denied: '/srv/t/releases/v1/app/logs'"
    hint = procs.write_hint(output, "/srv/t/releases/v1", "app")
    assert "/srv/t/releases/v1/app/logs" in hint and "'app/logs' in flask_app_shared_paths" in hint
    relative = "OSError: [Errno 30] Read-only file system: 'logs/app.log'"
    assert "'app/logs'" in procs.write_hint(relative, "/srv/t/releases/v1", "app")
    assert (
        procs.write_hint(
            "PermissionError: [Errno 13] Permission denied: '/etc/x'", "/srv/t/releases/v1", "app"
        )
        == ""
    )


def test_shared_paths_may_not_hide_shipped_code():
    shipped = ["app.py", "logs/.gitkeep", "templates/index.html"]
    assert release.shared_paths_hiding(
        ["app/logs", "app/templates", "app/app.py", "data"], shipped
    ) == [
        "app/templates",
        "app/app.py",
    ]


def test_build_commands_run_as_the_build_user_in_a_sandbox():
    argv = release.build_in_release("flask-app-build", "/srv/t/releases/v1", "/etc/t", "app", "t")
    assert argv[0] == "systemd-run"
    assert "--uid=flask-app-build" in argv and "--uid=t" not in argv
    assert "--property=ReadWritePaths=/srv/t/releases/v1/app" in argv
    assert "--property=ProtectSystem=strict" in argv
    assert "--working-directory=/srv/t/releases/v1/app" in argv


def test_build_commands_change_the_release_only_when_there_are_any():
    found = [{"path": "/s/app.py", "checksum": "1"}]
    plain = release.release_fingerprint(found, "/s")["release"]
    assert release.release_fingerprint(found, "/s", build_commands=[])["release"] == plain
    assert release.release_fingerprint(found, "/s", build_commands=["make"])["release"] != plain


def test_unit_files_of_installed_processes_and_jobs():
    found = {
        "processes": {"worker": {"unit": "hello-worker"}},
        "jobs": {"tick": {"unit": "hello-tick"}},
    }
    assert procs.unit_files(found) == [
        "/etc/systemd/system/hello-worker@.service",
        "/etc/systemd/system/hello-tick.service",
        "/etc/systemd/system/hello-tick.timer",
    ]
    assert procs.unit_files(found, [], ["tick"]) == [
        "/etc/systemd/system/hello-tick.service",
        "/etc/systemd/system/hello-tick.timer",
    ]
