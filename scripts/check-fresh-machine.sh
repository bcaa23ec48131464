#!/usr/bin/env bash
# Proves the README's two set-up commands on a bare Debian 12 machine: builds a clean Debian 12 (bookworm) root
# with mmdebstrap (variant minbase: Essential packages + apt, nothing else), copies a fresh clone of this
# repository (its committed HEAD) and ../shared into it, and runs, inside it as root (chroot):
#     bash scripts/setup.sh
#     bash scripts/test.sh
# printing the result and time of each, the CTest summary line, and every test that was skipped.
# It exits non-zero when either command fails or a test skipped (a skip in a machine set up by setup.sh means
# setup forgot a package).
#
# Not part of CI (it needs root, network access to Debian's mirror and the npm registry, and ~6 GB of disk).
# Usage (as root):   bash scripts/check-fresh-machine.sh [--keep] [--root DIR] [--shared DIR] [--mirror URL]
#   --keep         leave the root in place afterwards (default: removed)
#   --root DIR     where to build the root (default: a new folder under /var/tmp)
#   --shared DIR   the shared folder to copy beside the clone (default: ../shared)
#   --mirror URL   Debian mirror (default: http://deb.debian.org/debian)
# The machine's extra CA certificates (/usr/local/share/ca-certificates/*.crt, for registries reached through TLS
# inspection) and its npm settings (cafile, registry) are carried into the root, as a user's machine would have them.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)

KEEP=0
ROOT=""
SHARED=../shared
MIRROR=http://deb.debian.org/debian
while [ $# -gt 0 ]; do
  case "$1" in
    --keep) KEEP=1 ;;
    --root) ROOT=$2; shift ;;
    --shared) SHARED=$2; shift ;;
    --mirror) MIRROR=$2; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "check-fresh-machine: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

[ "$(id -u)" -eq 0 ] || { echo "check-fresh-machine: must run as root (chroot and mounts)" >&2; exit 2; }
[ -f "$SHARED/assets/MANIFEST.md" ] || { echo "check-fresh-machine: $SHARED is not the shared folder (no assets/MANIFEST.md); pass --shared DIR" >&2; exit 2; }
if ! command -v mmdebstrap >/dev/null 2>&1; then
  echo "[check] installing Debian's mmdebstrap"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap
fi

[ -n "$ROOT" ] || ROOT=$(mktemp -d /var/tmp/qwac-fresh-root.XXXXXX)
mkdir -p "$ROOT"
[ -z "$(ls -A "$ROOT")" ] || { echo "check-fresh-machine: $ROOT is not empty; pass an empty or new --root" >&2; exit 2; }
MOUNTS=()
cleanup() {
  for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do umount -l "${MOUNTS[$i]}" 2>/dev/null || true; done
  if [ "$KEEP" -eq 0 ]; then rm -rf --one-file-system "$ROOT"; else echo "[check] root kept at $ROOT"; fi
}
trap cleanup EXIT

SECONDS=0
echo "[check] building a clean Debian 12 root (mmdebstrap, variant minbase) in $ROOT"
mmdebstrap --quiet --variant=minbase bookworm "$ROOT" \
  "deb $MIRROR bookworm main" "deb $MIRROR bookworm-updates main" \
  "deb ${MIRROR%/debian}/debian-security bookworm-security main"
echo "[check] root ready in ${SECONDS} s"

# The machine's network settings: DNS, extra CA certificates (picked up when setup installs ca-certificates),
# npm's settings.
cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf"
mkdir -p "$ROOT/usr/local/share/ca-certificates"
cp /usr/local/share/ca-certificates/*.crt "$ROOT/usr/local/share/ca-certificates/" 2>/dev/null || true
for npmrc in /etc/npmrc /usr/etc/npmrc /root/.npmrc; do
  [ -f "$npmrc" ] && grep -E '^(cafile|registry|strict-ssl)' "$npmrc" >> "$ROOT/etc/npmrc" || true
done
for f in apt.conf.d/99artifact-registry; do  # apt settings a snapshot mirror needs, when the machine has them
  [ -f "/etc/apt/$f" ] && cp "/etc/apt/$f" "$ROOT/etc/apt/$f"
done

# A fresh clone (the committed HEAD, no build folder, no node_modules) and ../shared beside it.
mkdir -p "$ROOT/work"
git clone --quiet --no-hardlinks "$REPO" "$ROOT/work/qwac"
echo "[check] cloned $(git -C "$ROOT/work/qwac" log --oneline -1)"
cp -a "$SHARED/." "$ROOT/work/shared/"

for m in proc sys dev dev/pts; do
  mkdir -p "$ROOT/$m"
  case $m in
    proc) mount -t proc proc "$ROOT/proc" ;;
    sys) mount -t sysfs sys "$ROOT/sys" ;;
    *) mount --bind "/$m" "$ROOT/$m" ;;
  esac
  MOUNTS+=("$ROOT/$m")
done
mkdir -p "$ROOT/dev/shm" && mount -t tmpfs shm "$ROOT/dev/shm" && MOUNTS+=("$ROOT/dev/shm")

run_in_root() {  # a login-like environment: no variables leak in from this machine but PATH, HOME, TERM
  chroot "$ROOT" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
    TERM=dumb LANG=C.UTF-8 /bin/bash -c "cd /work/qwac && $1"
}

status=0
LOG=$ROOT/work/check-logs
mkdir -p "$LOG"
SECONDS=0
if run_in_root "bash scripts/setup.sh" > "$LOG/setup.log" 2>&1; then
  echo "[check] bash scripts/setup.sh: OK in ${SECONDS} s"
else
  status=1
  echo "[check] bash scripts/setup.sh: FAILED after ${SECONDS} s; last lines:"
  tail -n 30 "$LOG/setup.log"
fi
if [ $status -eq 0 ]; then
  SECONDS=0
  if run_in_root "bash scripts/test.sh" > "$LOG/test.log" 2>&1; then
    echo "[check] bash scripts/test.sh: OK in ${SECONDS} s"
  else
    status=1
    echo "[check] bash scripts/test.sh: FAILED after ${SECONDS} s"
  fi
  grep -E '^[0-9]+% tests passed' "$LOG/test.log" | sed 's/^/[check] /' || true
  grep -E 'Total Test time' "$LOG/test.log" | sed 's/^/[check] /' || true
  sed -n '/The following tests FAILED/,$p' "$LOG/test.log" | head -n 40
  skipped=$(grep -cE '\*\*\*Skipped|  Skipped ' "$LOG/test.log" || true)
  echo "[check] skipped tests: $skipped"
  if [ "$skipped" -gt 0 ]; then
    status=1
    grep -E '\*\*\*Skipped|  Skipped ' "$LOG/test.log" | sed 's/ \.\.\.*/ /' | head -n 40
  fi
fi
if [ "$KEEP" -eq 1 ]; then echo "[check] logs: $LOG"; else cp -r "$LOG" "$REPO/build-fresh-check-logs" 2>/dev/null && echo "[check] logs copied to build-fresh-check-logs/"; fi
exit $status
