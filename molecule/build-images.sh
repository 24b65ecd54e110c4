#!/usr/bin/env bash
# Build the local systemd base images the scenarios and `make demo` run on. There is no
# container registry to pull from, so each image is debootstrapped from this host's own apt
# mirror, once, and reused afterwards. An image built by an older version of this script (its
# label differs) is rebuilt.
#
# The images hold what a minimal Debian host has: debootstrap minbase + systemd + python3. No
# D-Bus, curl, sudo, python3-apt or CA package: whatever the role relies on, it installs itself,
# so a missing dependency fails a scenario rather than a user's first deploy. Tools the tests
# use (curl, ps, ss) are installed by the scenarios' prepare step.
#
# `--ssh` also builds, on top of each, an image of a host reached like a real server: the same
# minimal Debian plus openssh-server and sudo (FLASK_APP_SSH_IMAGE_REPO, default
# flask-app-test/debian-ssh). Its users and keys are the scenario's to create.
#
#   molecule/build-images.sh [--ssh] [suite ...]      default: bookworm trixie
set -euo pipefail

IMAGE_REPO=${FLASK_APP_IMAGE_REPO:-flask-app-test/debian-systemd}
SSH_IMAGE_REPO=${FLASK_APP_SSH_IMAGE_REPO:-flask-app-test/debian-ssh}
with_ssh=false
if [ "${1:-}" = --ssh ]; then
  with_ssh=true
  shift
fi
suites=("$@")
((${#suites[@]})) || suites=(bookworm trixie)

# The first Debian mirror named in the host's apt sources (deb822 or one-line style).
host_mirror() {
  local f uri
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -e "$f" ] || continue
    uri=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' "$f")
    [ -n "$uri" ] && { echo "$uri"; return; }
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -e "$f" ] || continue
    uri=$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; exit}}' "$f")
    [ -n "$uri" ] && { echo "$uri"; return; }
  done
  echo "no Debian mirror found in /etc/apt sources" >&2
  return 1
}

declare -A version=([bookworm]=12 [trixie]=13)
# Changes to this script change the label, so stale images are rebuilt.
recipe=$(sha256sum "$0" | cut -c1-16)

for suite in "${suites[@]}"; do
  tag=${version[$suite]:?unknown suite $suite (known: ${!version[*]})}
  image="$IMAGE_REPO:$tag"
  have=$(docker image inspect --format '{{ index .Config.Labels "flask-app.recipe" }}' "$image" 2>/dev/null || true)
  if [ "$have" = "$recipe" ]; then
    echo "image $image present"
    continue
  fi
  mirror=$(host_mirror)
  root=$(mktemp -d "/var/tmp/rootfs-$suite.XXXXXX")
  # An interrupted debootstrap leaves /proc and /sys mounted in the root: unmount before removing.
  trap 'umount -R "$root/proc" "$root/sys" 2>/dev/null; rm -rf "$root"' EXIT
  echo "building $image with debootstrap $suite (mirror from host apt sources)"
  debootstrap --variant=minbase --include=systemd,systemd-sysv,python3 \
    "$suite" "$root" "$mirror" >"/var/tmp/debootstrap-$suite.log" 2>&1 ||
    { tail -20 "/var/tmp/debootstrap-$suite.log" >&2; exit 1; }
  # This machine's outbound HTTPS goes through an extra CA that it trusts; containers need it
  # for pip. It is placed where update-ca-certificates keeps it when the role installs Debian's
  # ca-certificates, and in the bundle path for tools that run before that.
  install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$root/usr/local/share/ca-certificates/build-host.crt"
  install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
  cat >"$root/etc/apt/sources.list" <<SRC
deb $mirror $suite main
deb $mirror $suite-updates main
SRC
  rm -f "$root/etc/machine-id" && touch "$root/etc/machine-id"
  # Units that only make sense on real hardware/consoles stay off in a container.
  for unit in getty.target console-getty.service systemd-firstboot.service; do
    ln -sf /dev/null "$root/etc/systemd/system/$unit"
  done
  # Fresh package lists, as a real server has them; apt refreshes them once they are an hour old.
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  chroot "$root" apt-get -o APT::Sandbox::User=root update -qq
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin
  tar -C "$root" -c . | docker import \
    -c 'CMD ["/lib/systemd/systemd"]' -c 'ENV container=docker' \
    -c "LABEL flask-app.recipe=$recipe" - "$image" >/dev/null
  rm -rf "$root"
  trap - EXIT
  echo "built $image"
done

# The SSH variant: installed in a container of the base image and committed, so it shares the
# base's layer. Labelled with the base's recipe too, so it follows a rebuilt base.
$with_ssh || exit 0
for suite in "${suites[@]}"; do
  tag=${version[$suite]}
  image="$SSH_IMAGE_REPO:$tag"
  have=$(docker image inspect --format '{{ index .Config.Labels "flask-app.recipe" }}' "$image" 2>/dev/null || true)
  if [ "$have" = "$recipe" ]; then
    echo "image $image present"
    continue
  fi
  echo "building $image (openssh-server, sudo)"
  builder="flask-app-ssh-build-$tag"
  docker rm -f "$builder" >/dev/null 2>&1 || true
  docker run --name "$builder" -e DEBIAN_FRONTEND=noninteractive "$IMAGE_REPO:$tag" sh -c \
    'apt-get install -y -qq --no-install-recommends openssh-server sudo >/dev/null &&
     rm -f /etc/ssh/ssh_host_* && rm -rf /var/cache/apt/archives/*.deb /var/cache/apt/*.bin' ||
    { docker rm -f "$builder" >/dev/null; exit 1; }
  # No host keys in the image: every container gets its own (the scenario's prepare runs
  # ssh-keygen -A before it starts sshd), as every real server has.
  docker commit -c 'CMD ["/lib/systemd/systemd"]' -c "LABEL flask-app.recipe=$recipe" \
    "$builder" "$image" >/dev/null
  docker rm -f "$builder" >/dev/null
  echo "built $image"
done
