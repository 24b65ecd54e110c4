#!/usr/bin/env bash
# What Galaxy runs when it imports the role on its own (legacy role import).
set -euo pipefail
cd "$(dirname "$0")/../roles"
for role in flask_app flask_app_lb; do
  out=$(python -m galaxy_importer.main --legacy-role "$role" --namespace flaskops 2>&1) || {
    echo "$out" >&2
    exit 1
  }
  if grep -qiE '^(ERROR|WARNING)|Traceback' <<<"$out"; then
    echo "$out" >&2
    echo "galaxy-importer reported problems with roles/$role" >&2
    exit 1
  fi
  echo "galaxy-importer: legacy role import of roles/$role passed"
done
