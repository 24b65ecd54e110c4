"""The worker memory guard the role's gunicorn.conf.py includes (flask_app_worker_max_memory)."""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest

GUARD = Path(__file__).resolve().parents[1] / "templates" / "gunicorn_memory_guard.py"


@pytest.fixture(scope="module")
def guard() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gunicorn_memory_guard", GUARD)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_memory_guard_stops_a_worker_over_its_limit(
    guard: ModuleType, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    signalled = threading.Event()
    monkeypatch.setattr(os, "kill", lambda pid, sig: signalled.set())
    worker = SimpleNamespace(pid=os.getpid(), log=logging.getLogger("guard"))
    with caplog.at_level(logging.WARNING, "guard"):
        guard.start_memory_guard(worker, 1, every=0.01)
        assert signalled.wait(5)
    assert "more than flask_app_worker_max_memory (1 MiB)" in caplog.text


def test_memory_guard_leaves_a_worker_under_its_limit(
    guard: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    signalled = threading.Event()
    monkeypatch.setattr(os, "kill", lambda pid, sig: signalled.set())
    worker = SimpleNamespace(pid=os.getpid(), log=logging.getLogger("guard"))
    guard.start_memory_guard(worker, 1 << 20, every=0.01)
    assert not signalled.wait(0.3)
