#!/usr/bin/env bash
# Prepare a bare Debian controller for `make demo` / `make test`: Debian packages, a running
# Docker daemon (these machines do not run systemd as PID 1, so dockerd is started directly
# when no daemon answers), and the pinned Python tooling in .venv.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*"; }

need_pkgs=()
command -v dockerd >/dev/null 2>&1 || need_pkgs+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need_pkgs+=(debootstrap)
# make bench also converges over SSH.
command -v ssh-keygen >/dev/null 2>&1 || need_pkgs+=(openssh-client)
if ((${#need_pkgs[@]})); then
  log "apt-get install ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  if command -v systemctl >/dev/null 2>&1 && [ "$(ps -o comm= 1)" = systemd ]; then
    log "starting docker.service"
    systemctl start docker
  else
    log "starting dockerd (log: /var/log/dockerd.log)"
    nohup dockerd >/var/log/dockerd.log 2>&1 &
  fi
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { echo "dockerd did not come up; see /var/log/dockerd.log" >&2; exit 1; }
fi

stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ ! -x .venv/bin/ansible-playbook ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "creating .venv from requirements.txt"
  python3 -m venv .venv
  # pip's full output goes to a log; it is shown only when the install fails.
  if ! { .venv/bin/pip install --upgrade pip && .venv/bin/pip install -r requirements.txt; } >.venv/install.log 2>&1; then
    tail -40 .venv/install.log >&2
    exit 1
  fi
  echo "$want" >"$stamp"
fi
