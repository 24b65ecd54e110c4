"""The acme scenario: certificates from Pebble through HTTP-01, renewal, and failures.

Pebble (Let's Encrypt's test CA) and its DNS run on the test host (prepare.yml). Tests that
need other settings re-run site.yml with extra variables (the ``run_playbook`` fixture,
molecule/conftest.py); they run in file order and the last one puts the scenario's settings
back.
"""

from __future__ import annotations

import json
import re
import shlex
import time

APP = "hello"
NAMES = ["hello.test", "www.hello.test"]
LISTENER_CA = "/etc/pebble-test/ca.pem"
ROOT = "/etc/pebble-test/issuing-root.pem"
LIVE = f"/etc/letsencrypt/live/{APP}"
LOAD = "/usr/local/bin/flask-app-load"
# What Nginx serves for a name on 127.0.0.1:443, checked against Pebble's issuing root.
SERVED = """
import json, socket, ssl, sys
context = ssl.create_default_context(cafile=sys.argv[2])
with socket.create_connection(("127.0.0.1", 443), 5) as sock:
    with context.wrap_socket(sock, server_hostname=sys.argv[1]) as tls:
        cert = tls.getpeercert()
print(json.dumps({"serial": cert["serialNumber"], "names": [v for _, v in cert["subjectAltName"]]}))
"""


def pebble_root(host) -> str:
    # Pebble makes a new root each time it starts: read the live one from its management API.
    host.check_output(
        f"curl --silent --fail --cacert {LISTENER_CA} -o {ROOT} https://localhost:15000/roots/0"
    )
    return ROOT


def served(host, name: str) -> dict:
    out = host.check_output(f"python3 -c {shlex.quote(SERVED)} {name} {pebble_root(host)}")
    return json.loads(out)


def issued(host) -> int:
    """How many certificates Pebble has issued since it started."""
    return len(re.findall(r"Issued certificate", host.check_output("journalctl -u pebble -o cat")))


def ca_request_times(host) -> list[float]:
    """When Pebble's ACME API answered each request since it started (epoch seconds)."""
    lines = host.check_output("journalctl -u pebble -o short-unix --no-hostname").splitlines()
    return [float(line.split()[0]) for line in lines if "-> calling handler" in line]


def test_the_idempotence_run_asked_the_ca_for_nothing(host):
    """First, before any test talks to Pebble: converge got the certificate, and Molecule's
    idempotence run (changed=0, seconds later) made no request to the CA at all."""
    issued_at = float(host.check_output(f"stat -L -c %Y {LIVE}/cert.pem"))
    times = ca_request_times(host)
    assert issued(host) == 1 and times, "converge got one certificate through Pebble"
    # certbot's last request downloads the certificate it then writes; a re-run that asked
    # the CA anything would show requests well after (the rest of converge runs 20 s or more).
    late = [round(t - issued_at, 1) for t in times if t > issued_at + 10]
    assert late == [], f"Pebble answered requests {late} s after the certificate was written"


def test_every_name_is_served_with_a_chain_from_pebbles_root(host):
    for name in NAMES:
        cert = served(host, name)
        assert sorted(cert["names"]) == sorted(NAMES), cert
        page = host.run(
            f"curl --silent --fail --cacert {ROOT} --resolve {name}:443:127.0.0.1 "
            f"https://{name}/healthz"
        )
        assert page.rc == 0 and '"status":"ok"' in page.stdout.replace(" ", ""), page.stderr
    # Plain HTTP redirects to HTTPS, except the challenge path certbot answers from its webroot.
    redirect = host.check_output(
        "curl --silent -o /dev/null -w '%{http_code} %{redirect_url}' "
        "-H 'Host: hello.test' http://127.0.0.1/notes"
    )
    assert redirect == "301 https://hello.test/notes"
    webroot = f"/srv/{APP}/acme/.well-known/acme-challenge"
    host.check_output(f"mkdir -p {webroot} && echo token-probe > {webroot}/probe")
    probe = host.check_output(
        "curl --silent --fail -H 'Host: www.hello.test' "
        "http://127.0.0.1/.well-known/acme-challenge/probe"
    )
    host.check_output(f"rm {webroot}/probe")
    assert probe == "token-probe"


def test_the_key_is_root_only_and_renewal_needs_no_ansible(host):
    key = host.file(f"{LIVE}/privkey.pem")
    assert key.exists and host.file(key.linked_to).mode & 0o077 == 0
    assert host.service("certbot.timer").is_enabled and host.service("certbot.timer").is_running
    renewal = host.file(f"/etc/letsencrypt/renewal/{APP}.conf").content_string
    assert "server = https://localhost:14000/dir" in renewal
    assert "authenticator = webroot" in renewal
    hook = host.file("/etc/letsencrypt/renewal-hooks/deploy/flask_app-reload-nginx")
    assert hook.exists and hook.mode & 0o111
    assert "nginx -t" in hook.content_string and "reload" in hook.content_string
    dropin = host.check_output("systemctl cat certbot.service")
    assert f"REQUESTS_CA_BUNDLE={LISTENER_CA}" in dropin


def test_renewal_reloads_nginx_and_serves_the_new_certificate_under_load(host):
    old = served(host, "hello.test")["serial"]
    nginx = host.check_output("systemctl show -P MainPID nginx")
    host.check_output(
        "rm -f /tmp/renew.stop /tmp/renew.json; "
        f"nohup python3 {LOAD} --host=hello.test --port=443 --cafile={ROOT} --path=/healthz "
        "--threads=4 --rate=100 --seconds=120 --stop-file=/tmp/renew.stop --out=/tmp/renew.json "
        ">/dev/null 2>&1 &"
    )
    time.sleep(2)
    started = time.monotonic()
    renew = host.run(
        f"REQUESTS_CA_BUNDLE={LISTENER_CA} certbot renew --cert-name {APP} "
        "--force-renewal --no-random-sleep-on-renew"
    )
    took = time.monotonic() - started
    time.sleep(2)
    host.check_output("touch /tmp/renew.stop")
    for _ in range(40):
        if host.file("/tmp/renew.json").exists:
            break
        time.sleep(0.5)
    load = json.loads(host.file("/tmp/renew.json").content_string)
    assert renew.rc == 0, renew.stdout + renew.stderr
    assert served(host, "hello.test")["serial"] != old, "the renewed certificate is served"
    assert host.check_output("systemctl show -P MainPID nginx") == nginx, "reloaded, not restarted"
    assert load["requests"] > 200 and load["errors"] == 0 and load["non_2xx"] == 0, load
    print(f"FIGURES renewal under load: certbot {took:.1f} s, load {load}")


def test_a_new_name_gets_a_certificate_covering_it(host, run_playbook):
    names = [*NAMES, "new.hello.test"]
    result = run_playbook({"flask_app_server_name": names})
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    for name in names:
        assert sorted(served(host, name)["names"]) == sorted(names)


def test_a_name_not_pointing_here_fails_and_leaves_the_site_serving(host, run_playbook):
    names = [*NAMES, "new.hello.test"]
    before = served(host, "hello.test")["serial"]
    issued_before = issued(host)
    result = run_playbook({"flask_app_server_name": [*names, "nowhere.hello.test"]})
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "nowhere.hello.test" in output and "flask_app_server_name" in output, output[-3000:]
    assert served(host, "hello.test")["serial"] == before, "the previous certificate still serves"
    assert issued(host) == issued_before
    assert host.run("nginx -t").rc == 0


def test_a_wrong_or_unreachable_directory_fails_clearly(host, run_playbook):
    before = served(host, "hello.test")["serial"]
    names = [*NAMES, "new.hello.test", "other.hello.test"]
    for directory in ("https://localhost:14000/no-such-directory", "https://localhost:14999/dir"):
        result = run_playbook(
            {"flask_app_server_name": names, "flask_app_acme_directory": directory}
        )
        output = result.stdout + result.stderr
        assert result.returncode != 0
        assert f"flask_app_acme_directory ({directory})" in output, output[-3000:]
        assert served(host, "hello.test")["serial"] == before


def test_back_to_the_scenario_settings(host, run_playbook):
    result = run_playbook({})
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    for name in NAMES:
        assert sorted(served(host, name)["names"]) == sorted(NAMES)


def test_removing_the_app_deletes_its_certificate(host, run_playbook):
    result = run_playbook({"flask_app_state": "absent"})
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert not host.file(LIVE).exists
    assert not host.file(f"/etc/letsencrypt/renewal/{APP}.conf").exists
    assert host.run("nginx -t").rc == 0
    # certbot's timed renewal has nothing left to fail on.
    assert "No certificates found" in host.check_output("certbot certificates 2>&1")
