"""The gunicorn scenario: Gunicorn as an operator runs it, each promise shown on the real stack.

Traffic goes through Nginx on 127.0.0.1 inside the container. Tests that need other settings
re-run site.yml with extra variables (the ``run_playbook`` fixture, molecule/conftest.py); they
run in file order and the last one puts the scenario's settings back.
"""

from __future__ import annotations

import json
import re
import time

import pytest

APP = "hello"
# flask_app_switch_strategy: restart (molecule.yml): the one slot is blue.
UNIT = f"{APP}@blue.service"
HOST_HEADER = "hello.test"
LOAD = "/usr/local/bin/flask-app-load"
ERROR_LINE = re.compile(r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}\] \[\d+\] \[[A-Z]+\] .*$")


def main_pid(host) -> int:
    return int(host.check_output(f"systemctl show --property=MainPID --value {UNIT}"))


def get(host, path: str, *args: str):
    return host.run(
        f"curl --silent --max-time 20 {' '.join(args)} -H 'Host: {HOST_HEADER}' "
        f"'http://127.0.0.1{path}'"
    )


def start_load(host, name: str, *options: str) -> None:
    host.check_output(
        f"rm -f /tmp/{name}.stop /tmp/{name}.json; "
        f"nohup python3 {LOAD} --host={HOST_HEADER} --seconds=300 {' '.join(options)} "
        f"--stop-file=/tmp/{name}.stop --out=/tmp/{name}.json >/dev/null 2>&1 &"
    )


def stop_load(host, name: str) -> dict:
    host.check_output(f"touch /tmp/{name}.stop")
    for _ in range(60):
        if host.file(f"/tmp/{name}.json").exists:
            return json.loads(host.file(f"/tmp/{name}.json").content_string)
        time.sleep(0.5)
    raise AssertionError(f"the load {name} did not finish")


def test_workers_default_to_twice_the_cpus_plus_one(host):
    cpus = int(host.check_output("nproc"))
    titles = host.check_output("ps -eo args").splitlines()
    workers = [t for t in titles if t.startswith(f"gunicorn: worker [{APP}@")]
    assert len(workers) == 2 * cpus + 1
    conf = host.file(f"/etc/{APP}/gunicorn.conf.py").content_string
    # No recycling by request count (each new worker imports the app again); the memory guard.
    assert "\nmax_requests = 0\n" in conf
    assert "start_memory_guard(worker, 1024)" in conf
    assert 'worker_tmp_dir = "/dev/shm"' in conf


def test_access_log_has_forwarded_client_status_and_time(host):
    marker = f"access-{time.time_ns()}"
    assert get(host, f"/?{marker}", "--fail").rc == 0
    line = next(
        line
        for line in host.file(f"/var/log/{APP}/access.log").content_string.splitlines()
        if marker in line
    )
    # X-Forwarded-For from Nginx (the client, 127.0.0.1), the request, 200, time in µs.
    assert re.match(rf'^127\.0\.0\.1 - - \[.+\] "GET /\?{marker} HTTP/1\.0" 200 \d+ ', line), line
    assert re.search(r" \d+us$", line), line


def test_app_log_lines_from_concurrent_workers_stay_whole(host):
    log = f"/var/log/{APP}/error.log"
    before = len(host.file(log).content_string.splitlines())
    host.check_output(
        f"seq 400 | xargs -P 16 -I{{}} curl --silent --fail -o /dev/null "
        f"-H 'Host: {HOST_HEADER}' 'http://127.0.0.1/?n={{}}'"
    )
    lines = host.file(log).content_string.splitlines()[before:]
    assert sum(line.endswith("index requested by 127.0.0.1") for line in lines) == 400
    broken = [line for line in lines if not ERROR_LINE.match(line)]
    assert broken == [], "every line is one whole record"
    pids = {re.match(r"^\[.+?\] \[(\d+)\]", line).group(1) for line in lines}
    assert len(pids) > 1, "several workers wrote at once"


def test_rotation_under_load_loses_no_request(host):
    run = f"r{time.time_ns()}-"
    start_load(host, "rotate", "--threads=4", "--rate=300", f"--tag={run}")
    time.sleep(3)
    host.check_output(f"logrotate --force /etc/logrotate.d/{APP}")
    time.sleep(3)
    result = stop_load(host, "rotate")
    assert result["errors"] == 0 and result["non_2xx"] == 0, result
    current = host.file(f"/var/log/{APP}/access.log").content_string
    rotated = host.file(f"/var/log/{APP}/access.log.1").content_string
    assert current and rotated, "both files received requests"
    seen: dict[str, int] = {}
    for text in (current, rotated):
        for tag in re.findall(rf"[?&]tag=({run}\d+-\d+) ", text):
            seen[tag] = seen.get(tag, 0) + 1
    answered = result["answered_tags"]
    assert len(answered) > 500
    missing = [tag for tag in answered if tag not in seen]
    twice = [tag for tag, count in seen.items() if count > 1]
    assert missing == [] and twice == [], "each request in exactly one of the two files"
    print(f"FIGURES rotation under load: {len(answered)} requests, {len(missing)} missing")


def test_server_hooks_run_once_each_per_start_and_stop(host):
    hooks = f"/var/lib/{APP}/hooks.log"
    before = host.file(hooks).content_string.splitlines()
    old_pid = main_pid(host)
    host.check_output(f"systemctl restart {UNIT}")
    new_pid = main_pid(host)
    added = host.file(hooks).content_string.splitlines()[len(before) :]
    assert added == [f"on_exit {old_pid}", f"on_starting {new_pid}"]


def test_graceful_stop_finishes_in_flight_requests_in_time(host):
    host.check_output(
        "rm -f /tmp/slow.out; nohup curl --silent -o /dev/null -w '%{http_code}' "
        f"-H 'Host: {HOST_HEADER}' 'http://127.0.0.1/slow?seconds=4' >/tmp/slow.out 2>&1 &"
    )
    time.sleep(1)
    started = time.monotonic()
    host.check_output(f"systemctl stop {UNIT}")
    took = time.monotonic() - started
    for _ in range(20):
        if host.file("/tmp/slow.out").content_string:
            break
        time.sleep(0.5)
    assert host.file("/tmp/slow.out").content_string == "200", "the request in flight finished"
    timeout = int(host.check_output(f"systemctl show -P TimeoutStopUSec {UNIT}").rstrip("s"))
    assert timeout == 10 + 5, "TimeoutStopSec = flask_app_graceful_timeout + 5"
    assert 2 <= took < timeout, f"stop waited for the request and returned in {took:.1f} s"
    journal = host.check_output(f"journalctl --no-pager -u {UNIT}")
    assert "Shutting down: Master" in journal
    host.check_output(f"systemctl start {UNIT}")


def test_a_killed_master_is_back_at_once_and_new_requests_wait_for_it(host):
    limits = host.check_output(
        f"systemctl show --property=RestartUSec,StartLimitBurst,StartLimitIntervalUSec {UNIT}"
    ).splitlines()
    assert sorted(limits) == [
        "RestartUSec=100ms",
        "StartLimitBurst=5",
        "StartLimitIntervalUSec=30s",
    ]
    since = host.check_output("date +%s.%N")
    start_load(host, "crash", "--threads=4", "--rate=200")
    time.sleep(2)
    old = main_pid(host)
    host.check_output(f"kill -9 {old}")
    for _ in range(150):
        if main_pid(host) not in (0, old):
            break
        time.sleep(0.1)
    time.sleep(3)
    load = stop_load(host, "crash")
    # From the journal, in the host's own time: when the master died, when systemd had started
    # the new one (Type=notify: Gunicorn listening), when its first worker had the app.
    journal = host.check_output(f"journalctl -u {UNIT} -o short-unix --no-pager --since @{since}")

    def first(pattern: str, after: float = 0.0) -> float:
        for line in journal.splitlines():
            stamp, _, message = line.partition(" ")
            if re.search(pattern, message) and float(stamp) > after:
                return float(stamp)
        raise AssertionError(f"{pattern!r} not in the journal:\n{journal[-3000:]}")

    died = first(r"Main process exited, code=killed, status=9/KILL")
    started = first(r"Started .*slot blue", died)
    serving = first(r"Booting worker with pid", started)
    lost = load["non_2xx"] + load["errors"]
    print(
        f"FIGURES kill -9 of the master under 200 requests/s: new master ready "
        f"{started - died:.2f} s after (RestartSec 100 ms), first worker {serving - died:.2f} s; "
        f"{lost} of {load['requests']} requests failed, slowest answered "
        f"{load['slowest_seconds']:.2f} s"
    )
    # systemd kills the orphaned workers at once and starts a new master 100 ms later; requests
    # that reach the socket meanwhile wait in it and are answered after the restart. Only a
    # request inside a worker at the kill fails: at most one per sync worker.
    assert started - died < 3, journal[-2000:]
    conf = host.file(f"/etc/{APP}/gunicorn.conf.py").content_string
    assert lost <= int(re.search(r"^workers = (\d+)$", conf, re.M).group(1)), load
    assert load["slowest_seconds"] < 6, load
    assert load["requests"] > 200, load


def test_reload_applies_configuration_and_the_memory_guard_without_dropping_a_request(
    host, run_playbook
):
    # One change of gunicorn.conf.py only, so a reload (HUP): the log level, and the memory
    # guard at 1 MiB, which every worker is over, so each is replaced about every 5 s. A
    # post_worker_init hook of the user's runs as well (the role's own post_worker_init calls it).
    hook = (
        f'with open("/var/lib/{APP}/hooks.log", "a") as log:\n'
        '    log.write(f"worker {worker.pid}\\n")\n'
    )
    pid = main_pid(host)
    start_load(host, "reload", "--threads=4", "--rate=200")
    result = run_playbook(
        {
            "flask_app_loglevel": "debug",
            "flask_app_worker_max_memory": 1,
            "flask_app_server_hooks": {"post_worker_init": hook},
        }
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    time.sleep(12)
    load = stop_load(host, "reload")
    assert re.search(
        r"Reload Gunicorn for its new configuration, slot blue\]\s*\**\s*changed:", output
    )
    assert main_pid(host) == pid, "reloaded, not restarted"
    error_log = host.file(f"/var/log/{APP}/error.log").content_string
    assert "Handling signal: hup" in error_log
    replaced = re.findall(
        r"Worker (\d+) uses \d+ MiB, more than flask_app_worker_max_memory \(1 MiB\)", error_log
    )
    started = re.findall(
        r"^worker (\d+)$", host.file(f"/var/lib/{APP}/hooks.log").content_string, re.M
    )
    assert len(set(replaced)) >= 3, replaced
    assert set(replaced) <= set(started), "the user's hook ran in every guarded worker"
    assert load["requests"] > 500 and load["errors"] == 0 and load["non_2xx"] == 0, load
    print(
        f"FIGURES reload with the memory guard: {len(set(replaced))} workers replaced, load {load}"
    )


@pytest.mark.parametrize(
    ("extra", "worker"),
    [
        ({"flask_app_worker_class": "gthread", "flask_app_threads": 4}, "gthread"),
        ({"flask_app_worker_class": "gevent"}, "gevent"),
    ],
    ids=["gthread", "gevent"],
)
def test_worker_class_serves(host, run_playbook, extra, worker, venv_freeze):
    result = run_playbook(extra)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert f'worker_class = "{worker}"' in host.file(f"/etc/{APP}/gunicorn.conf.py").content_string
    assert get(host, "/", "--fail").rc == 0
    assert get(host, "/slow?seconds=0", "--fail").rc == 0
    if worker == "gthread":
        # Reached by a reload (HUP): the new workers answer concurrent requests with threads.
        host.check_output(
            f"seq 20 | xargs -P 20 -I{{}} curl --silent --fail -o /dev/null "
            f"-H 'Host: {HOST_HEADER}' 'http://127.0.0.1/slow?seconds=1'"
        )
        threads = [
            int(line.split()[0])
            for line in host.check_output("ps -eo nlwp,args").splitlines()
            if f"gunicorn: worker [{APP}@" in line
        ]
        assert max(threads) >= 3, threads
    if worker == "gevent":
        journal = host.check_output(f"journalctl --no-pager -u {UNIT}")
        assert "Using worker: gevent" in journal
        venv = host.file(f"/srv/{APP}/current").linked_to + "/venv"
        assert "gevent==" in venv_freeze(host, venv)


def test_tcp_bind_on_loopback_with_nginx_following(host, run_playbook):
    # With Gunicorn's access log off as well: Nginx's access log is then the only one.
    result = run_playbook({"flask_app_bind": "127.0.0.1:8001", "flask_app_access_log": False})
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    access_log = host.file(f"/var/log/{APP}/access.log")
    before = access_log.size
    assert get(host, "/?unlogged", "--fail").rc == 0
    assert access_log.size == before, "no Gunicorn access line"
    listening = host.check_output("ss -Hltnp 'sport = :8001'")
    assert "127.0.0.1:8001" in listening and "systemd" in listening
    assert not host.socket("tcp://0.0.0.0:8001").is_listening
    assert (
        "server 127.0.0.1:8001"
        in host.file(f"/etc/nginx/sites-available/{APP}.conf").content_string
    )
    assert get(host, "/healthz", "--fail").rc == 0
    assert not host.file(f"/run/{APP}.sock").exists
    assert not host.file(f"/run/{APP}@blue.sock").exists


def test_back_to_the_scenario_settings(host, run_playbook):
    result = run_playbook({})
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert host.socket(f"unix:///run/{APP}@blue.sock").is_listening
    assert host.check_output(f"readlink /run/{APP}.sock") == f"/srv/{APP}/live.sock"
    assert get(host, "/healthz", "--fail").rc == 0
