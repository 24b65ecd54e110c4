"""Every plugin's DOCUMENTATION is YAML that Ansible can load: a lookup whose documentation
does not parse fails to load at all, in the middle of a run."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

ROLES = Path(__file__).resolve().parents[2]
PLUGINS = sorted(
    path
    for kind in ("library", "lookup_plugins", "filter_plugins", "action_plugins")
    for path in ROLES.glob(f"*/{kind}/*.py")
)


def documentation(path: Path) -> str | None:
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "DOCUMENTATION" for target in node.targets
        ):
            return ast.literal_eval(node.value)
    return None


def test_plugins_are_found():
    assert any(path.parent.name == "lookup_plugins" for path in PLUGINS)


@pytest.mark.parametrize("path", PLUGINS, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_documentation_is_a_yaml_mapping(path: Path):
    text = documentation(path)
    if path.parent.name in ("library", "lookup_plugins"):
        assert text is not None, "modules and lookups need DOCUMENTATION"
    if text is not None:
        loaded = yaml.safe_load(text)
        assert isinstance(loaded, dict) and loaded.get("short_description"), path
