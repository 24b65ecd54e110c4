"""The switch decision (filter ``flask_app_switch_plan``): from what the host runs to what to do."""

from __future__ import annotations

from typing import Any

import pytest
from role_code import load

filters = load("filter_plugins/flask_app.py")
plan = filters.switch_plan

STARTED = 1_000.0


def slot(release: str = "", active: bool = True, linked: str = "", reloaded: float = 0.0):
    return {
        "active": active,
        "pid": 42 if active else 0,
        "started": STARTED if active else 0.0,
        "release": release if active else "",
        "linked": linked or release,
        "reloaded": reloaded,
        "socket_started": STARTED - 10,
    }


def state(
    live: str = "blue",
    current: str = "v1",
    restart: float = 900.0,
    reload: float = 900.0,
    socket: float = 900.0,
    legacy: bool = False,
    **slots: dict[str, Any],
) -> dict[str, Any]:
    return {
        "live_slot": live,
        "current": current,
        "slots": {"blue": slot(active=False), "green": slot(active=False)} | slots,
        "restart_inputs": restart,
        "reload_inputs": reload,
        "socket_inputs": socket,
        "legacy_units": legacy,
    }


def test_first_deploy_starts_blue_next_to_nothing():
    got = plan(state(live="", current=""), "v1", "overlap")
    assert got | {"reason": ""} == {
        "action": "overlap",
        "restart_socket": True,
        "target": "blue",
        "previous": "",
        "stop": [],
        "serving": "",
        "release_changes": True,
        "legacy": False,
        "reason": "",
    }


def test_a_new_release_goes_to_the_idle_slot_and_the_live_one_stops_after():
    got = plan(state(blue=slot("v1")), "v2", "overlap")
    assert (got["action"], got["target"], got["previous"], got["stop"]) == (
        "overlap",
        "green",
        "blue",
        ["blue"],
    )
    assert got["release_changes"]
    assert "v2 should serve, v1 does" in got["reason"]


def test_slots_take_turns():
    got = plan(state(live="green", current="v2", green=slot("v2")), "v3", "overlap")
    assert (got["target"], got["stop"]) == ("blue", ["green"])


def test_nothing_to_do_when_the_live_slot_runs_the_release_and_read_every_file():
    got = plan(state(blue=slot("v1")), "v1", "overlap")
    assert got["action"] == "none" and not got["release_changes"]


def test_the_running_master_is_believed_not_current():
    # Interrupted run of the old design: current moved, Gunicorn still serves v1.
    got = plan(state(current="v2", blue=slot("v1")), "v2", "overlap")
    assert got["action"] == "overlap" and got["release_changes"]


def test_traffic_moved_but_the_run_stopped_before_draining():
    got = plan(
        state(live="green", current="v1", blue=slot("v1"), green=slot("v2")), "v2", "overlap"
    )
    assert (got["action"], got["target"], got["stop"]) == ("finish", "green", ["blue"])
    assert not got["release_changes"]


def test_candidate_started_but_traffic_not_moved_starts_it_afresh():
    got = plan(state(blue=slot("v1"), green=slot("v2")), "v2", "overlap")
    assert (got["action"], got["target"], got["stop"]) == ("overlap", "green", ["blue"])


def test_after_a_reboot_the_idle_live_slot_serves_what_its_link_names():
    got = plan(state(blue=slot(active=False, linked="v1")), "v1", "overlap")
    assert got["action"] == "none"


@pytest.mark.parametrize("strategy", ["overlap", "restart"])
def test_an_environment_or_unit_change_restarts_through_the_strategy(strategy):
    got = plan(state(restart=STARTED + 1, blue=slot("v1")), "v1", strategy)
    assert got["action"] == strategy
    assert not got["release_changes"]
    assert got["target"] == ("green" if strategy == "overlap" else "blue")


def test_a_gunicorn_configuration_change_reloads_in_place_with_restart():
    got = plan(state(reload=STARTED + 1, blue=slot("v1")), "v1", "restart")
    assert (got["action"], got["target"]) == ("reload", "blue")


def test_a_configuration_already_reloaded_is_not_reloaded_again():
    got = plan(state(reload=STARTED + 1, blue=slot("v1", reloaded=STARTED + 2)), "v1", "restart")
    assert got["action"] == "none"


def test_a_gunicorn_configuration_change_overlaps_with_overlap():
    # A HUP would re-import the app in new workers while old ones are killed.
    got = plan(state(reload=STARTED + 1, blue=slot("v1")), "v1", "overlap")
    assert (got["action"], got["target"]) == ("overlap", "green")


def test_restart_uses_blue_only_and_stops_a_green_left_from_overlap():
    got = plan(
        state(live="green", current="v1", blue=slot(active=False), green=slot("v1")),
        "v2",
        "restart",
    )
    assert (got["action"], got["target"], got["stop"]) == ("restart", "blue", ["green"])


def test_the_layout_of_earlier_versions_is_replaced_by_a_slot():
    got = plan(state(live="", current="v1", legacy=True), "v1", "overlap")
    assert (got["action"], got["target"], got["legacy"], got["previous"]) == (
        "overlap",
        "blue",
        True,
        "",
    )
    assert not got["release_changes"]


def test_an_unknown_strategy_is_refused():
    with pytest.raises(ValueError, match="overlap or restart"):
        plan(state(), "v1", "rolling")


def test_a_changed_socket_unit_restarts_the_socket_with_restart_only_then():
    got = plan(state(socket=STARTED, blue=slot("v1")), "v1", "restart")
    assert (got["action"], got["restart_socket"]) == ("restart", True)
    got = plan(state(blue=slot("v1")), "v2", "restart")
    assert (got["action"], got["restart_socket"]) == ("restart", False)


def test_an_overlap_target_socket_is_always_started_afresh():
    got = plan(state(blue=slot("v1")), "v2", "overlap")
    assert got["restart_socket"]


def test_a_slot_already_serving_only_retires_the_earlier_layout():
    # A run stopped after the traffic moved to blue, before the old units went.
    got = plan(state(live="blue", current="v1", legacy=True, blue=slot("v1")), "v1", "overlap")
    assert (got["action"], got["target"], got["legacy"]) == ("finish", "blue", True)


def test_restart_on_a_fresh_host_starts_blue():
    got = plan(state(live="", current=""), "v1", "restart")
    assert (got["action"], got["target"], got["previous"]) == ("restart", "blue", "")
