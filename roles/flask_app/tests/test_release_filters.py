"""What a release is made of and what it is called (filter_plugins/flask_app_release.py)."""

from __future__ import annotations

import hashlib

import pytest
from role_code import load

release = load("filter_plugins/flask_app_release.py")

SRC = "/home/me/app"
REQUIREMENTS = ["gunicorn==27.0.1", "setproctitle==1.3.7"]


def found(**files: str) -> list[dict]:
    """find's answer for files under SRC: relative path -> checksum."""
    return [{"path": f"{SRC}/{name}", "checksum": checksum} for name, checksum in files.items()]


def test_the_name_is_the_hash_of_the_files_the_package_and_the_requirements():
    answer = release.release_fingerprint(
        found(**{"pyproject.toml": "aa", "src/app.py": "bb"}), SRC, "", REQUIREMENTS
    )
    text = "pyproject.toml=aa src/app.py=bb |gunicorn==27.0.1 setproctitle==1.3.7"
    assert answer == {
        "release": hashlib.sha256(text.encode()).hexdigest()[:12],
        "files": ["pyproject.toml", "src/app.py"],
    }


def test_same_code_same_name_whatever_the_order_find_lists_it():
    one = release.release_fingerprint(found(a="1", b="2"), SRC, "", REQUIREMENTS)
    other = release.release_fingerprint(found(b="2", a="1"), SRC, "", REQUIREMENTS)
    assert one == other


@pytest.mark.parametrize(
    "change",
    [
        {"files": found(a="1", b="3")},
        {"requirements": [*REQUIREMENTS, "gevent"]},
        {"files": found(a="1", b="2", c="4")},
    ],
)
def test_any_change_of_what_ships_changes_the_name(change):
    base = {"files": found(a="1", b="2"), "requirements": REQUIREMENTS}
    before = release.release_fingerprint(base["files"], SRC, "", base["requirements"])
    after_args = base | change
    after = release.release_fingerprint(after_args["files"], SRC, "", after_args["requirements"])
    assert before["release"] != after["release"]


def test_build_by_products_and_caches_neither_ship_nor_change_the_name():
    clean = release.release_fingerprint(found(**{"app.py": "1"}), SRC, "", REQUIREMENTS)
    noisy = release.release_fingerprint(
        found(
            **{
                "app.py": "1",
                ".git/HEAD": "x",
                "app.pyc": "x",
                "__pycache__/app.cpython-311.pyc": "x",
                "dist/app-1.0.tar.gz": "x",
                "app.egg-info/PKG-INFO": "x",
                ".venv/bin/python": "x",
                "sub/build/out.txt": "x",
            }
        ),
        SRC,
        "",
        REQUIREMENTS,
    )
    assert noisy == clean


def test_a_source_path_with_a_trailing_slash_names_the_same_release():
    assert release.release_fingerprint(
        found(a="1"), SRC + "/", "", REQUIREMENTS
    ) == release.release_fingerprint(found(a="1"), SRC, "", REQUIREMENTS)


def test_a_package_release_is_named_from_the_requirement_alone():
    one = release.release_fingerprint([], "", "hello==1.0", REQUIREMENTS)
    two = release.release_fingerprint([], "", "hello==1.1", REQUIREMENTS)
    assert one["files"] == [] and one["release"] != two["release"]


def test_a_given_version_wins():
    assert release.release_fingerprint(found(a="1"), SRC, "", REQUIREMENTS, "v7")["release"] == "v7"


def test_pip_requirements_per_worker_class():
    assert release.pip_requirements("27.0.1", "1.3.7") == REQUIREMENTS
    assert release.pip_requirements("27.0.1", "1.3.7", "gthread", ["redis"]) == [
        *REQUIREMENTS,
        "redis",
    ]
    assert release.pip_requirements("27.0.1", "1.3.7", "gevent") == [
        *REQUIREMENTS,
        "gevent",
        "packaging",
    ]
    assert release.pip_requirements("27.0.1", "1.3.7", "eventlet", []) == [
        *REQUIREMENTS,
        "eventlet",
        "packaging",
    ]


def test_the_wheelhouse_target_is_named_as_build_wheelhouse_names_it():
    assert release.wheelhouse_target("3.11:2.36:x86_64\n") == "cp311-glibc2.36-x86_64"
    assert release.wheelhouse_target("3.13:2.41:aarch64") == "cp313-glibc2.41-aarch64"
    # Hosts report their full version (for markers); the wheelhouse is per minor version.
    assert release.wheelhouse_target("3.11.2:2.36:x86_64") == "cp311-glibc2.36-x86_64"
    with pytest.raises(ValueError):
        release.wheelhouse_target("3.11")


def test_a_command_runs_in_the_release_as_the_service_would():
    argv = release.run_in_release("hello", "/srv/hello/releases/v1/", "/etc/hello")
    assert argv[:5] == ["systemd-run", "--quiet", "--wait", "--pipe", "--collect"]
    assert "--uid=hello" in argv and "--gid=hello" in argv
    assert "--working-directory=/srv/hello/releases/v1" in argv
    assert argv.index("--property=EnvironmentFile=/etc/hello/secret.env") < argv.index(
        "--property=EnvironmentFile=/srv/hello/releases/v1/release.env"
    )
    assert argv[-1] == "--setenv=PATH=/srv/hello/releases/v1/venv/bin:/usr/local/bin:/usr/bin:/bin"


def test_a_command_can_get_more_environment():
    argv = release.run_in_release(
        "hello", "/srv/hello/releases/v2", "/etc/hello", "", {"FLASK_APP_ROLLBACK_TO": "v1"}
    )
    assert argv[-1] == "--setenv=FLASK_APP_ROLLBACK_TO=v1"
    assert argv[-2].startswith("--setenv=PATH=")


def test_a_plain_directory_runs_from_its_app_folder():
    argv = release.run_in_release("hello", "/srv/hello/releases/v1", "/etc/hello", "app")
    assert "--working-directory=/srv/hello/releases/v1/app" in argv


def test_the_command_report_shows_the_exit_status_then_both_outputs():
    report = release.command_report({"rc": 3, "stdout": "done\n", "stderr": ""})
    assert report == "exit 3\n--- stdout\ndone"
    long = release.command_report({"rc": 0, "stdout": "", "stderr": "x" * 50 + "END"}, limit=10)
    assert long.splitlines() == ["exit 0", "--- stderr (its end)", "xxxxxxxEND"]
