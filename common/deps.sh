#!/bin/sh
# deps.sh: make sure the Debian packages the project needs are installed.
# Usage: common/deps.sh build|pipeline|test|bench
#   Installs what is missing with apt-get (through sudo when not root), or,
#   where that is impossible, prints the exact command and exits 1.
set -u
what=${1:-build}
pkgs="gcc make pkg-config libyaml-dev libarchive-dev libopenblas-dev liblapacke-dev libjpeg62-turbo-dev libpng-dev zlib1g-dev libmicrohttpd-dev"
case $what in
  build) ;;
  test) pkgs="$pkgs perl parallel gnuplot-nox jq python3-numpy python3-pil python3-faiss curl bc chromium"
        # node and npm for the browser test (playwright-core); a node from
        # elsewhere that brings its own npm is kept
        command -v npm >/dev/null 2>&1 || pkgs="$pkgs nodejs npm" ;;
  pipeline) pkgs="$pkgs parallel gnuplot-nox jq dataset-fashion-mnist" ;;
  bench) pkgs="$pkgs parallel gnuplot-nox jq dataset-fashion-mnist python3-numpy time" ;;
  *) echo "deps.sh: error: unknown target '$what' (build|pipeline|test|bench)" >&2; exit 2 ;;
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
if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq$missing; } >&2; then
  echo "deps: error: apt-get failed; install by hand: $SUDO apt-get update && $SUDO apt-get install -y$missing" >&2
  exit 1
fi
browser
