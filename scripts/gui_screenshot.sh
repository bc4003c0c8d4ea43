#!/usr/bin/env bash
# Starts FaceGate in a virtual X display and saves a screenshot, so a person can look at what the
# app shows. Usage: scripts/gui_screenshot.sh OUT.png [SECONDS] [facegate args...]
# Needs xvfb and imagemagick (installed by `make setup`).
set -euo pipefail
out=${1:?usage: gui_screenshot.sh OUT.png [SECONDS] [facegate args...]}
wait_s=${2:-8}
shift $(( $# >= 2 ? 2 : 1 ))
bin=${FACEGATE_BIN:-target/debug/facegate}
# The binary does not look in the source tree for its models: hand it this checkout's.
export FACEGATE_MODELS=${FACEGATE_MODELS:-$(cd "$(dirname "$0")/.." && pwd)/models}
display=:${FACEGATE_DISPLAY:-97}
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}
chmod 700 "$XDG_RUNTIME_DIR"
Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
app=
# Each kill may find its process gone already (an app that exited early); under `set -e` a failed
# kill would end the trap before Xvfb is stopped, leaving the display taken for the next run.
cleanup() {
  if [ -n "$app" ]; then kill "$app" 2>/dev/null || true; fi
  kill "$xvfb" 2>/dev/null || true
}
trap cleanup EXIT
sleep 1
DISPLAY=$display "$bin" "$@" &
app=$!
sleep "$wait_s"
kill -0 "$app" 2>/dev/null || { echo "facegate exited early" >&2; exit 1; }
DISPLAY=$display import -window root "$out"
echo "screenshot: $out"
