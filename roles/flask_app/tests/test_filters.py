"""The role's filter plugin."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_PLUGIN = Path(__file__).resolve().parents[1] / "filter_plugins" / "flask_app.py"
_spec = importlib.util.spec_from_file_location("flask_app_filters", _PLUGIN)
assert _spec and _spec.loader
filters = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(filters)


def test_systemd_timestamp_is_read_as_utc_epoch_with_microseconds():
    epoch = filters.systemd_timestamp_epoch("Sat 2026-11-21 18:34:04.123456 UTC")
    assert epoch == pytest.approx(1795286044.123456)


@pytest.mark.parametrize("never", ["", "n/a", "  \n"])
def test_a_unit_that_never_started_is_older_than_any_file(never):
    assert filters.systemd_timestamp_epoch(never) == 0.0


def test_the_filter_is_registered_under_the_role_prefix():
    names = filters.FilterModule().filters()
    assert names["flask_app_systemd_timestamp_epoch"] is filters.systemd_timestamp_epoch
