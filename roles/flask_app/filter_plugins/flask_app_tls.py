"""Filters of the flask_app role: where the app's TLS certificate comes from."""

from __future__ import annotations

from typing import Any

try:  # Ansible is there when the role runs; the unit tests run the logic without it.
    from ansible.utils.display import Display

    _display: Any = Display()
except ImportError:  # pragma: no cover
    _display = None

SOURCES = ("none", "files", "self_signed", "acme")
# The release that drops the variables flask_app_tls replaces.
REMOVED_IN = "3.0.0"


def tls_source(
    tls: str = "none",
    certificate: str = "",
    self_signed: bool = False,
    acme: bool = False,
    key: str = "",
) -> dict[str, Any]:
    """The one TLS source of an app, from ``flask_app_tls`` and the variables it replaces.

    ``flask_app_tls_self_signed: true``, ``flask_app_tls_acme: true`` and a
    ``flask_app_tls_certificate`` without ``flask_app_tls`` still choose their source (one
    release of grace, each with a deprecation warning). Returns ``source`` (one of
    ``SOURCES``), ``deprecated`` (one message per old variable used) and ``conflict`` (why the
    settings contradict each other, "" when they do not; validation fails on it).
    """
    tls = str(tls or "none")
    old = [
        name
        for name, used in (
            ("flask_app_tls_self_signed", bool(self_signed)),
            ("flask_app_tls_acme", bool(acme)),
        )
        if used
    ]
    implied = {"flask_app_tls_self_signed": "self_signed", "flask_app_tls_acme": "acme"}
    conflict = ""
    deprecated: list[str] = []
    if tls not in SOURCES:
        conflict = f"flask_app_tls={tls!r} is not one of {', '.join(SOURCES)}"
    elif len(old) > 1:
        conflict = f"{' and '.join(old)} exclude each other: set flask_app_tls to one source"
    elif old and tls != "none":
        conflict = f"{old[0]} is replaced by flask_app_tls; remove it (flask_app_tls={tls!r})"
    elif old and certificate:
        conflict = f"{old[0]} and flask_app_tls_certificate exclude each other"
    elif (certificate or key) and tls in ("self_signed", "acme"):
        conflict = (
            f"flask_app_tls_certificate and flask_app_tls_certificate_key are only for "
            f"flask_app_tls=files, not {tls!r}; remove them or set flask_app_tls: files"
        )
    elif key and not certificate and tls == "none":
        conflict = "flask_app_tls_certificate_key is set without flask_app_tls_certificate"
    if conflict:
        return {"source": "none", "deprecated": [], "conflict": conflict}
    source = tls
    if old:
        source = implied[old[0]]
        deprecated.append(
            f"{old[0]}: true is deprecated and goes in {REMOVED_IN}; "
            f"set flask_app_tls: {source} instead"
        )
    elif certificate and tls == "none":
        source = "files"
        deprecated.append(
            "flask_app_tls_certificate without flask_app_tls is deprecated and stops turning "
            f"TLS on in {REMOVED_IN}; add flask_app_tls: files"
        )
    return {"source": source, "deprecated": deprecated, "conflict": ""}


def tls_source_warned(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """``tls_source``, with each deprecation shown as Ansible's own deprecation warning
    (shown once per run however often the value is used)."""
    answer = tls_source(*args, **kwargs)
    if _display is not None:
        for message in answer["deprecated"]:
            _display.deprecated(message, version=REMOVED_IN)
    return answer


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"flask_app_tls_source": tls_source_warned}
