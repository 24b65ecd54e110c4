"""Filters of the flask_app role (and of flask_app_lb, through tasks/shared/platform-gate.yml):
which hosts the roles support, and which OS variables files fit a host."""

from __future__ import annotations

from typing import Any

try:  # Ansible is there when the role runs; the unit tests run the logic without it.
    from ansible.utils.display import Display

    _display: Any = Display()
except ImportError:  # pragma: no cover
    _display = None


def platform_support(
    facts: dict[str, Any],
    supported: dict[str, list[str]],
    allow_unsupported: bool = False,
    role: str = "flask_app",
    override: str = "flask_app_allow_unsupported_os",
) -> dict[str, Any]:
    """Whether a host's OS is one the role supports, from its gathered facts.

    ``supported`` maps a distribution to its supported major versions (``{"Debian": ["12",
    "13"]}``). Returns ``supported``, ``proceed`` (supported, or ``allow_unsupported``: the
    user's choice to try, which shows a warning), ``found`` and ``expected`` (for messages),
    and ``vars_files``: the OS variables files to look for, most specific first
    (``Debian-12.yml``, ``Debian.yml``, then the family's, as dev-sec's roles do).
    """
    distribution = str(facts.get("distribution", "") or "")
    major = str(facts.get("distribution_major_version", "") or "")
    family = str(facts.get("os_family", "") or "")
    version = str(facts.get("distribution_version", "") or major)
    found = f"{distribution} {version}".strip() or "an OS Ansible could not tell (no facts?)"
    expected = "; ".join(
        f"{name} {' and '.join(str(v) for v in versions)}" for name, versions in supported.items()
    )
    is_supported = major in [str(v) for v in supported.get(distribution, [])]
    if not is_supported and allow_unsupported and _display is not None:
        _display.warning(
            f"{role}: this host runs {found}, which the role does not support ({expected}); "
            f"going on because {override}=true. Nothing here is tested on it."
        )
    candidates = [f"{distribution}-{major}.yml", f"{distribution}.yml", f"{family}.yml"]
    vars_files = list(dict.fromkeys(c for c in candidates if not c.startswith(("-", "."))))
    return {
        "supported": is_supported,
        "proceed": is_supported or bool(allow_unsupported),
        "found": found,
        "expected": expected,
        "vars_files": vars_files,
    }


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"flask_app_platform_support": platform_support}
