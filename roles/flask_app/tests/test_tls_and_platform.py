"""One TLS source (filter_plugins/flask_app_tls.py) and the platform gate
(filter_plugins/flask_app_platform.py)."""

from __future__ import annotations

import pytest
from role_code import load

tls = load("filter_plugins/flask_app_tls.py")
platform = load("filter_plugins/flask_app_platform.py")


@pytest.mark.parametrize("source", ["none", "files", "self_signed", "acme"])
def test_flask_app_tls_names_the_source(source):
    certificate = "/etc/ssl/app.pem" if source == "files" else ""
    key = "/etc/ssl/app.key" if source == "files" else ""
    answer = tls.tls_source(source, certificate, False, False, key)
    assert answer == {"source": source, "deprecated": [], "conflict": ""}


@pytest.mark.parametrize(
    ("old", "source", "variable"),
    [
        ({"self_signed": True}, "self_signed", "flask_app_tls_self_signed"),
        ({"acme": True}, "acme", "flask_app_tls_acme"),
        (
            {"certificate": "/etc/ssl/app.pem", "key": "/etc/ssl/app.key"},
            "files",
            "flask_app_tls_certificate",
        ),
    ],
)
def test_the_old_variables_still_choose_their_source_with_a_deprecation(old, source, variable):
    answer = tls.tls_source("none", **old)
    assert answer["source"] == source and answer["conflict"] == ""
    [message] = answer["deprecated"]
    assert variable in message and "3.0.0" in message
    assert f"flask_app_tls: {source}" in message


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        ({"tls": "letsencrypt"}, "not one of none, files, self_signed, acme"),
        ({"self_signed": True, "acme": True}, "exclude each other"),
        ({"tls": "acme", "self_signed": True}, "flask_app_tls_self_signed is replaced"),
        ({"self_signed": True, "certificate": "/c"}, "exclude each other"),
        ({"tls": "self_signed", "certificate": "/c"}, "only for flask_app_tls=files"),
        ({"tls": "acme", "key": "/k"}, "only for flask_app_tls=files"),
        ({"key": "/k"}, "without flask_app_tls_certificate"),
    ],
)
def test_contradictions_are_named(arguments, fragment):
    answer = tls.tls_source(**arguments)
    assert fragment in answer["conflict"]
    assert answer["deprecated"] == []


def test_files_without_paths_is_not_a_conflict_here():
    """validate.yml's tls/files.yml names the missing paths instead."""
    assert tls.tls_source("files")["conflict"] == ""


SUPPORTED = {"Debian": ["12", "13"]}


def facts(distribution: str, version: str, family: str = "Debian") -> dict:
    return {
        "distribution": distribution,
        "distribution_version": version,
        "distribution_major_version": version.split(".")[0],
        "os_family": family,
    }


@pytest.mark.parametrize("version", ["12.7", "13.1"])
def test_supported_debian_goes_on_and_looks_for_its_vars_most_specific_first(version):
    answer = platform.platform_support(facts("Debian", version), SUPPORTED)
    major = version.split(".")[0]
    assert answer["supported"] and answer["proceed"]
    assert answer["vars_files"] == [f"Debian-{major}.yml", "Debian.yml"]


@pytest.mark.parametrize(
    "host", [facts("Ubuntu", "24.04"), facts("Debian", "11.9"), facts("Rocky", "9.4", "RedHat")]
)
def test_anything_else_stops_unless_the_user_allows_it(host):
    refused = platform.platform_support(host, SUPPORTED)
    assert not refused["supported"] and not refused["proceed"]
    assert (
        host["distribution"] in refused["found"]
        and host["distribution_version"] in refused["found"]
    )
    assert refused["expected"] == "Debian 12 and 13"
    allowed = platform.platform_support(host, SUPPORTED, True)
    assert not allowed["supported"] and allowed["proceed"]
    assert allowed["vars_files"][-1] == f"{host['os_family']}.yml"


def test_no_facts_stops_and_says_so():
    answer = platform.platform_support({}, SUPPORTED)
    assert not answer["proceed"]
    assert "no facts" in answer["found"]
    assert answer["vars_files"] == []
