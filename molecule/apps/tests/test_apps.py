"""Apps as people write them, on a minimal Debian host, after converge and side_effect.

side_effect.yml wrote data through release 1 and release 2 of each app, then rolled each back
to release 1; these tests check the host that is left, through Nginx and on disk.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess

import pytest

IMAGE = "flask-app-test/debian-systemd:12"
APPS = {
    # name: (Host header, data URL, data key, instance folder inside the release)
    "plain": ("plain.test", "/guests", "guests", "app/instance"),
    "guestbook": ("guestbook.test", "/entries", "entries", "venv/var/guestbook-instance"),
}
WRITTEN = ["written by release 1", "written by release 2"]
INSTANCE_SECRET = "guestbook-instance-secret-93be"


def curl(host, path: str, host_header: str):
    return host.run(
        f"curl --silent --show-error --max-time 10 -w '\\n%{{http_code}}' "
        f"-H 'Host: {host_header}' http://127.0.0.1{path}"
    )


def body_and_status(host, path: str, host_header: str) -> tuple[str, int]:
    result = curl(host, path, host_header)
    assert result.rc == 0, result.stderr
    body, _, status = result.stdout.rpartition("\n")
    return body, int(status)


@pytest.mark.parametrize(
    "package", ["dbus", "procps", "python3-apt", "python3-venv", "nginx", "sudo", "curl"]
)
def test_the_image_is_a_minimal_host(package):
    """What the role relies on is not in the image, so the role must have installed it."""
    query = ["dpkg-query", "--show", "--showformat=${db:Status-Status}", package]
    probe = subprocess.run(
        ["docker", "run", "--rm", "--entrypoint", *query[:1], IMAGE, *query[1:]],
        capture_output=True,
        text=True,
        check=False,
    )
    assert probe.stdout != "installed", f"{package} is in {IMAGE}"


@pytest.mark.parametrize("package", ["dbus", "procps", "ca-certificates", "python3-apt"])
def test_the_role_installed_what_it_runs(host, package):
    assert host.package(package).is_installed


@pytest.mark.parametrize("app", APPS)
def test_the_service_reloads(host, app, live_unit):
    """ExecReload runs /bin/kill: a reload works on the host as the role left it."""
    unit = live_unit(host, app)
    pid = host.check_output(f"systemctl show --property=MainPID --value {unit}")
    assert host.run(f"systemctl reload {unit}").rc == 0
    assert host.check_output(f"systemctl show --property=MainPID --value {unit}") == pid


def test_the_system_bus_runs_for_systemd_run(host):
    assert host.service("dbus.socket").is_running
    assert host.run("systemd-run --quiet --wait --pipe --collect /bin/true").rc == 0


@pytest.mark.parametrize("app", APPS)
def test_page_served_through_nginx(host, app):
    body, status = body_and_status(host, "/", APPS[app][0])
    assert status == 200
    assert "<h1>" in body


def test_plain_directory_page_after_rollback_is_release_1(host):
    body, _ = body_and_status(host, "/", "plain.test")
    assert "Hello from a plain directory of modules" in body
    assert "changed plain directory" not in body


def test_packaged_app_reads_its_instance_config(host):
    body, _ = body_and_status(host, "/", "guestbook.test")
    assert "The apps scenario&#39;s guestbook" in body, "TITLE from the instance config.py"
    assert "first edition" in body, "release 1 again after the rollback"


@pytest.mark.parametrize("app", APPS)
def test_data_survived_redeploy_and_rollback(host, app):
    host_header, path, key, _ = APPS[app]
    body, status = body_and_status(host, path, host_header)
    assert status == 200
    assert json.loads(body)[key] == WRITTEN


@pytest.mark.parametrize("app", APPS)
def test_instance_folder_is_the_persistent_one_in_every_release(host, app):
    instance_rel = APPS[app][3]
    releases = host.file(f"/srv/{app}/releases").listdir()
    assert len(releases) == 2, "release 1 and release 2 of the side effect"
    for release in releases:
        link = host.file(f"/srv/{app}/releases/{release}/{instance_rel}")
        assert link.is_symlink and link.linked_to == f"/var/lib/{app}/instance", release
        marker = json.loads(
            host.file(f"/srv/{app}/releases/{release}/.flask_app_release.json").content_string
        )
        assert marker["instance_path"] == f"/srv/{app}/releases/{release}/{instance_rel}"
    folder = host.file(f"/var/lib/{app}/instance")
    assert folder.is_directory
    assert (folder.user, folder.group, folder.mode) == (app, app, 0o750)


def test_packaged_app_database_made_by_the_deploy_command(host):
    db = host.file("/var/lib/guestbook/instance/guestbook.sqlite")
    assert db.is_file
    assert db.user == "guestbook"
    assert db.mode & 0o007 == 0, "the deploy command runs with the service's UMask"


def test_instance_config_is_secret(host):
    config = host.file("/var/lib/guestbook/instance/config.py")
    assert (config.user, config.group, config.mode) == ("root", "guestbook", 0o640)
    assert INSTANCE_SECRET in config.content_string
    leaks = host.run(
        f"grep -rl {INSTANCE_SECRET} /srv /var/log /etc/nginx /etc/systemd /etc/guestbook"
    )
    assert leaks.stdout == "", leaks.stdout
    assert INSTANCE_SECRET not in host.run("journalctl --no-pager").stdout


def test_plain_directory_runs_from_its_own_directory(host, live_unit):
    """Gunicorn starts in the app's directory, which puts it first on the import path."""
    unit = live_unit(host, "plain")
    workdir = host.check_output(f"systemctl show --property=WorkingDirectory --value {unit}")
    slot = unit.removeprefix("plain@").removesuffix(".service")
    assert workdir == f"/srv/plain/slots/{slot}/app"
    assert host.file(f"{workdir}/manage.py").is_file


def test_plain_directory_lock_with_hashes_is_exactly_installed(host, venv_freeze):
    freeze = venv_freeze(host, "/srv/plain/current/venv").lower().splitlines()
    pinned = [
        line.split()[0].lower()
        for line in host.file("/srv/plain/current/app/requirements.txt").content_string.splitlines()
        if "==" in line
    ]
    assert pinned and set(pinned) <= set(freeze)
    assert "gunicorn==27.0.1" in freeze
    marker = json.loads(host.file("/srv/plain/current/.flask_app_release.json").content_string)
    assert (marker["layout"], marker["lock"]) == ("plain directory", "requirements.txt")


def test_packaged_app_installed_with_its_lock(host, venv_freeze):
    freeze = venv_freeze(host, "/srv/guestbook/current/venv").lower()
    assert "werkzeug==3.1.9" in freeze and "click==8.5.1" in freeze
    assert "guestbook @ file://" in freeze or "guestbook==1.0.0" in freeze


@pytest.mark.parametrize("app", APPS)
def test_no_health_route_yet_live(host, app, live_unit):
    """The default health check took the app's 404 on /healthz as an answer."""
    _, status = body_and_status(host, "/healthz", APPS[app][0])
    assert status == 404
    assert host.service(live_unit(host, app)).is_running


# The tasks app (vars/tasks.yml): after side_effect.yml's deploy, failed deploy and rollback,
# release 1 is live again with its worker and timer.
TASK_UNITS = ["tasks-worker@1.service", "tasks-tick.service", "tasks-tick.timer"]


def tasks_live(host) -> str:
    return json.loads(body_and_status(host, "/", "tasks.test")[0])["release"]


@pytest.mark.parametrize("unit", ["tasks-worker@1.service", "tasks-tick.service"])
def test_process_and_job_sandbox_exposure_is_at_most_1_5(host, unit):
    out = host.check_output(f"systemd-analyze security --no-pager {unit}")
    score = float(re.search(r"Overall exposure level for \S+: ([0-9.]+)", out).group(1))
    print(f"FIGURES systemd-analyze security {unit}: {score}")
    assert score <= 1.5, out


def test_worker_runs_the_live_release_and_starts_at_boot(host):
    worker = host.service("tasks-worker@1.service")
    assert worker.is_running and worker.is_enabled
    assert host.file("/run/tasks-worker@1/release").content_string.strip() == tasks_live(host)
    assert host.service("tasks-tick.timer").is_enabled
    assert host.service("tasks-tick.timer").is_running
    assert host.run("systemctl --failed --no-legend --plain").stdout.strip() == ""


def test_timer_runs_never_overlap_and_each_stays_on_one_release(host):
    ticks = [
        json.loads(line) for line in host.check_output("redis-cli lrange ticks 0 -1").splitlines()
    ]
    assert len(ticks) >= 3, ticks
    ticks.sort(key=lambda run: run["started"])
    for earlier, later in itertools.pairwise(ticks):
        assert later["started"] >= earlier["ended"], (earlier, later)
    for run in ticks:
        assert run["release_at_start"] == run["release_at_end"], run
    releases = {run["release_at_start"] for run in ticks}
    assert len(releases) >= 2, "runs before and after the deploy"
    print(f"FIGURES tasks-tick: {len(ticks)} runs on {len(releases)} releases, none overlapping")


def test_dotenv_of_the_source_is_not_read(host):
    """.flaskenv ships FLASK_DEBUG=1; flask commands (the timer's) run with the role's env only."""
    assert host.file("/srv/tasks/current/app/.flaskenv").contains("FLASK_DEBUG=1")
    ticks = [
        json.loads(line) for line in host.check_output("redis-cli lrange ticks 0 -1").splitlines()
    ]
    assert ticks and not any(run["debug"] for run in ticks)


def test_build_step_output_is_in_the_sealed_release(host):
    live = tasks_live(host)
    css = host.file(f"/srv/tasks/releases/{live}/app/static/app.css")
    assert css.is_file and css.contains(f"built for {live}")
    assert (css.user, css.group, css.mode) == ("root", "root", 0o644)
    body, status = body_and_status(host, "/static/app.css", "tasks.test")
    assert status == 200 and f"built for {live}" in body
    assert host.file(f"/srv/tasks/releases/{live}/app/__pycache__").is_directory, "compileall"
    owned = host.check_output("find /srv/tasks -user flask-app-build -o -group flask-app-build")
    assert owned == ""
    cannot = host.run(
        f"setpriv --reuid=tasks --regid=tasks --clear-groups touch /srv/tasks/releases/{live}/app/x"
    )
    assert cannot.rc != 0


def test_logs_next_to_the_code_are_shared_and_writable(host):
    live = tasks_live(host)
    link = host.file(f"/srv/tasks/releases/{live}/app/logs")
    assert link.is_symlink and link.linked_to == "/var/lib/tasks/app/logs"
    log = host.file("/var/lib/tasks/app/logs/app.log")
    assert log.user == "tasks" and log.contains("enqueued running")


def test_processes_log_to_the_journal_and_their_file(host):
    assert host.file("/var/log/tasks/worker.log").contains("Job OK")
    journal = host.check_output("journalctl --no-pager -u tasks-worker@1.service -o cat")
    assert "Job OK" in journal or "default: Job OK" in journal
    rotation = host.file("/etc/logrotate.d/tasks").content_string
    assert "/var/log/tasks/worker.log /var/log/tasks/tick.log {" in rotation
    assert host.run("logrotate --debug /etc/logrotate.d/tasks").rc == 0


def test_the_run_command_runs_as_the_service_in_the_live_release(host):
    live = tasks_live(host)
    secret = re.search(
        r'^SECRET_KEY="(.+)"$', host.file("/etc/tasks/secret.env").content_string, re.MULTILINE
    ).group(1)
    shown = host.check_output("tasks-run sh -c 'id -un; pwd; echo \"$SECRET_KEY $REDIS_URL\"'")
    assert shown.splitlines() == [
        "tasks",
        f"/srv/tasks/releases/{live}/app",
        f"{secret} redis://127.0.0.1:6379/0",
    ]
    assert host.check_output("tasks-run python -c 'import sys; print(sys.prefix)'") == (
        f"/srv/tasks/releases/{live}/venv"
    )
    assert host.run("tasks-run flask --app app --help").rc == 0
    # The sandbox of the units: the release and /usr are read-only, the app's data is not.
    for path in (f"/srv/tasks/releases/{live}/app/x", "/usr/local/x", "/etc/tasks/x"):
        denied = host.run(f"tasks-run touch {path}")
        assert denied.rc != 0 and "Read-only file system" in denied.stderr, path
    assert host.run("tasks-run touch /var/lib/tasks/run-test && rm /var/lib/tasks/run-test").rc == 0
    assert host.file("/usr/local/sbin/tasks-run").mode == 0o750
    # With a terminal it is interactive: the command gets one (script(1) provides it).
    terminal = host.run("script -qec 'tasks-run tty' /dev/null")
    assert terminal.rc == 0 and re.search(r"/dev/pts/\d+", terminal.stdout), terminal.stdout
    usage = host.run("tasks-run")
    assert usage.rc == 2 and "usage:" in usage.stderr


def test_the_command_playbook_shows_each_hosts_output_and_exit_status(host, run_playbook):
    live = tasks_live(host)
    ok = run_playbook(
        {"flask_app_name": "tasks", "flask_app_command": 'echo "on $FLASK_APP_RELEASE"'},
        playbook="playbooks/command.yml",
    )
    assert ok.returncode == 0, ok.stdout[-3000:]
    # Line breaks as the YAML callback prints them or as JSON escapes (Molecule's format).
    shown = ok.stdout.replace("\\n", "\n")
    assert re.search(rf"exit 0\s+--- stdout\s+on {live}", shown), ok.stdout[-3000:]
    failed = run_playbook(
        {"flask_app_name": "tasks", "flask_app_command": "echo bad input >&2; exit 3"},
        playbook="playbooks/command.yml",
    )
    assert failed.returncode != 0
    # The failure's own message is Ansible's error, on stderr.
    message = re.sub(r"\s+", " ", (failed.stdout + failed.stderr).replace("\\n", "\n"))
    assert "exit 3 --- stderr bad input" in message, failed.stdout[-3000:]
    assert "exited 3 on flask-app-apps-debian12 in the live release of tasks" in message
    empty = run_playbook({"flask_app_name": "tasks"}, playbook="playbooks/command.yml")
    assert empty.returncode != 0 and "flask_app_command names the command" in re.sub(
        r"\s+", " ", empty.stdout + empty.stderr
    ), (empty.stdout + empty.stderr)[-2000:]


def test_removal_takes_the_processes_and_timers(host, run_playbook):
    result = run_playbook({"flask_app_name": "tasks", "flask_app_state": "absent"})
    assert result.returncode == 0, result.stdout[-3000:]
    for unit in TASK_UNITS:
        assert not host.service(unit).is_running, unit
    leftover = host.run("ls /etc/systemd/system | grep '^tasks'")
    assert leftover.stdout == "", leftover.stdout
    again = run_playbook({"flask_app_name": "tasks", "flask_app_state": "absent"})
    assert again.returncode == 0 and "changed=0" in again.stdout, again.stdout[-2000:]
