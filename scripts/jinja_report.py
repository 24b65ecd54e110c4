#!/usr/bin/env python3
"""Count what a newcomer reads in the roles' task and vars files: lines per file, and the Jinja
expressions that span more than three lines (logic that belongs in a tested plugin).

    python scripts/jinja_report.py [--max-lines N] [--fail-over K]

With ``--fail-over K`` the exit status is 1 when more than K long expressions are found, so a
test can keep the count from growing back.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
WATCHED = ("tasks/validate.yml", "tasks/release.yml", "tasks/activate.yml", "vars/main.yml")


def scalars(node: yaml.Node) -> Iterator[yaml.ScalarNode]:
    if isinstance(node, yaml.ScalarNode):
        yield node
    elif isinstance(node, yaml.SequenceNode):
        for child in node.value:
            yield from scalars(child)
    elif isinstance(node, yaml.MappingNode):
        for _key, value in node.value:
            yield from scalars(value)


# One expression: a {{ … }} or a {% for/if %} … {% endfor/endif %} block (prose around them,
# as in a failure message, is not logic).
EXPRESSION = re.compile(r"\{%-?\s*(for|if)\b.*?\{%-?\s*end\1\s*-?%\}|\{\{.*?\}\}", re.DOTALL)


def long_expressions(path: Path, max_lines: int) -> list[tuple[int, int]]:
    """(first line, number of lines) of each Jinja expression longer than ``max_lines``."""
    source = path.read_text()
    lines = source.splitlines(keepends=True)
    found = []
    for document in yaml.compose_all(source):
        if document is None:
            continue
        for node in scalars(document):
            if "{{" not in str(node.value) and "{%" not in str(node.value):
                continue
            first, last = node.start_mark.line, node.end_mark.line
            raw = "".join(lines[first : last + 1])
            for match in EXPRESSION.finditer(raw):
                span = match.group(0).count("\n") + 1
                if span > max_lines:
                    found.append((first + 1 + raw[: match.start()].count("\n"), span))
    return found


def files() -> list[Path]:
    return sorted(
        path
        for role in sorted((ROOT / "roles").iterdir())
        for folder in ("tasks", "vars")
        for path in (role / folder).rglob("*.yml")
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-lines", type=int, default=3)
    parser.add_argument("--fail-over", type=int, default=None)
    args = parser.parse_args()
    for watched in WATCHED:
        path = ROOT / "roles/flask_app" / watched
        print(f"{len(path.read_text().splitlines()):5d} lines  roles/flask_app/{watched}")
    total = 0
    for path in files():
        for line, lines in long_expressions(path, args.max_lines):
            total += 1
            print(f"  {path.relative_to(ROOT)}:{line}: a Jinja expression of {lines} lines")
    print(f"{total} Jinja expressions longer than {args.max_lines} lines in tasks/ and vars/")
    return 1 if args.fail_over is not None and total > args.fail_over else 0


if __name__ == "__main__":
    sys.exit(main())
