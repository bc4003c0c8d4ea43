#!/usr/bin/env python3
"""Age and gender read off the face embedding FaceGate already computes for every face.

The probe is trained on `../shared/data/utkface_train` only. Its inputs are the app's own
embeddings, made by `facegate represent` (YuNet, the 5-point alignment, the embedder), so the
probe sees at run time exactly what it was trained on. A tenth of the training people (seeded) is
held out to choose the model size; `utkface_part1` (dev) is only reported, never used to choose.
On it these probes lost to the current models (see training/README.md), so they are written to
.setup/training/ for inspection, not to models/trained/.

    .setup/train-venv/bin/python training/age_gender_probe.py --model sface

Writes .setup/training/{age,gender}_probe_<model>.onnx and prints their sha256.
"""

import argparse
import csv
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from skl2onnx import to_onnx
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared/data/utkface_train"
DEV = ROOT.parent / "shared/data/utkface_part1"
SEED = 20261202
BATCH = 1500


def embeddings(exe: Path, model: str, cache: Path, data: Path = DATA):
    """(path, embedding) for every image of `data` with one face, via `facegate represent`."""
    if cache.exists():
        return json.loads(cache.read_text())
    rows = list(csv.DictReader(open(data / "attributes.csv")))
    out = {}
    for start in range(0, len(rows), BATCH):
        paths = [str(data / r["path"]) for r in rows[start : start + BATCH]]
        run = subprocess.run(
            # An empty data dir: the default preprocessing, whatever this user has saved.
            [str(exe), "represent", "--data-dir", str(cache.parent / "data"), "--model", model,
             "--json", *paths],
            capture_output=True,
            text=True,
        )
        for item in json.loads(run.stdout):
            faces = item.get("faces") or []
            if len(faces) == 1:
                out[item["path"]] = faces[0]["embedding"]
        print(f"  {min(start + BATCH, len(rows))} of {len(rows)} images, {len(out)} with one face",
              file=sys.stderr)
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(out))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=["sface", "mbf"], default="sface")
    ap.add_argument("--exe", type=Path, default=ROOT / "target/release/facegate")
    args = ap.parse_args()
    cache = ROOT / f".setup/training/utkface_train_{args.model}.json"
    emb = embeddings(args.exe, args.model, cache)
    rows = [r for r in csv.DictReader(open(DATA / "attributes.csv")) if str(DATA / r["path"]) in emb]
    x = np.array([emb[str(DATA / r["path"])] for r in rows], dtype=np.float32)
    age = np.array([float(r["age"]) for r in rows], dtype=np.float32)
    male = np.array([r["gender"] == "male" for r in rows], dtype=np.int64)
    # Held out by image, seeded; UTKFace names no identities, so some people may sit on both
    # sides: this split only picks the model size, it reports nothing.
    rng = np.random.default_rng(SEED)
    held = rng.random(len(rows)) < 0.1
    adult = (age >= 18) & (age <= 70)  # as `facegate eval attributes`
    print(f"{args.model}: {len(rows)} training faces ({(~held).sum()} fit, {held.sum()} held out)")

    best = None
    for hidden in [(), (64,), (128,), (256,)]:
        head = (
            MLPRegressor(hidden_layer_sizes=hidden, alpha=1e-2, max_iter=400,
                         early_stopping=True, random_state=SEED)
            if hidden
            else Ridge(alpha=10.0)
        )
        reg = make_pipeline(StandardScaler(), head)
        reg.fit(x[~held], age[~held])
        err = np.abs(reg.predict(x[held]) - age[held])
        mae, mae_adult = err.mean(), err[adult[held]].mean()
        print(f"  age {hidden or 'ridge'}: held-out MAE {mae:.2f}, adults {mae_adult:.2f}")
        if best is None or mae_adult < best[0]:
            best = (mae_adult, hidden, reg)
    _, hidden, reg = best
    reg.fit(x, age)
    gen = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
    gen.fit(x[~held], male[~held])
    acc = (gen.predict(x[held]) == male[held]).mean()
    print(f"  gender logistic: held-out accuracy {acc * 100:.2f} %")
    gen.fit(x, male)

    # The dev figures, for the record (the adult range of `facegate eval attributes`).
    dev = embeddings(args.exe, args.model, cache.with_name(f"utkface_part1_{args.model}.json"), DEV)
    dev_rows = [r for r in csv.DictReader(open(DEV / "attributes.csv")) if str(DEV / r["path"]) in dev]
    xd = np.array([dev[str(DEV / r["path"])] for r in dev_rows], dtype=np.float32)
    ad = np.array([float(r["age"]) for r in dev_rows], dtype=np.float32)
    md = np.array([r["gender"] == "male" for r in dev_rows], dtype=np.int64)
    err = np.abs(reg.predict(xd) - ad)
    print(f"  dev utkface_part1 ({len(dev_rows)} faces): age {hidden or 'ridge'} MAE {err.mean():.2f},"
          f" adults 18-70 {err[(ad >= 18) & (ad <= 70)].mean():.2f};"
          f" gender {(gen.predict(xd) == md).mean() * 100:.2f} %")

    dest = ROOT / ".setup/training"
    dest.mkdir(parents=True, exist_ok=True)
    dim = x.shape[1]
    for name, est, opts in [
        (f"age_probe_{args.model}.onnx", reg, None),
        (f"gender_probe_{args.model}.onnx", gen, {id(gen): {"zipmap": False}}),
    ]:
        onx = to_onnx(est, x[:1], options=opts, target_opset=17)
        path = dest / name
        path.write_bytes(onx.SerializeToString())
        print(f"{path.relative_to(ROOT)}: {path.stat().st_size} bytes, "
              f"sha256 {hashlib.sha256(path.read_bytes()).hexdigest()}, input [1, {dim}]")


if __name__ == "__main__":
    main()
