"""The roles keep their logic in plugins and their vars/ constant."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

SCRIPT = Path(__file__).resolve().parents[1] / "jinja_report.py"
ROLES = Path(__file__).resolve().parents[2] / "roles"
# After issue 18 moved the release fingerprint, pruning, the rollback target, the app claims,
# the LB's servers and the TLS paths into filters.
MOST = 3


def test_long_jinja_expressions_stay_few():
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--fail-over", str(MOST)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout


def tasks(node: Any) -> Iterator[dict]:
    if isinstance(node, list):
        for item in node:
            yield from tasks(item)
    elif isinstance(node, dict):
        yield node
        for key in ("block", "rescue", "always"):
            yield from tasks(node.get(key))


def moving_names() -> set[str]:
    """Every name a task registers or sets with set_fact: values that change during a play."""
    names: set[str] = set()
    for path in ROLES.glob("*/tasks/**/*.yml"):
        for task in tasks(yaml.safe_load(path.read_text())):
            if "register" in task:
                names.add(task["register"])
            names.update((task.get("ansible.builtin.set_fact") or {}).keys())
    return names - {"cacheable"}


def test_vars_refer_to_no_registered_result_or_fact_set_in_the_play():
    names = moving_names()
    assert "__flask_app_release" in names and "__flask_app_marker" in names
    for path in ROLES.glob("*/vars/*.yml"):
        text = path.read_text()
        used = sorted(name for name in names if re.search(rf"\b{re.escape(name)}\b", text))
        assert used == [], f"{path.relative_to(ROLES)} uses values set during the play: {used}"
