"""files/build_wheelhouse.py's target tags: what pip is asked for decides what hosts can install."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import pytest

SPEC = importlib.util.spec_from_file_location(
    "build_wheelhouse", Path(__file__).resolve().parents[1] / "files" / "build_wheelhouse.py"
)
assert SPEC and SPEC.loader
build_wheelhouse = importlib.util.module_from_spec(SPEC)
sys.modules["build_wheelhouse"] = build_wheelhouse
SPEC.loader.exec_module(build_wheelhouse)
Target = build_wheelhouse.Target


def test_a_target_accepts_every_older_manylinux_tag_pip_would_not_infer():
    platforms = Target.parse("3.11:2.36:x86_64").platforms()
    assert platforms[0] == "manylinux_2_36_x86_64"
    assert platforms[-1] == "manylinux1_x86_64"
    # setproctitle 1.3.8 ships manylinux1/2_5/2_28 wheels, markupsafe manylinux2014/2_17.
    for tag in [
        "manylinux_2_28_x86_64",
        "manylinux_2_17_x86_64",
        "manylinux2014_x86_64",
        "manylinux_2_5_x86_64",
    ]:
        assert tag in platforms
    assert not [tag for tag in platforms if tag.startswith("manylinux_2_37")]


def test_pip_is_asked_for_the_hosts_python_and_abi():
    args = Target.parse("3.13:2.41:aarch64").pip_download_args()
    assert args[:7] == [
        "--only-binary=:all:",
        "--python-version",
        "3.13",
        "--implementation",
        "cp",
        "--abi",
        "cp313",
    ]
    assert "manylinux_2_41_aarch64" in args and "manylinux2014_aarch64" in args


def test_the_wheelhouse_name_says_what_it_fits():
    assert Target.parse("3.13:2.41:x86_64").name == "cp313-glibc2.41-x86_64"


def test_a_malformed_target_is_refused():
    with pytest.raises(argparse.ArgumentTypeError, match="PYTHON:GLIBC:MACHINE"):
        Target.parse("3.11-x86_64")
