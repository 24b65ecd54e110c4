"""Removal with ``flask_app_state: absent``, run as users run it (``ansible-playbook site.yml``).

Runs after test_1_side_by_side.py (file order) and in order: an app that never existed, alpha
(data kept), alpha again, then beta, the last app, with its data purged. Side_effect.yml already
removed alpha once under load on beta and installed it again.
"""

from __future__ import annotations

import json
import re

ALPHA_KEPT = ("/var/lib/alpha/instance/notes.sqlite3", "/var/log/alpha/access.log")
ALPHA_GONE = (
    "/srv/alpha",
    "/etc/alpha",
    "/etc/logrotate.d/alpha",
    "/usr/local/sbin/alpha-run",
    "/etc/systemd/system/alpha@.service",
    "/etc/systemd/system/alpha@.socket",
    "/etc/tmpfiles.d/flask_app-alpha.conf",
    "/run/alpha@blue.sock",
    "/run/alpha@green.sock",
    "/etc/nginx/sites-available/alpha.conf",
    "/etc/nginx/sites-enabled/alpha.conf",
    "/etc/nginx/flask_app/alpha",
    "/etc/ansible/facts.d/flask_app_alpha.fact",
    "/run/alpha.sock",
    # No other app serves HTTPS, so its default server went with alpha.
    "/etc/nginx/sites-enabled/000-default-server-443.conf",
)
ALPHA_LEDGER = "/var/lib/flask_app/alpha/ledger.jsonl"
NGINX_FILES = "find /etc/nginx -printf '%p %y %m %s %T@ %l\\n' | sort"


def absent(run_playbook, name: str, *, purge: bool = False):
    result = run_playbook(
        {"flask_app_name": name, "flask_app_state": "absent", "flask_app_purge_data": purge}
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    return int(re.search(r"changed=(\d+)", output).group(1))


def status(host, name: str) -> str:
    return host.run(
        "curl --silent --max-time 5 --output /dev/null --write-out '%{http_code}' "
        f"-H 'Host: {name}' http://127.0.0.1/"
    ).stdout


def test_removing_an_app_that_never_existed_changes_nothing(host, run_playbook):
    nginx_before = host.check_output(NGINX_FILES)
    assert absent(run_playbook, "ghost") == 0
    assert host.check_output(NGINX_FILES) == nginx_before
    assert not host.user("ghost").exists


def test_removing_alpha_keeps_its_data_and_leaves_beta_alone(host, run_playbook, live_unit):
    beta_unit = live_unit(host, "beta")
    beta_pid = host.check_output(f"systemctl show --property=MainPID --value {beta_unit}")
    assert absent(run_playbook, "alpha") > 0
    for path in ALPHA_GONE:
        assert not host.file(path).exists, path
    assert host.run("systemctl cat alpha@blue.service").rc != 0
    for path in ALPHA_KEPT:
        assert host.file(path).is_file, path
    assert host.user("alpha").exists, "kept with the data, so its files keep their owner"
    removal = json.loads(host.file(ALPHA_LEDGER).content_string.splitlines()[-1])
    assert (removal["action"], removal["outcome"]) == ("remove", "success"), removal
    assert (removal["release_before"], removal["release_after"]) == ("v3", None), removal
    assert host.file("/etc/nginx/sites-enabled/000-default-server-80.conf").exists
    assert host.check_output(f"systemctl show --property=MainPID --value {beta_unit}") == beta_pid
    assert status(host, "beta.test") == "200"
    assert status(host, "alpha.test") == "000", "alpha's name is unknown now: 444, no answer"
    assert host.run("nginx -t").rc == 0


def test_removing_alpha_again_changes_nothing(host, run_playbook):
    ledger = host.file(ALPHA_LEDGER).content_string
    assert absent(run_playbook, "alpha") == 0
    assert host.file(ALPHA_LEDGER).content_string == ledger, "nothing removed, nothing recorded"


def test_purging_the_last_app_leaves_a_working_nginx_and_nothing_of_the_app(host, run_playbook):
    assert absent(run_playbook, "beta", purge=True) > 0
    for path in (
        "/srv/beta",
        "/etc/beta",
        "/var/lib/beta",
        "/var/log/beta",
        "/var/log/nginx/beta.access.log",
        "/etc/nginx/sites-enabled/beta.conf",
        "/etc/systemd/system/beta@.service",
        "/etc/ansible/facts.d/flask_app_beta.fact",
        "/var/lib/flask_app/beta",
    ):
        assert not host.file(path).exists, path
    assert not host.user("beta").exists
    assert not host.group("beta").exists
    assert host.run("systemctl list-units --all --no-legend 'beta*'").stdout.strip() == ""
    # Nginx starts from scratch with what is left and refuses unknown names (444: no answer).
    assert host.run("systemctl restart nginx").rc == 0
    unknown = host.run("curl --silent --max-time 5 -H 'Host: unknown.test' http://127.0.0.1/")
    assert unknown.rc == 52, "an empty reply: the default server's 444"
    assert "Welcome to nginx" not in unknown.stdout


def test_purging_again_changes_nothing(run_playbook):
    assert absent(run_playbook, "beta", purge=True) == 0
