#!/bin/sh
# deps.sh: make sure the Debian packages the project needs are installed.
# Usage: common/deps.sh build|pipeline|test|bench|fuzz
#   Installs what is missing with apt-get (through sudo when not root), or,
#   where that is impossible, prints the exact command and exits 1.
set -u
what=${1:-build}
pkgs="gcc make pkg-config libyaml-dev libarchive-dev libopenblas-dev liblapacke-dev libjpeg62-turbo-dev libpng-dev zlib1g-dev libmicrohttpd-dev"
case $what in
  build) ;;
  # test runs `make pipeline` (fake and smoke stages) inside prove -j2: it
  # needs every pipeline package up front, so that no test starts apt.
  test) pkgs="$pkgs perl parallel gnuplot-nox jq python3-numpy python3-pil python3-faiss python3-sklearn curl bc chromium dataset-fashion-mnist"
        # node and npm for the browser test (playwright-core); a node from
        # elsewhere that brings its own npm is kept
        command -v npm >/dev/null 2>&1 || pkgs="$pkgs nodejs npm" ;;
  pipeline) pkgs="$pkgs parallel gnuplot-nox jq dataset-fashion-mnist" ;;
  bench) pkgs="$pkgs parallel gnuplot-nox jq dataset-fashion-mnist python3-numpy python3-scipy time python3-faiss wrk python3-torch python3-torchvision" ;;
  fuzz) pkgs="$pkgs clang libclang-rt-14-dev libomp-dev python3-numpy python3-pil" ;;
  *) echo "deps.sh: error: unknown target '$what' (build|pipeline|test|bench|fuzz)" >&2; exit 2 ;;
esac
missing=""
for p in $pkgs; do
  st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)
  case $st in *"install ok installed"*) ;; *) missing="$missing $p" ;; esac
done
browser() { # playwright-core (tests/browser/package-lock.json) for t_serve.t
  [ "$what" = test ] || return 0
  b="$(dirname "$0")/../tests/browser"
  [ -d "$b/node_modules/playwright-core" ] && return 0
  echo "deps: installing playwright-core with npm ci in tests/browser" >&2
  (cd "$b" && npm ci --no-audit --no-fund --loglevel=error >&2) || {
    echo "deps: error: npm ci in tests/browser failed (no access to the npm registry?)" >&2; exit 1; }
}
[ -z "$missing" ] && { browser; exit 0; }
echo "deps: missing Debian packages:$missing" >&2
if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
  echo "deps: error: not root and no sudo; run as root: apt-get update && apt-get install -y$missing" >&2
  exit 1
fi
echo "deps: installing with: $SUDO apt-get install -y$missing" >&2
# Another apt or dpkg (unattended-upgrades on a fresh machine, a second make)
# may hold the lock: wait for it, saying so, up to DSAH_APT_WAIT seconds
# (default 600) in all, instead of failing at once.
wait_max=${DSAH_APT_WAIT:-600}
case $wait_max in ''|*[!0-9]*) echo "deps: error: DSAH_APT_WAIT=$wait_max: not a number of seconds" >&2; exit 2 ;; esac
t0=$(date +%s)
apt_run() { # apt_run ARGS...: apt-get, retried while another process holds its lock
  while :; do
    out=$($SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=10 "$@" 2>&1); rc=$?
    [ $rc = 0 ] && return 0
    case $out in
      *"Could not get lock"*|*"Unable to acquire"*|*"Unable to lock"*|*"is another process using it"*)
        waited=$(( $(date +%s) - t0 ))
        if [ "$waited" -ge "$wait_max" ]; then
          printf '%s\n' "$out" >&2
          echo "deps: error: the apt/dpkg lock was still held after ${waited} s (DSAH_APT_WAIT=$wait_max)" >&2
          return 1
        fi
        [ -n "${said_wait:-}" ] || echo "deps: another apt or dpkg holds the lock; waiting for it (up to $wait_max s)" >&2
        said_wait=1
        sleep 5 ;;
      *) printf '%s\n' "$out" >&2; return 1 ;;
    esac
  done
}
if ! { apt_run update -qq && apt_run install -y -qq$missing; }; then
  echo "deps: error: apt-get failed; install by hand: $SUDO apt-get update && $SUDO apt-get install -y$missing" >&2
  exit 1
fi
browser
