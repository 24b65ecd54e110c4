#!/usr/bin/env python3
"""Fetch the demo page through Nginx on 127.0.0.1 and print what a browser would show."""

from __future__ import annotations

import sys
import time
import urllib.request
from html.parser import HTMLParser

URL = "http://127.0.0.1:8080/"


class TextOnly(HTMLParser):
    """Collect the visible text of a page, one line per block."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self._skip = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._skip = tag in {"title", "style", "script"}

    def handle_endtag(self, tag: str) -> None:
        self._skip = False

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.lines.append(data.strip())


def fetch(url: str, attempts: int = 10) -> tuple[int, dict[str, str], str]:
    for attempt in range(attempts):
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                body = response.read().decode()
                return response.status, dict(response.headers), body
        except OSError:
            if attempt == attempts - 1:
                raise
            time.sleep(1)
    raise AssertionError("unreachable")


def main() -> int:
    status, headers, body = fetch(URL)
    parser = TextOnly()
    parser.feed(body)
    print()
    print(f"GET {URL} -> {status} (Server: {headers.get('Server', '?')})")
    print("-" * 60)
    print("\n".join(parser.lines))
    print("-" * 60)
    print(f"Open {URL} in a browser on this machine (published on 127.0.0.1 only).")
    print("Remove the demo container with: make demo-clean")
    return 0 if status == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
