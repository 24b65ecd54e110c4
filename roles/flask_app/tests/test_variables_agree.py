"""meta/argument_specs.yml, defaults/main.yml, the README and the code agree on the variables."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

ROLE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROLE.parents[1] / "scripts"))

import argspec_table  # noqa: E402

SPEC = argspec_table.options()
DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
# Facts the role sets for the playbook around it (README "Facts the role sets").
RESULT_FACTS = {"flask_app_switch_pending"}
LB_ROLE = ROLE.parent / "flask_app_lb"
LB_SPEC = argspec_table.options("flask_app_lb")
LB_DEFAULTS = yaml.safe_load((LB_ROLE / "defaults" / "main.yml").read_text())


def test_every_default_is_specified():
    assert sorted(set(DEFAULTS) - set(SPEC)) == []


def test_every_optional_variable_has_the_specified_default():
    for name, option in SPEC.items():
        if option.get("required"):
            assert name not in DEFAULTS, f"{name} is required, so it has no default"
            continue
        assert name in DEFAULTS, f"{name} is missing from defaults/main.yml"
        assert DEFAULTS[name] == option.get("default"), name


def test_every_variable_is_described_and_typed():
    for name, option in SPEC.items():
        assert option.get("description"), name
        assert option.get("type"), name


def test_readme_table_is_generated_from_the_spec():
    assert argspec_table.main(["--check"]) == 0


def test_code_uses_only_specified_variables():
    used: set[str] = set()
    for path in [
        *ROLE.glob("tasks/**/*.yml"),
        *ROLE.glob("handlers/*.yml"),
        *ROLE.glob("templates/*"),
    ]:
        used |= set(re.findall(r"(?<![_\w])flask_app_[a-z0-9_]+", path.read_text()))
    plugins = list((ROLE / "filter_plugins").glob("*.py"))
    filters = {
        name
        for plugin in plugins
        for name in re.findall(r'"(flask_app_[a-z0-9_]+)":', plugin.read_text())
    } | {plugin.stem for plugin in plugins}
    # tasks/shared/ names the other role that uses it.
    filters.add("flask_app_lb")
    modules = {
        path.stem
        for folder in ("library", "action_plugins")
        for path in (ROLE / folder).glob("flask_app_*.py")
    }
    lookups = {path.stem for path in (ROLE / "lookup_plugins").glob("flask_app_*.py")}
    assert sorted(used - set(SPEC) - filters - modules - lookups - RESULT_FACTS) == []


def test_the_load_balancer_role_agrees_with_its_spec():
    assert sorted(set(LB_DEFAULTS) - set(LB_SPEC)) == []
    for name, option in LB_SPEC.items():
        assert option.get("description") and option.get("type"), name
        if option.get("required"):
            assert name not in LB_DEFAULTS, name
        else:
            assert LB_DEFAULTS.get(name) == option.get("default"), name
    used: set[str] = set()
    for path in [*LB_ROLE.glob("tasks/*.yml"), *LB_ROLE.glob("templates/*")]:
        used |= set(re.findall(r"(?<![_\w])flask_app_lb_[a-z0-9_]+", path.read_text()))
    # A host variable of the app hosts, read through hostvars.
    assert sorted(used - set(LB_SPEC) - {"flask_app_lb_backend_address"}) == []
