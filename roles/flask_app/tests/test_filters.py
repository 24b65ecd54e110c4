"""The role's filter plugin."""

from __future__ import annotations

from role_code import load

filters = load("filter_plugins/flask_app.py")


def test_the_filters_are_registered_under_the_role_prefix():
    names = filters.FilterModule().filters()
    assert names["flask_app_switch_plan"] is filters.switch_plan
    assert names["flask_app_collisions"] is filters.collisions


ALPHA = {
    "name": "alpha",
    "server_names": ["alpha.test", "www.alpha.test"],
    "ports": [80, 443],
    "socket": "/run/alpha.sock",
    "bind": "",
}


def test_apps_with_their_own_names_and_sockets_do_not_collide():
    beta = {
        "name": "beta",
        "server_names": ["beta.test"],
        "ports": [80],
        "socket": "/run/beta.sock",
    }
    assert filters.collisions(beta, [ALPHA]) == []


def test_a_server_name_on_a_shared_port_collides_without_case():
    beta = {"name": "beta", "server_names": ["WWW.Alpha.test"], "ports": [80], "socket": "/b"}
    assert filters.collisions(beta, [ALPHA]) == [
        "flask_app_server_name 'WWW.Alpha.test' on port 80 is already served by app 'alpha'"
    ]


def test_the_same_name_on_other_ports_is_allowed():
    beta = {"name": "beta", "server_names": ["alpha.test"], "ports": [8080], "socket": "/b"}
    assert filters.collisions(beta, [ALPHA]) == []


def test_socket_and_bind_collide():
    beta = {"name": "beta", "server_names": ["b"], "ports": [80], "socket": "/run/alpha.sock"}
    gamma = {"name": "gamma", "server_names": ["g"], "ports": [81], "socket": "", "bind": "[::1]:8"}
    delta = {"name": "delta", "server_names": ["d"], "ports": [82], "socket": "", "bind": "[::1]:8"}
    assert filters.collisions(beta, [ALPHA]) == [
        "flask_app_socket_path '/run/alpha.sock' is already app 'alpha''s"
    ]
    assert filters.collisions(delta, [ALPHA, gamma]) == [
        "flask_app_bind '[::1]:8' is already app 'gamma''s"
    ]


def test_an_app_never_collides_with_its_own_record():
    assert filters.collisions(ALPHA, [ALPHA]) == []


def test_claims_are_the_flask_app_local_facts_only():
    local = {
        "flask_app_b": {"name": "b", "ports": [80]},
        "other": {"name": "x"},
        "flask_app_broken": "not a claim",
        "flask_app_a": {"name": "a", "ports": [80, 443]},
    }
    assert [c["name"] for c in filters.claims(local)] == ["a", "b"]
    assert filters.claims(None) == [] and filters.claims({}) == []


def test_default_server_files_per_port_and_directory():
    assert filters.default_server_files([80, 443], "/en", "/av") == [
        "/en/000-default-server-80.conf",
        "/en/000-default-server-443.conf",
        "/av/000-default-server-80.conf",
        "/av/000-default-server-443.conf",
    ]
    assert filters.default_server_files([], "/en") == []


def test_the_input_fingerprint_follows_every_input_and_ignores_the_role_s_own_facts():
    given = {"flask_app_name": "hello", "flask_app_workers": 3, "flask_app_env": {"A": "1"}}
    same = filters.input_fingerprint(dict(reversed(list(given.items()))))
    assert filters.input_fingerprint(given) == same, "order does not matter"
    assert filters.input_fingerprint({**given, "flask_app_switch_pending": True}) == same
    assert filters.input_fingerprint({**given, "flask_app_workers": 4}) != same
    assert filters.input_fingerprint({**given, "flask_app_env": {"A": "2"}}) != same
    assert filters.input_fingerprint({**given, "flask_app_extra": ""}) != same, "a new variable"
    assert "hello" not in same and len(same) == 64


def test_addresses_are_ips_or_networks():
    good = ["10.0.0.5", "10.0.0.0/24", "fd00::/8", "::1"]
    assert filters.bad_addresses(good) == []
    bad = ["db.internal", "10.0.0.300", "10.0.0.0/33", "10.0.0.1 10.0.0.2", 42]
    assert filters.bad_addresses([*good, *bad]) == bad
