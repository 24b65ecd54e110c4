"""Nginx's capacity and the per-client limits: the numbers and directives the role writes."""

from __future__ import annotations

from role_code import load

nginx = load("filter_plugins/flask_app_nginx.py")


def test_each_worker_may_open_two_descriptors_per_connection_and_spares():
    assert nginx.nginx_capacity(4096) == {"worker_connections": 4096, "worker_rlimit_nofile": 8448}
    assert nginx.nginx_capacity("1024")["worker_rlimit_nofile"] == 2 * 1024 + 256


def test_no_limit_writes_nothing():
    assert nginx.nginx_limits("hello", 0, 0, 20) == {"http": [], "proxy": []}


def test_a_connection_limit_has_its_zone_and_answers_429():
    limits = nginx.nginx_limits("hello", 10, 0, 20)
    assert limits["http"] == ["limit_conn_zone $binary_remote_addr zone=flask_app_hello_conn:10m;"]
    assert limits["proxy"] == ["limit_conn flask_app_hello_conn 10;", "limit_conn_status 429;"]


def test_a_rate_limit_lets_a_burst_through_without_delay():
    limits = nginx.nginx_limits("hello", 0, 5, 40)
    assert limits["http"] == [
        "limit_req_zone $binary_remote_addr zone=flask_app_hello_req:10m rate=5r/s;"
    ]
    assert limits["proxy"] == [
        "limit_req zone=flask_app_hello_req burst=40 nodelay;",
        "limit_req_status 429;",
    ]


def test_apps_differing_in_dash_and_underscore_get_their_own_zones():
    dash = nginx.nginx_limits("my-app", 1, 1, 1)["http"]
    underscore = nginx.nginx_limits("my_app", 1, 1, 1)["http"]
    assert not set(dash) & set(underscore)
