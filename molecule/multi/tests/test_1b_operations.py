"""Day-2 operations on app alpha, run as operators run them (``ansible-playbook site.yml``,
``playbooks/releases.yml``): the release ledger, the deploy lock against a second run and
against a killed one, a failed deploy recorded as such.

Runs after test_1_side_by_side.py and before test_2_removal.py (file order), in order: the
ledger of what converge and side_effect.yml did first, then new deploys of alpha.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

PROJECT = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", Path(__file__).resolve().parents[3]))
ALPHA = yaml.safe_load((Path(__file__).resolve().parents[1] / "vars" / "alpha.yml").read_text())
LEDGER = "/var/lib/flask_app/alpha/ledger.jsonl"
LOCK = "/var/lib/flask_app/alpha/deploy.lock"
LOCKED = "alpha is locked on flask-app-multi-debian13 by another deploy: root@"


def ledger(host) -> list[dict]:
    return [json.loads(line) for line in host.file(LEDGER).content_string.splitlines()]


def live(host) -> str:
    return Path(host.file("/srv/alpha/current").linked_to).name


def recap_changed(output: str) -> int:
    return int(re.search(r"changed=(\d+)", output).group(1))


def flat(output: str) -> str:
    return re.sub(r"\s+", " ", output)


def test_the_ledger_has_one_line_per_deploy_rollback_and_removal(host):
    # converge; then side_effect.yml: deploy v2, reload (same release: no line), rollback to
    # v1, removal (data kept), install again.
    entries = ledger(host)
    assert [(e["action"], e["release_before"], e["release_after"]) for e in entries] == [
        ("deploy", None, "v1"),
        ("deploy", "v1", "v2"),
        ("rollback", "v2", "v1"),
        ("remove", "v1", None),
        ("deploy", None, "v1"),
    ]
    for entry in entries:
        assert entry["outcome"] == "success"
        assert re.fullmatch(r"root@\S+", entry["by"]), entry
        assert entry["duration_s"] >= 0
        # files/hello is part of this repository's git checkout.
        assert re.fullmatch(r"[0-9a-f]{40}(-dirty)?", entry.get("commit", "")), entry
    ledger_file = host.file(LEDGER)
    assert (ledger_file.user, ledger_file.group, ledger_file.mode) == ("root", "root", 0o600)
    assert not host.file(LOCK).exists, "every run released its lock"


def test_of_two_runs_started_together_exactly_one_proceeds(
    host, start_playbook, tmp_path, webhook_receiver
):
    started = time.monotonic()
    settings = {**ALPHA, "flask_app_version": "v3", "flask_app_webhook_url": webhook_receiver.url}
    runs = [start_playbook(settings, tmp_path) for _ in range(2)]

    # Each run's end when it ends (one thread each reads its output): waiting for one after the
    # other would time the second as it is collected.
    def wait(run) -> tuple[int, float, str]:
        output, _ = run.communicate(timeout=900)
        return run.returncode, time.monotonic() - started, output

    with ThreadPoolExecutor(max_workers=2) as pool:
        finished = list(pool.map(wait, runs))
    winners = [f for f in finished if f[0] == 0]
    losers = [f for f in finished if f[0] != 0]
    assert len(winners) == 1 and len(losers) == 1, [f[2][-3000:] for f in finished]
    (_, won_after, _), (_, lost_after, lost_output) = winners[0], losers[0]
    print(
        f"FIGURES deploy lock: the refused run ended after {lost_after:.1f} s, "
        f"the deploy after {won_after:.1f} s"
    )
    assert LOCKED in flat(lost_output), lost_output[-3000:]
    assert "site.yml" in flat(lost_output) and "Nothing was changed" in flat(lost_output)
    assert recap_changed(lost_output) == 0, lost_output[-2000:]
    assert lost_after < won_after
    assert live(host) == "v3"
    assert ledger(host)[-1]["release_after"] == "v3"
    assert not host.file(LOCK).exists
    # The webhook heard the deploy's start and end; the refused run, which changed nothing,
    # told it nothing.
    events = webhook_receiver.events
    assert [e["event"] for e in events] == ["deploy_started", "deploy_succeeded"], events
    for event in events:
        assert (event["app"], event["release"]) == ("alpha", "v3"), event
        assert event["hosts"] == ["flask-app-multi-debian13"] and event["by"].startswith("root@")
        assert "secret" not in json.dumps(event).lower(), event
    assert "hook-secret-9" not in flat(finished[0][2] + finished[1][2])


def wait_for(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_a_killed_runs_lock_is_stale_and_broken_only_when_asked(
    host, run_playbook, start_playbook, tmp_path
):
    crashed = start_playbook({**ALPHA, "flask_app_version": "v4"}, tmp_path)
    taken = wait_for(lambda: host.file(LOCK).exists, 300)
    os.killpg(crashed.pid, signal.SIGKILL)
    crashed.communicate(timeout=60)
    assert taken, "the run took the lock"
    holder = json.loads(host.file(LOCK).content_string)
    assert holder["pid"] == crashed.pid

    refused = run_playbook({**ALPHA, "flask_app_version": "v4"})
    output = refused.stdout + refused.stderr
    assert refused.returncode != 0, output[-3000:]
    assert LOCKED in flat(output), output[-3000:]
    assert f"(pid {crashed.pid}) is no longer running on this controller" in flat(output)
    assert "-e flask_app_lock_break=true" in flat(output)
    assert recap_changed(output) == 0, output[-2000:]

    # With the webhook's receiver down: the deploy goes through with a warning.
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{free.getsockname()[1]}/deploys?token=hook-secret-9"
    broken = run_playbook(
        {
            **ALPHA,
            "flask_app_version": "v4",
            "flask_app_lock_break": True,
            "flask_app_webhook_url": down,
        }
    )
    output = broken.stdout + broken.stderr
    assert broken.returncode == 0, output[-3000:]
    assert "broke the stale deploy lock of alpha held by root@" in flat(output)
    for event in ("deploy_started", "deploy_succeeded"):
        assert f"flask_app_webhook_url did not take the {event} event of alpha" in flat(output)
    assert "hook-secret-9" not in output
    assert live(host) == "v4"
    assert not host.file(LOCK).exists


# Maintenance of alpha: entered here, kept through the failed deploy below (a site.yml run
# without flask_app_maintenance), left after it.
MAINTENANCE: dict[str, str] = {}
SITE = "/etc/nginx/sites-available/alpha.conf"
PAGE_TEXT = "Alpha is being upgraded: back at 14:00 UTC"


def https(host, path: str, *, source: str = "127.0.0.1", method: str = "GET"):
    """Status, headers and body of a request to https://alpha.test from ``source``."""
    result = host.run(
        f"curl --silent --insecure --max-time 10 --request {method} --dump-header - "
        f"--interface {source} --resolve alpha.test:443:{source} https://alpha.test{path}"
    )
    head, _, body = result.stdout.replace("\r\n", "\n").partition("\n\n")
    status = int(head.split()[1]) if head else 0
    return status, head.lower(), body


def nginx_state(host, app: str = "alpha") -> dict[str, str]:
    unit = host.check_output(f"readlink /srv/{app}/live.sock").rsplit("/", 1)[-1]
    unit = unit.removesuffix(".sock") + ".service"
    return {
        "site": host.check_output(f"sha256sum {SITE}"),
        "config": host.check_output("nginx -T 2>/dev/null | sha256sum"),
        "gunicorn": host.check_output(f"systemctl show --property=MainPID --value {unit}"),
        "nginx": host.check_output("systemctl show --property=MainPID --value nginx"),
    }


def test_maintenance_holds_clients_back_with_503_and_lets_the_allowed_ones_through(
    host, run_playbook, tmp_path
):
    MAINTENANCE.update(nginx_state(host))
    page = tmp_path / "maintenance.html"
    page.write_text(f"<!doctype html><title>Maintenance</title><p>{PAGE_TEXT}</p>\n")
    settings = {
        "flask_app_name": "alpha",
        "flask_app_maintenance": True,
        "flask_app_maintenance_allow": ["127.0.0.2"],
        "flask_app_maintenance_page": str(page),
        "flask_app_maintenance_retry_after": 120,
    }
    entered = run_playbook(settings, playbook="playbooks/maintenance.yml")
    output = entered.stdout + entered.stderr
    assert entered.returncode == 0, output[-3000:]
    assert recap_changed(output) > 0

    status, headers, body = https(host, "/")
    assert status == 503 and "retry-after: 120" in headers, headers
    assert PAGE_TEXT in body and "x-frame-options: sameorigin" in headers
    assert "strict-transport-security" in headers, "the page keeps the site's headers"
    assert https(host, "/notes", method="POST")[0] == 503
    # The health path answers from Nginx: a load balancer keeps the host in.
    status, _, body = https(host, "/healthz")
    assert (status, body.strip()) == (200, "maintenance")
    # An allowed client reaches the app; the other app on the host is not in maintenance.
    status, _, body = https(host, "/", source="127.0.0.2")
    assert status == 200 and "Hello from app alpha" in body, body[:300]
    beta = host.run("curl -s -o /dev/null -w '%{http_code}' -H 'Host: beta.test' http://127.0.0.1/")
    assert beta.stdout == "200"

    state = nginx_state(host)
    assert state["site"] == MAINTENANCE["site"], "the server block itself never changes"
    assert state["gunicorn"] == MAINTENANCE["gunicorn"], "no Gunicorn restart"
    assert state["nginx"] == MAINTENANCE["nginx"], "Nginx reloaded, not restarted"
    entry = ledger(host)[-1]
    assert (entry["action"], entry["message"]) == ("maintenance", "on"), entry

    again = run_playbook(settings, playbook="playbooks/maintenance.yml")
    assert again.returncode == 0 and recap_changed(again.stdout) == 0, again.stdout[-2000:]


def test_a_failed_deploy_is_recorded_with_its_message_and_the_release_kept_live(
    host, run_playbook, webhook_receiver
):
    before = len(ledger(host))
    heard = len(webhook_receiver.events)
    failed = run_playbook(
        {
            **ALPHA,
            "flask_app_version": "v5",
            "flask_app_health_path": "/no-such-page",
            "flask_app_webhook_url": webhook_receiver.url,
        }
    )
    output = failed.stdout + failed.stderr
    assert failed.returncode != 0, output[-3000:]
    assert live(host) == "v4"
    entries = ledger(host)
    assert len(entries) == before + 1
    entry = entries[-1]
    assert (entry["action"], entry["outcome"]) == ("deploy", "failed"), entry
    assert (entry["release_before"], entry["release_after"]) == ("v4", "v4"), entry
    assert "/no-such-page" in entry["message"], entry
    assert not host.file(LOCK).exists, "a failed run releases its lock"
    events = webhook_receiver.events[heard:]
    assert [e["event"] for e in events] == ["deploy_started", "deploy_failed"], events
    assert events[1]["release"] == "v5" and "/no-such-page" in events[1]["message"], events[1]
    assert events[1]["message"].startswith("flask-app-multi-debian13: ")


def test_a_deploy_keeps_maintenance_and_leaving_it_restores_the_configuration(host, run_playbook):
    # The failed deploy above ran site.yml without flask_app_maintenance.
    assert https(host, "/")[0] == 503, "a deploy does not end maintenance by itself"
    left = run_playbook(
        {"flask_app_name": "alpha", "flask_app_maintenance": False},
        playbook="playbooks/maintenance.yml",
    )
    assert left.returncode == 0, (left.stdout + left.stderr)[-3000:]
    status, headers, _ = https(host, "/")
    assert status == 200 and "retry-after" not in headers, headers
    assert https(host, "/healthz")[2].strip() != "maintenance"
    # Byte for byte the configuration Nginx ran before, with no Gunicorn restart throughout.
    assert nginx_state(host) == MAINTENANCE
    entry = ledger(host)[-1]
    assert (entry["action"], entry["message"]) == ("maintenance", "off"), entry


def test_a_rollback_tells_the_webhook(host, run_playbook, webhook_receiver):
    heard = len(webhook_receiver.events)
    result = run_playbook(
        {**ALPHA, "flask_app_webhook_url": webhook_receiver.url}, playbook="playbooks/rollback.yml"
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert live(host) == "v3"
    events = webhook_receiver.events[heard:]
    assert [(e["event"], e["release"]) for e in events] == [("rollback_succeeded", "v3")], events


@pytest.mark.parametrize("shown", [3])
def test_releases_playbook_shows_the_live_release_what_is_kept_and_the_ledger(
    host, run_playbook, shown
):
    result = run_playbook(
        {"flask_app_name": "alpha", "flask_app_releases_shown": shown},
        playbook="playbooks/releases.yml",
    )
    # The listing's line breaks, as the YAML callback prints them or as JSON escapes (the
    # callback format Molecule's configuration gives).
    output = (result.stdout + result.stderr).replace("\\n", "\n")
    assert result.returncode == 0, output[-3000:]
    assert recap_changed(output) == 0
    # The releases a rollback can go to, newest first, as rollback.yml orders them.
    complete = [
        Path(path).parent.name
        for path in host.check_output("ls -t /srv/alpha/releases/*/.flask_app_release.json").split()
    ]
    row = re.search(r"^\s*flask-app-multi-debian13 +(\S+) +(.*)$", output, re.MULTILINE)
    assert row, output[-3000:]
    assert row.group(1) == live(host) == "v3"
    assert row.group(2).strip().split(", ") == complete
    assert f"flask-app-multi-debian13: the last {shown} ledger entries of alpha" in output
    rows = re.findall(r"^\s+\S+Z +(\w+) +(\w+) +(\S+ -> \S+)", output, re.MULTILINE)
    assert rows == [
        (e["action"], e["outcome"], f"{e['release_before'] or '-'} -> {e['release_after'] or '-'}")
        for e in ledger(host)[-shown:]
    ]
