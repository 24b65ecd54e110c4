"""Filters of the flask_app role."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any


def systemd_timestamp_epoch(value: str) -> float:
    """Seconds since the epoch of a ``systemctl show --timestamp=us+utc`` value.

    ``"Sat 2026-11-21 18:34:04.123456 UTC"`` -> 1795286044.123456; an empty value (the unit
    never entered the state) or ``n/a`` -> 0.0, i.e. older than any file.
    """
    text = (value or "").strip()
    if not text or text == "n/a":
        return 0.0
    parsed = datetime.strptime(text, "%a %Y-%m-%d %H:%M:%S.%f UTC")
    return parsed.replace(tzinfo=timezone.utc).timestamp()


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"flask_app_systemd_timestamp_epoch": systemd_timestamp_epoch}
