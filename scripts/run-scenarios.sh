#!/usr/bin/env bash
# Run Molecule scenarios MOLECULE_JOBS at a time (default 2), the longest first so the two
# lanes end together, each into its own log under .molecule-logs/. Scenarios share nothing but
# the images (built before, by `make images`): their containers, networks and addresses differ.
# A failed scenario's log tail is printed; the exit status is non-zero if any failed.
#
#   scripts/run-scenarios.sh scenario...
set -uo pipefail
cd "$(dirname "$0")/.."
jobs=${MOLECULE_JOBS:-2}
export MOLECULE_LOG_DIR=${MOLECULE_LOG_DIR:-.molecule-logs}
mkdir -p "$MOLECULE_LOG_DIR"

# Longest first (minutes measured on 2 vCPUs); scenarios not listed run last.
order=(fleet upgrade multi apps failures gunicorn acme default)
wanted=" $* "
queue=()
for s in "${order[@]}"; do [[ $wanted == *" $s "* ]] && queue+=("$s"); done
for s in "$@"; do [[ " ${order[*]} " == *" $s "* ]] || queue+=("$s"); done

run_one() {
  local s=$1 start log
  start=$(date +%s)
  log="$MOLECULE_LOG_DIR/$s.log"
  echo "=== molecule test -s $s (log: $log)"
  if molecule test -s "$s" >"$log" 2>&1; then
    echo "=== scenario $s passed in $(($(date +%s) - start)) s"
  else
    echo "=== scenario $s FAILED after $(($(date +%s) - start)) s; the end of $log:"
    sed 's/\x1b\[[0-9;]*m//g' "$log" | tail -200
    return 1
  fi
}
export -f run_one

start=$(date +%s)
printf '%s\n' "${queue[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one {}'
status=$?
echo "=== ${#queue[@]} scenarios, $jobs at a time: $(($(date +%s) - start)) s, $([ $status = 0 ] && echo all passed || echo FAILED)"
exit $status
