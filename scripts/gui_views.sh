#!/usr/bin/env bash
# Screenshots of every view of the window at 1280×800 in a virtual X display, for a person to
# look at (nothing clipped, nothing overlapping): enrol, unlock (a few moments of an attempt),
# compare (two photos compared), people & settings (and its two confirmations).
# Usage: scripts/gui_views.sh OUT_DIR. Needs xvfb, xdotool and imagemagick. The tabs are clicked
# at their place in the top bar: if the bar changes, the coordinates below change with it.
set -euo pipefail
out=${1:?usage: gui_views.sh OUT_DIR}
mkdir -p "$out"
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${FACEGATE_BIN:-$root/target/debug/facegate}
export FACEGATE_MODELS=${FACEGATE_MODELS:-$root/models}
export FACEGATE_NO_KEYRING=1
display=:${FACEGATE_DISPLAY:-96}
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}
chmod 700 "$XDG_RUNTIME_DIR"
fixtures=$root/assets/fixtures
data=$(mktemp -d)
chmod 700 "$data"
# Someone enrolled from the sample photo, so the feed is recognised and Unlock runs an attempt.
"$bin" --data-dir "$data" user add Eileen >/dev/null
"$bin" --data-dir "$data" capture Eileen --kind verification "$fixtures/astronaut.png" >/dev/null
"$bin" --data-dir "$data" capture Eileen --kind anchor "$fixtures/astronaut.png" >/dev/null
Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
app=
cleanup() { [ -n "$app" ] && kill "$app" 2>/dev/null; kill "$xvfb" 2>/dev/null; rm -rf "$data"; }
trap cleanup EXIT
sleep 1
export DISPLAY=$display
"$bin" --data-dir "$data" >"$out/app.log" 2>&1 &
app=$!
sleep 10
kill -0 "$app" 2>/dev/null || { echo "facegate exited early" >&2; cat "$out/app.log" >&2; exit 1; }
# No window manager gives the window the keyboard: do it, so keys and typing reach it.
xdotool search --name FaceGate | head -1 | xargs -r xdotool windowfocus --sync
shot() { import -window root "$out/$1.png"; echo "screenshot: $out/$1.png"; }
click() { xdotool mousemove "$1" "$2" click 1; sleep "${3:-1}"; }
shot enrol
# A capture: a message fills the line kept for it, and nothing below may move.
click 1040 519 2
shot enrol-message
# "Add files…": the desktop's file dialog, or (with no portal, as under Xvfb) a note saying so.
click 1137 263 4
shot enrol-dialog
click 232 12 1.5; shot unlock-1
sleep 1.5; shot unlock-2
sleep 2; shot unlock-3
click 303 12
# The two path fields of the Compare view, then Compare.
click 300 132 0.3; xdotool type --delay 20 "$fixtures/astronaut.png"; sleep 1
click 300 155 0.3; xdotool type --delay 20 "$fixtures/camera.png"; sleep 1
click 42 178 4
shot compare
click 404 12 1.5; shot settings
# Negatives from the sample photos (one face among them), calibration, the two confirmations.
click 150 249 0.3; xdotool type --delay 20 "$fixtures"; sleep 1
click 400 249 4
click 855 239 3
shot settings-results
click 64 160 1; shot settings-remove
xdotool key Escape; sleep 1
click 651 137 1; shot settings-mbf
xdotool key Escape; sleep 1
shot settings-after
