"""The deploy lock (module, decisions) and the release ledger's lines."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest
from role_code import load

module = load("library/flask_app_lock.py")
lock = load("filter_plugins/flask_app_lock.py")
run = load("lookup_plugins/flask_app_run.py")

ME = {"run": "ann@ctl:100:5", "user": "ann", "controller": "ctl", "pid": 100, "started": "5"}
OTHER = {
    "run": "bob@far:200:7",
    "user": "bob",
    "controller": "far",
    "pid": 200,
    "started": "7",
    "playbook": "site.yml",
    "since": 1000.0,
}


def test_a_free_lock_is_taken_and_taking_it_again_in_the_same_run_is_a_no_op(tmp_path):
    path = str(tmp_path / "deploy.lock")
    first = module.take(path, ME, "", check=False)
    assert first["acquired"] and first["changed"]
    assert json.loads(Path(path).read_text())["run"] == ME["run"]
    again = module.take(path, ME, "", check=False)
    assert again["acquired"] and not again["changed"]


def test_another_runs_lock_is_reported_not_taken(tmp_path):
    path = str(tmp_path / "deploy.lock")
    module.take(path, OTHER, "", check=False)
    result = module.take(path, ME, "", check=False)
    assert not result["acquired"] and result["held_by"]["run"] == OTHER["run"]
    assert json.loads(Path(path).read_text())["run"] == OTHER["run"]


def test_of_many_runs_taking_the_lock_at_once_exactly_one_gets_it(tmp_path):
    path = str(tmp_path / "deploy.lock")
    results = []
    barrier = threading.Barrier(8)

    def contend(number: int) -> None:
        barrier.wait()
        results.append(module.take(path, {"run": f"run-{number}"}, "", check=False)["acquired"])

    threads = [threading.Thread(target=contend, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 1


def test_a_lock_is_taken_over_only_from_the_run_named_to_replace(tmp_path):
    path = str(tmp_path / "deploy.lock")
    module.take(path, OTHER, "", check=False)
    assert not module.take(path, ME, "someone-else", check=False)["acquired"]
    broken = module.take(path, ME, OTHER["run"], check=False)
    assert broken["acquired"] and broken["replaced"]
    assert json.loads(Path(path).read_text())["run"] == ME["run"]


def test_release_removes_only_this_runs_lock(tmp_path):
    path = str(tmp_path / "deploy.lock")
    module.take(path, OTHER, "", check=False)
    assert not module.release(path, ME, check=False)["changed"]
    assert os.path.exists(path)
    assert module.release(path, OTHER, check=False)["changed"]
    assert not os.path.exists(path)
    assert not module.release(path, OTHER, check=False)["changed"]


def test_check_mode_writes_nothing(tmp_path):
    path = str(tmp_path / "deploy.lock")
    assert module.take(path, ME, "", check=True)["acquired"]
    assert not os.path.exists(path)


def test_a_half_written_lock_is_held_by_an_unknown_run_and_stale(tmp_path):
    path = tmp_path / "deploy.lock"
    path.write_text('{"run": "bob@')
    result = module.take(str(path), ME, "", check=False)
    assert not result["acquired"] and "unreadable" in result["held_by"]
    assert "unreadable" in lock.lock_stale(result["held_by"], ME, 3600, now=1001)


def test_a_young_lock_of_another_controller_is_live_and_never_broken():
    assert lock.lock_stale(OTHER, ME, 3600, now=1060) == ""
    assert lock.lock_to_break(OTHER, ME, 3600, breaking=True, now=1060) == ""


def test_an_old_lock_is_stale_and_broken_only_when_asked():
    assert "flask_app_lock_timeout (3600 s)" in lock.lock_stale(OTHER, ME, 3600, now=5000)
    assert lock.lock_to_break(OTHER, ME, 3600, breaking=False, now=5000) == ""
    assert lock.lock_to_break(OTHER, ME, 3600, breaking=True, now=5000) == OTHER["run"]


def test_a_lock_of_a_run_gone_from_this_controller_is_stale_at_once():
    mine_dead = {**OTHER, "controller": "ctl"}
    gone = lock.lock_stale(mine_dead, ME, 3600, now=1001, started_of=lambda pid: None)
    assert "pid 200" in gone
    # A later process that reuses the pid is not the holder.
    reused = lock.lock_stale(mine_dead, ME, 3600, now=1001, started_of=lambda pid: "99")
    assert "no longer running" in reused
    alive = lock.lock_stale(mine_dead, ME, 3600, now=1001, started_of=lambda pid: "7")
    assert alive == ""


def test_the_refusal_names_the_holder_its_age_and_the_way_out():
    live = lock.lock_refusal(OTHER, ME, 3600, "board", "app1", now=1090)
    assert "board is locked on app1" in live and "bob@far" in live and "90 s" in live
    assert "site.yml" in live and "wait for it" in live and "Nothing was changed" in live
    stale = lock.lock_refusal(OTHER, ME, 3600, "board", "app1", now=9000)
    assert "stale" in stale and "flask_app_lock_break=true" in stale and "2.2 h" in stale


def test_refused_hosts_are_those_whose_take_was_refused():
    hostvars = {
        "a": {"__flask_app_lock_take": {"acquired": True}},
        "b": {"__flask_app_lock_take": {"acquired": False}},
        "c": {"__flask_app_lock_take": {"skipped": True}},
        "d": {},
    }
    assert lock.lock_refused_hosts(["a", "b", "c", "d"], hostvars) == ["b"]


def test_a_ledger_line_is_one_json_object_with_who_what_and_how_long():
    line = lock.ledger_entry(
        "deploy",
        "success",
        "v1",
        "v2",
        {**ME, "playbook": "site.yml"},
        1000,
        now=1042.5,
        commit="abc123",
    )
    entry = json.loads(line)
    assert "\n" not in line
    assert entry == {
        "time": "1970-01-01T00:17:22Z",
        "action": "deploy",
        "outcome": "success",
        "release_before": "v1",
        "release_after": "v2",
        "duration_s": 42.5,
        "by": "ann@ctl",
        "playbook": "site.yml",
        "commit": "abc123",
    }
    first = json.loads(lock.ledger_entry("deploy", "success", "", "v1", ME, 0, now=5))
    assert first["release_before"] is None and "commit" not in first


def test_the_ledger_table_shows_the_last_entries_and_survives_a_bad_line():
    lines = [lock.ledger_entry("deploy", "success", "", f"v{n}", ME, 0, now=n) for n in range(5)]
    rows = lock.ledger_table([*lines, "not json"], last=3)
    assert len(rows) == 3 and "v3" in rows[0] and rows[-1].startswith("(unreadable)")


def test_the_releases_report_has_one_row_per_host_then_each_hosts_ledger():
    line = lock.ledger_entry("deploy", "success", "v1-a", "v2-b", ME, 0, now=9)
    hostvars = {
        "web1": {
            "__flask_app_report": {"live": "v2-b", "kept": ["v2-b", "v1-a"], "ledger": [line]}
        },
        "web2": {"__flask_app_report": {"live": "", "kept": [], "ledger": []}},
    }
    rows = lock.releases_report(["web1", "web2"], hostvars, "hello", 5)
    assert rows[1].split()[:3] == ["web1", "v2-b", "v2-b,"]
    assert rows[2].split() == ["web2", "-", "-"]
    assert rows[3] == "web1: the last 1 ledger entries of hello"
    assert "v1-a -> v2-b" in rows[4]
    assert rows[-1].strip() == "(none)"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["ansible-playbook", "-i", "inventory/demo", "site.yml", "-e", "x=1"], "site.yml"),
        (
            ["ansible-playbook", "playbooks/rollback.yml", "-e", "@vars.json"],
            "playbooks/rollback.yml",
        ),
        (["ansible-playbook", "-i", "hosts.yml", "-l", "app1", "-v", "site.yml"], "site.yml"),
        (["ansible-playbook", "--inventory=inv.yml", "-e", "a.yml", "site.yml"], "site.yml"),
    ],
)
def test_the_run_names_its_playbooks(argv, expected):
    assert run.run_identity("ann", "ctl", 100, "5", argv)["playbook"] == expected


def test_the_run_id_is_the_same_for_every_lookup_of_one_run():
    first, second = run.this_run(), run.this_run()
    assert first["run"] == second["run"] and first["pid"] == os.getpid()
    assert first["started"] == run.process_start(os.getpid()) != ""


def test_release_leaves_no_empty_directories_and_keeps_a_ledger(tmp_path):
    ops = tmp_path / "flask_app" / "ghost"
    ops.mkdir(parents=True)
    module.take(str(ops / "deploy.lock"), ME, "", check=False)
    module.release(str(ops / "deploy.lock"), ME, check=False)
    assert not (tmp_path / "flask_app").exists()

    kept = tmp_path / "flask_app" / "hello"
    kept.mkdir(parents=True)
    (kept / "ledger.jsonl").write_text("{}\n")
    module.take(str(kept / "deploy.lock"), ME, "", check=False)
    module.release(str(kept / "deploy.lock"), ME, check=False)
    assert sorted(path.name for path in kept.iterdir()) == ["ledger.jsonl"]
