#!/usr/bin/env python3
"""Age read off the current age network's own features, refit on `utkface_train` (issue 18).

The embedding probe (`age_gender_probe.py`) lost to the current model on the dev set, so this
tries the next cheapest thing: keep dlib's age network (`models/age-v1.onnx`, made by
`make setup`) and refit only what follows its 256-d pooled features (the `layer_1_flatten`
tensor), or recalibrate its expected age (isotonic). The chip is the app's: YuNet's five
landmarks from `facegate represent`, a similarity transform onto the app's chip template at 4x
and a 4x4 box average, the face and its mirror. Its fidelity is checked by the unchanged model's
dev figure, which should be the app's (`facegate eval attributes`: adults MAE 7.11).

Model choices are made on a seeded tenth of `utkface_train` held out; `utkface_part1` (dev) is
only reported. Nothing is written to models/: this is a measurement.

    make train-attributes    (or .setup/train-venv/bin/python training/age_feature_probe.py)
"""

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from PIL import Image
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import Ridge
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared/data"
CACHE = ROOT / ".setup/training"
SEED = 20261202
# The app's chip (src/vision/attributes/age_gender.rs): template, mean, size, supersampling.
TEMPLATE = np.array([[0.3029, 0.2876], [0.6746, 0.2894], [0.4853, 0.5098], [0.3275, 0.6692],
                     [0.6478, 0.6707]])
MEAN = np.array([122.782, 117.001, 104.298], np.float32)
# The app supersamples its chip 1-4x by the face's size (`supersample` in age_gender.rs: 2x for
# UTKFace's faces); training keeps 4x, which gave the same part 1 figures within noise.
CHIP, SUPER = 64, 4
AGES = np.array([0.25] + list(range(1, 81)), np.float32)
ADULT = (18, 70)  # as `facegate eval attributes`


def similarity(src, dst):
    """Least-squares similarity (rotation, scale, shift) taking src points onto dst."""
    ms, md = src.mean(0), dst.mean(0)
    s, d = src - ms, dst - md
    n = (s ** 2).sum()
    a = (s[:, 0] * d[:, 0] + s[:, 1] * d[:, 1]).sum() / n
    b = (s[:, 0] * d[:, 1] - s[:, 1] * d[:, 0]).sum() / n
    m = np.array([[a, -b], [b, a]])
    return m, md - m @ ms


def chip(img, landmarks):
    big = CHIP * SUPER
    m, t = similarity(np.array(landmarks), TEMPLATE * big + (SUPER - 1) / 2)
    mi = np.linalg.inv(m)
    ti = -mi @ t
    warped = img.transform((big, big), Image.AFFINE,
                           (mi[0, 0], mi[0, 1], ti[0], mi[1, 0], mi[1, 1], ti[1]),
                           resample=Image.BILINEAR)
    return np.asarray(warped, np.float32).reshape(CHIP, SUPER, CHIP, SUPER, 3).mean((1, 3))


def features(name, session, exe):
    """Pooled features and class probabilities (face and mirror) of each one-face image."""
    cache = CACHE / f"age_features_{name}.npz"
    if cache.exists():
        return np.load(cache)
    rows = list(csv.DictReader(open(DATA / name / "attributes.csv")))
    feats, probs, keep = [], [], []
    for start in range(0, len(rows), 1000):
        paths = [str(DATA / name / r["path"]) for r in rows[start:start + 1000]]
        run = subprocess.run([str(exe), "represent", "--data-dir", str(CACHE / "data"), "--json",
                              *paths], capture_output=True, text=True)
        batch = []
        for i, item in enumerate(json.loads(run.stdout)):
            faces = item.get("faces") or []
            if len(faces) != 1:
                continue
            c = chip(Image.open(item["path"]).convert("RGB"), faces[0]["landmarks"])
            batch += [c, c[:, ::-1]]
            keep.append(start + i)
        x = ((np.stack(batch) - MEAN) / 256.0).transpose(0, 3, 1, 2).astype(np.float32)
        p, f = session.run(["probabilities", "layer_1_flatten"], {"images": x})
        probs.append(p.reshape(-1, 2, p.shape[1]))
        feats.append(f.reshape(-1, 2, f.shape[1]))
        print(f"  {name}: {min(start + 1000, len(rows))} of {len(rows)}", file=sys.stderr)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(cache, feats=np.concatenate(feats), probs=np.concatenate(probs),
             age=np.array([float(rows[i]["age"]) for i in keep]))
    return np.load(cache)


def main():
    exe = ROOT / "target/release/facegate"
    model = onnx.load(ROOT / "models/age-v1.onnx")
    model.graph.output.append(
        onnx.helper.make_tensor_value_info("layer_1_flatten", onnx.TensorProto.FLOAT, None))
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    train, dev = features("utkface_train", session, exe), features("utkface_part1", session, exe)
    xt, at = train["feats"].mean(1), train["age"]
    xd, ad = dev["feats"].mean(1), dev["age"]
    held = np.random.default_rng(SEED).random(len(at)) < 0.1
    t_adult = (at >= ADULT[0]) & (at <= ADULT[1])
    d_adult = (ad >= ADULT[0]) & (ad <= ADULT[1])
    for n, a in [("utkface_train", at), ("utkface_part1", ad)]:
        share = lambda lo, hi: ((a >= lo) & (a <= hi)).mean() * 100
        print(f"{n}: {len(a)} faces, median age {np.median(a):.0f}, under 13: {share(0, 12):.0f} %,"
              f" adults {share(*ADULT):.0f} %")
    print("| age estimate | held-out tenth of utkface_train, adults | utkface_part1 all | adults |")
    print("|---|---:|---:|---:|")

    def report(name, pred_train, pred_dev):
        e_t, e_d = np.abs(pred_train - at)[held & t_adult], np.abs(pred_dev - ad)
        print(f"| {name} | {e_t.mean():.2f} | {e_d.mean():.2f} | {e_d[d_adult].mean():.2f} |",
              flush=True)

    base_t, base_d = train["probs"].mean(1) @ AGES, dev["probs"].mean(1) @ AGES
    report("current model (expected age)", base_t, base_d)
    iso = IsotonicRegression(out_of_bounds="clip").fit(base_t[~held], at[~held])
    report("current model, isotonic recalibration", iso.predict(base_t), iso.predict(base_d))
    for alpha in [1.0, 100.0]:
        r = make_pipeline(StandardScaler(), Ridge(alpha=alpha)).fit(xt[~held], at[~held])
        report(f"ridge on its features (alpha {alpha:g})", r.predict(xt), r.predict(xd))
    for hidden in [(128,), (256,)]:
        r = make_pipeline(StandardScaler(), MLPRegressor(
            hidden_layer_sizes=hidden, alpha=0.1, max_iter=500, early_stopping=True,
            random_state=SEED)).fit(xt[~held], at[~held])
        report(f"MLP {hidden[0]} on its features", r.predict(xt), r.predict(xd))


if __name__ == "__main__":
    main()
