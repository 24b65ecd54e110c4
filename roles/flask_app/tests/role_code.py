"""The role's Python (plugins, modules) loaded from its files, for the unit tests."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROLE = Path(__file__).resolve().parents[1]


def load(relative: str) -> ModuleType:
    """Import ``ROLE/relative`` (e.g. ``filter_plugins/flask_app.py``) as a module of its own."""
    path = ROLE / relative
    spec = importlib.util.spec_from_file_location(f"flask_app_{path.parent.name}_{path.stem}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
