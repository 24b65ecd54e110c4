"""Filters of the flask_app role: what a release is made of and what it is called."""

from __future__ import annotations

import hashlib
import os.path
import re
from typing import Any

# Build by-products and caches do not change what gets deployed.
IGNORED = re.compile(
    r"(^|/)(\.git|\.venv|venv|build|dist|__pycache__|\.pytest_cache|\.ruff_cache|\.mypy_cache"
    r"|[^/]*\.egg-info)(/|$)|\.py[co]$"
)


def pip_requirements(
    gunicorn_version: str,
    setproctitle_version: str,
    worker_class: str = "sync",
    extra: list[str] | None = None,
) -> list[str]:
    """What goes into every release venv besides the app, in install order.

    Gunicorn's gevent and eventlet workers import ``packaging``, which Gunicorn does not require.
    """
    wanted = [f"gunicorn=={gunicorn_version}", f"setproctitle=={setproctitle_version}"]
    if worker_class in ("gevent", "eventlet"):
        wanted += [worker_class, "packaging"]
    return wanted + list(extra or [])


def release_fingerprint(
    found: list[dict[str, Any]],
    src: str,
    package: str = "",
    requirements: list[str] | None = None,
    version: str = "",
    build_commands: list[str] | None = None,
) -> dict[str, Any]:
    """Name the release and list what it ships.

    ``found`` is what ``ansible.builtin.find`` with ``get_checksum`` lists under ``src`` on the
    controller (``path``, ``checksum``); ``package`` the pip requirement when there is no
    source directory; ``requirements`` what else goes into the venv. Returns ``files`` (the
    shipped files relative to ``src``, sorted, without build by-products) and ``release``:
    ``version`` when given, else the first 12 hex digits of a SHA-256 over every file's name and
    checksum, the package, the requirements and the build commands (which write into the
    release), so the same code gives the same name on every run and every host.
    """
    checksums = {str(entry["path"]): str(entry["checksum"]) for entry in found}
    relative = [os.path.relpath(path, src) for path in sorted(checksums)]
    shipped = [path for path in relative if not IGNORED.search(path)]
    text = "".join(f"{path}={checksums[os.path.join(src, path)]} " for path in shipped)
    text += f"{package or ''}|{' '.join(requirements or [])}"
    if build_commands:
        # Only when there are any: releases built without them keep their names.
        text += "|build:" + "\n".join(build_commands)
    release = version or hashlib.sha256(text.encode()).hexdigest()[:12]
    return {"release": release, "files": shipped}


def wheelhouse_target(reported: str) -> str:
    """The wheelhouse that fits a host, named as files/build_wheelhouse.py names it.

    ``reported`` is the host's ``<major>.<minor>[.<micro>]:<glibc>:<machine>`` (e.g.
    ``3.11.2:2.36:x86_64``); the answer is ``cp311-glibc2.36-x86_64``: one wheelhouse per
    minor version (the micro version only decides environment markers).
    """
    python, glibc, machine = reported.strip().split(":")
    major, minor = python.split(".")[:2]
    return f"cp{major}{minor}-glibc{glibc}-{machine}"


def run_in_release(
    name: str,
    release_dir: str,
    conf_dir: str,
    workdir: str = "",
    env: dict[str, str] | None = None,
) -> list[str]:
    """argv prefix that runs a command in a release as the service would: the app user, the
    app's environment files, ``workdir`` (relative to the release; "" for the release itself)
    as working directory, the release's venv first in PATH; ``env`` adds variables.
    """
    release_dir = release_dir.rstrip("/")
    extra = [f"--setenv={key}={value}" for key, value in sorted((env or {}).items())]
    return [
        "systemd-run",
        "--quiet",
        "--wait",
        "--pipe",
        "--collect",
        f"--uid={name}",
        f"--gid={name}",
        "--property=UMask=0027",
        f"--working-directory={'/'.join(filter(None, [release_dir, workdir.strip('/')]))}",
        f"--property=EnvironmentFile={conf_dir}/secret.env",
        f"--property=EnvironmentFile={conf_dir}/env",
        f"--property=EnvironmentFile={release_dir}/release.env",
        f"--setenv=PATH={release_dir}/venv/bin:/usr/local/bin:/usr/bin:/bin",
        *extra,
    ]


def command_report(result: dict[str, Any], limit: int = 20000) -> str:
    """What playbooks/command.yml shows for one host: the exit status, then the command's
    output and error output (their ends, when longer than ``limit`` characters)."""
    parts = [f"exit {result.get('rc', '?')}"]
    for key in ("stdout", "stderr"):
        text = str(result.get(key) or "").rstrip()
        if text:
            parts.append(f"--- {key}" + ("" if len(text) <= limit else " (its end)"))
            parts.append(text[-limit:])
    return "\n".join(parts)


def build_in_release(
    user: str,
    release_dir: str,
    conf_dir: str,
    workdir: str = "",
    name: str = "",
    scratch: str = "",
    state_dir: str = "",
) -> list[str]:
    """argv prefix that runs a build command in a release being built: like
    ``run_in_release`` (the app's environment, working directory and PATH), but as ``user``,
    which owns the release's source (``app/``) while it builds, in a sandbox where only that
    source is writable (not the venv, not the app's data).
    With ``scratch``, that directory stands in for ``state_dir`` (the app's data, which the
    shared paths and the instance folder link to): an app that writes there on import finds
    empty, writable copies of its directories, and the live data stays out of reach."""
    prefix = run_in_release(name or user, release_dir, conf_dir, workdir)
    prefix = [arg for arg in prefix if not arg.startswith(("--uid=", "--gid="))]
    return [
        *prefix[:1],
        f"--uid={user}",
        f"--gid={user}",
        "--property=UMask=0022",
        "--property=ProtectSystem=strict",
        f"--property=ReadWritePaths={release_dir.rstrip('/')}/app",
        "--property=ProtectHome=yes",
        "--property=PrivateTmp=yes",
        "--property=PrivateDevices=yes",
        "--property=NoNewPrivileges=yes",
        *([f"--property=BindPaths={scratch}:{state_dir}"] if scratch and state_dir else []),
        *[arg for arg in prefix[1:] if arg != "--property=UMask=0027"],
    ]


PLACEHOLDERS = (".gitkeep", ".keep", ".gitignore")


def shared_paths_hiding(shared: list[str], shipped: list[str]) -> list[str]:
    """The shared paths under ``app/`` that would replace shipped files with a link: the path
    of a shipped file, or a directory holding shipped files other than placeholders
    (``.gitkeep``). ``shipped`` is relative to the source, which unpacks into ``app/``."""
    files = {f"app/{path}" for path in shipped}
    hiding = []
    for path in shared:
        if not path.startswith("app/"):
            continue
        inside = [
            f for f in files if f.startswith(path + "/") and os.path.basename(f) not in PLACEHOLDERS
        ]
        if path in files or inside:
            hiding.append(path)
    return hiding


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "flask_app_pip_requirements": pip_requirements,
            "flask_app_release_fingerprint": release_fingerprint,
            "flask_app_wheelhouse_target": wheelhouse_target,
            "flask_app_run_in_release": run_in_release,
            "flask_app_build_in_release": build_in_release,
            "flask_app_command_report": command_report,
            "flask_app_shared_paths_hiding": shared_paths_hiding,
        }
