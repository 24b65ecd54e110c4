#!/usr/bin/env python3
"""Build a release's wheelhouses on the controller, one per Python/platform of the app hosts.

Run by the flask_app role (flask_app_build: controller) with the controller's Python. The app
itself (a project directory or a pip requirement) is built once into a wheel; then, for every
target, pip downloads the binary wheels of the pinned requirements, Gunicorn and its companions
for that Python version and glibc, and uv's wheel, whose static binary is unpacked next to
them. Hosts install from it with ``uv pip install --offline --no-index``: no host needs an index.

pip evaluates the environment markers of dependencies against the controller's own Python, not
the target's (a host's Debian 12 Python is 3.11.2, the controller's may be 3.11.7; redis needs
async-timeout below 3.11.3 only): so after pip, the wheels' own requirements are read and their
markers evaluated for the target's full Python version and platform, and what is missing is
downloaded too, until nothing is.

Each target becomes one archive, <dest>/<target>.tar (a wheelhouse/ directory: the wheels,
uv, install.txt), written under a temporary name and renamed when complete, so an interrupted
build is never mistaken for a wheelhouse. Prints one JSON object: the targets
built and the ones already present.
"""

from __future__ import annotations

import argparse
import email.parser
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

# ansible-core depends on packaging: the controller has it.
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

# Every manylinux tag a host with this glibc accepts: pip's --platform takes tags literally.
LEGACY_MANYLINUX = {(2, 17): "manylinux2014", (2, 12): "manylinux2010", (2, 5): "manylinux1"}


@dataclass(frozen=True)
class Target:
    """A host kind the wheels must fit: CPython X.Y on glibc A.B, one machine architecture, and
    the full versions (X.Y.Z) of that Python among the hosts, for the markers."""

    python: str
    glibc: str
    machine: str
    full_versions: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def parse(cls, text: str) -> Target:
        try:
            python, glibc, machine = text.split(":")
            parts = python.split(".")
            if not 2 <= len(parts) <= 3 or not all(part.isdigit() for part in parts):
                raise ValueError(python)
        except ValueError:
            message = f"{text!r}: expected PYTHON:GLIBC:MACHINE, e.g. 3.11.2:2.36:x86_64"
            raise argparse.ArgumentTypeError(message) from None
        return cls(".".join(parts[:2]), glibc, machine, (python,))

    @property
    def name(self) -> str:
        return f"cp{self.python.replace('.', '')}-glibc{self.glibc}-{self.machine}"

    def merged(self, other: Target) -> Target:
        """The same wheelhouse for two hosts (same name), markers for both full versions."""
        versions = tuple(sorted({*self.full_versions, *other.full_versions}))
        return Target(self.python, self.glibc, self.machine, versions)

    def marker_environments(self) -> list[dict[str, str]]:
        """packaging's marker environment of each full version on this platform."""
        return [
            {
                "implementation_name": "cpython",
                "implementation_version": version,
                "os_name": "posix",
                "platform_machine": self.machine,
                "platform_python_implementation": "CPython",
                "platform_release": "",
                "platform_system": "Linux",
                "platform_version": "",
                "python_full_version": version,
                "python_version": self.python,
                "sys_platform": "linux",
                "extra": "",
            }
            for version in self.full_versions or (self.python,)
        ]

    def platforms(self) -> list[str]:
        major, minor = (int(part) for part in self.glibc.split("."))
        tags = []
        for glibc_minor in range(minor, 4, -1):
            tags.append(f"manylinux_{major}_{glibc_minor}_{self.machine}")
            legacy = LEGACY_MANYLINUX.get((major, glibc_minor))
            if legacy:
                tags.append(f"{legacy}_{self.machine}")
        return tags

    def pip_download_args(self) -> list[str]:
        abi = "cp" + self.python.replace(".", "")
        args = [
            "--only-binary=:all:",
            "--python-version",
            self.python,
            "--implementation",
            "cp",
            "--abi",
            abi,
        ]
        for platform in self.platforms():
            args += ["--platform", platform]
        return args


def pip(*args: str) -> None:
    """Run the controller's pip; its own output goes to stderr, the role prints it on failure."""
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", *args]
    result = subprocess.run(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False
    )
    sys.stderr.write(result.stdout)
    if result.returncode:
        tail = result.stdout[-3000:]
        raise SystemExit(f"pip {args[0]} failed (exit {result.returncode}):\n{tail}")


def wheel_metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return email.parser.Parser().parsestr(archive.read(name).decode("utf-8"))


def missing_requirements(wheelhouse: Path, target: Target) -> list[str]:
    """What the wheels in ``wheelhouse`` require on ``target`` (markers evaluated for its full
    Python versions and platform, no extras) that no wheel there satisfies."""
    have: dict[str, Version | None] = {}
    required: list[Requirement] = []
    for wheel in sorted(wheelhouse.glob("*.whl")):
        metadata = wheel_metadata(wheel)
        try:
            have[canonicalize_name(metadata["Name"])] = Version(metadata["Version"])
        except InvalidVersion:
            have[canonicalize_name(metadata["Name"])] = None
        for line in metadata.get_all("Requires-Dist") or []:
            try:
                required.append(Requirement(line))
            except InvalidRequirement:
                continue
    environments = target.marker_environments()
    missing = []
    for requirement in required:
        if requirement.marker and not any(requirement.marker.evaluate(env) for env in environments):
            continue
        version = have.get(canonicalize_name(requirement.name), False)
        if version is False or (
            version is not None and not requirement.specifier.contains(version, prereleases=True)
        ):
            wanted = f"{requirement.name}{requirement.specifier}"
            if wanted not in missing:
                missing.append(wanted)
    return missing


def complete_for_target(wheelhouse: Path, target: Target, common: list[str]) -> None:
    """Download what pip left out because it judged the markers by the controller's Python."""
    for _ in range(5):
        missing = missing_requirements(wheelhouse, target)
        if not missing:
            return
        pip(*common, "--find-links", str(wheelhouse), *missing)
    raise SystemExit(f"the wheelhouse for {target.name} is still missing {missing}")


def build_app_wheel(app: str, workdir: Path) -> Path:
    """The app's own wheel, built once; it must be pure Python to fit every target."""
    out = workdir / "app"
    pip("wheel", "--no-deps", "--wheel-dir", str(out), app)
    wheels = sorted(out.glob("*.whl"))
    if len(wheels) != 1:
        raise SystemExit(f"building {app} gave {len(wheels)} wheels, expected one")
    if not wheels[0].name.endswith("-none-any.whl"):
        raise SystemExit(
            f"{wheels[0].name} is not pure Python: a wheel built on the controller only fits the "
            "controller's Python; build on the hosts instead (flask_app_build: host)"
        )
    return wheels[0]


def unpack_uv(wheelhouse: Path) -> None:
    """uv's wheel carries a static binary: unpack it to <wheelhouse>/uv, drop the wheel."""
    wheels = sorted(wheelhouse.glob("uv-*.whl"))
    if len(wheels) != 1:
        raise SystemExit(f"expected one uv wheel in {wheelhouse}, found {[w.name for w in wheels]}")
    with zipfile.ZipFile(wheels[0]) as archive:
        member = next(name for name in archive.namelist() if name.endswith(".data/scripts/uv"))
        with archive.open(member) as src, open(wheelhouse / "uv", "wb") as dst:
            shutil.copyfileobj(src, dst)
    wheels[0].unlink()


def build_target(
    args: argparse.Namespace, target: Target, app_wheel: Path | None, dest: Path
) -> None:
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=dest.parent))
    try:
        common = ["download", "--dest", str(tmp), *target.pip_download_args()]
        if args.requirements:
            hashes = ["--require-hashes"] if args.require_hashes else []
            pip(*common, *hashes, "-r", args.requirements)
        install = ([f"./{app_wheel.name}"] if app_wheel else []) + list(args.requirement)
        if app_wheel:
            shutil.copy2(app_wheel, tmp / app_wheel.name)
        constraints = ["-c", args.requirements] if args.requirements else []
        pip(*common, "--find-links", str(tmp), *constraints, *install, f"uv=={args.uv_version}")
        complete_for_target(tmp, target, [*common, *constraints])
        unpack_uv(tmp)
        # What the host installs after the lock; paths are relative to the wheelhouse.
        (tmp / "install.txt").write_text("".join(line + "\n" for line in install))
        # One file to ship, unpacked on the host as wheelhouse/ in the release. Wheels are
        # compressed already.
        partial = dest.with_name(f".{dest.name}.partial")
        with tarfile.open(partial, "w") as archive:
            archive.add(tmp, arcname="wheelhouse", filter=normalise)
        partial.rename(dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def normalise(info: tarfile.TarInfo) -> tarfile.TarInfo:
    """Owned by root, readable by all: the release is root's."""
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.mode = 0o755 if info.isdir() or info.name.endswith("/uv") else 0o644
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", required=True, type=Path, help="the release's wheelhouses")
    parser.add_argument(
        "--target", action="append", required=True, type=Target.parse, help="PYTHON:GLIBC:MACHINE"
    )
    parser.add_argument("--app", help="project directory or pip requirement (none: plain dir)")
    parser.add_argument("--requirements", help="lock file: installed first, constrains the rest")
    parser.add_argument("--require-hashes", action="store_true")
    parser.add_argument("--uv-version", required=True)
    parser.add_argument("requirement", nargs="*", help="what goes into every venv besides the app")
    args = parser.parse_args(argv)

    args.dest.mkdir(parents=True, exist_ok=True)
    wanted: dict[str, Target] = {}
    for target in args.target:
        wanted[target.name] = (
            wanted[target.name].merged(target) if target.name in wanted else target
        )
    missing = [name for name in sorted(wanted) if not (args.dest / f"{name}.tar").is_file()]
    if missing:
        with tempfile.TemporaryDirectory(prefix=".app.", dir=args.dest) as workdir:
            app_wheel = build_app_wheel(args.app, Path(workdir)) if args.app else None
            for name in missing:
                build_target(args, wanted[name], app_wheel, args.dest / f"{name}.tar")
    print(json.dumps({"built": missing, "present": sorted(set(wanted) - set(missing))}))
    return 0


if __name__ == "__main__":
    os.umask(0o022)
    sys.exit(main())
