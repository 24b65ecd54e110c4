"""files/build_wheelhouse.py's target tags: what pip is asked for decides what hosts can install."""

from __future__ import annotations

import argparse
import importlib.util
import sys
import zipfile
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


def fake_wheel(directory: Path, name: str, version: str, *requires: str) -> None:
    """A wheel holding only its METADATA: what missing_requirements reads."""
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    lines += [f"Requires-Dist: {requirement}" for requirement in requires]
    with zipfile.ZipFile(directory / f"{name}-{version}-py3-none-any.whl", "w") as archive:
        archive.writestr(f"{name}-{version}.dist-info/METADATA", "\n".join(lines) + "\n")


def test_a_target_keeps_the_full_python_version_for_the_markers():
    target = Target.parse("3.11.2:2.36:x86_64")
    assert target.name == "cp311-glibc2.36-x86_64" and target.python == "3.11"
    assert target.pip_download_args()[2] == "3.11"
    merged = target.merged(Target.parse("3.11.4:2.36:x86_64"))
    assert merged.full_versions == ("3.11.2", "3.11.4") and merged == target
    with pytest.raises(argparse.ArgumentTypeError):
        Target.parse("3.11.x:2.36:x86_64")


def test_requirements_are_judged_by_the_hosts_python_not_the_controllers(tmp_path: Path):
    # redis 6.4.0 on Debian 12's Python 3.11.2 needs async-timeout; a controller on 3.11.7
    # (pip judges markers by its own Python) would leave it out.
    fake_wheel(
        tmp_path,
        "redis",
        "6.4.0",
        'async-timeout>=4.0.3; python_full_version < "3.11.3"',
        'hiredis>=3.2.0; extra == "hiredis"',
        'pywin32; sys_platform == "win32"',
    )
    assert build_wheelhouse.missing_requirements(tmp_path, Target.parse("3.11.2:2.36:x86_64")) == [
        "async-timeout>=4.0.3"
    ]
    assert build_wheelhouse.missing_requirements(tmp_path, Target.parse("3.13.5:2.41:x86_64")) == []
    fake_wheel(tmp_path, "async_timeout", "4.0.2")
    assert build_wheelhouse.missing_requirements(tmp_path, Target.parse("3.11.2:2.36:x86_64")) == [
        "async-timeout>=4.0.3"
    ], "a version outside the specifier does not count"
    (tmp_path / "async_timeout-4.0.2-py3-none-any.whl").unlink()
    fake_wheel(tmp_path, "async_timeout", "5.0.1")
    assert build_wheelhouse.missing_requirements(tmp_path, Target.parse("3.11.2:2.36:x86_64")) == []
