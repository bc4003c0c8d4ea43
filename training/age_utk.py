#!/usr/bin/env python3
"""FaceGate's own age network (issue 18), trained on `utkface_train` only.

The cheap probes lost (README), so this trains a CNN on the app's own age chip: the 64x64 RGB chip
of `src/vision/attributes/age_gender.rs` (rebuilt in `age_feature_probe.py`, whose fidelity was
measured), with the same normalisation and the same output (`probabilities` over 81 classes, ages
0.25, 1, ..., 80), so the app runs it exactly as it runs dlib's age-v1 and only the file changes.

The network is dlib's age-v1 itself (CC0, a ResNet of 2.7 M weights, `models/age-v1.onnx`),
rebuilt in PyTorch from its ONNX weights and fine-tuned on `utkface_train`. UTKFace's training half
is 94 % adults with 1 % children, so fine-tuning alone would forget children; the loss keeps the
original network's answer as a second target ("learning without forgetting"), and ages are sampled
in inverse square root of their frequency. The chosen epoch is exported, then quantised to int8
(ONNX Runtime's static QDQ quantisation, per-channel weights, calibrated on 512 training chips):
2.8 MB instead of 10.8, so it fits the 5 MB of models/trained/, and faster on a CPU.

Targets per face: a label distribution (a Gaussian over the 81 class ages, wider for the old) and
the expected age's L1 error. Augmentation: mirror, small rotations, scalings and shifts of the
chip, brightness and contrast. Model choice on a seeded tenth of `utkface_train` held out;
`utkface_part1` (the dev set of `facegate eval attributes`) is only reported, adults 18-70.

Seeded; a checkpoint after each epoch in `.setup/training/age/` (outside git), `--resume`.

    .setup/train-venv/bin/python training/age_utk.py --epochs 12
    .setup/train-venv/bin/python training/age_utk.py --epochs 12 --resume   # export again
"""

import argparse
import csv
import hashlib
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import numpy_helper
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from age_feature_probe import ADULT, AGES, CHIP, MEAN, chip  # noqa: E402  the app's chip, once
from quantise import quantise  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared/data"
OUT = ROOT / ".setup/training/age"
SEED = 20261203
CLASS_AGES = torch.tensor(AGES)


def one_face_landmarks(name):
    """YuNet's five points of each one-face image, from the app itself (`facegate represent`)."""
    cache = OUT / f"landmarks_{name}.json"
    if cache.exists():
        return json.loads(cache.read_text())
    exe = ROOT / "target/release/facegate"
    rows = list(csv.DictReader(open(DATA / name / "attributes.csv")))
    kept = []
    for start in range(0, len(rows), 1000):
        batch = rows[start:start + 1000]
        run = subprocess.run(
            [str(exe), "represent", "--data-dir", str(OUT / "data"), "--json",
             *[str(DATA / name / r["path"]) for r in batch]],
            capture_output=True, text=True, env={**os.environ, "FACEGATE_MODELS": str(ROOT / "models")})
        if run.returncode not in (0, 3):  # 3: some image has no face, which is skipped
            sys.exit(f"facegate represent failed: {run.stderr[-2000:]}")
        for r, item in zip(batch, json.loads(run.stdout)):
            faces = item.get("faces") or []
            if len(faces) == 1:
                kept.append({"path": r["path"], "age": float(r["age"]),
                             "landmarks": faces[0]["landmarks"]})
        print(f"  {name}: {min(start + 1000, len(rows))} of {len(rows)}", flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(kept))
    return kept


def chips(name):
    """The app's 64x64 age chips (0..255, float16) and ages of `name`'s one-face images."""
    cache = OUT / f"chips_{name}.npz"
    if not cache.exists():
        faces = one_face_landmarks(name)
        x = np.stack([chip(Image.open(DATA / name / f["path"]).convert("RGB"), f["landmarks"])
                      for f in faces]).astype(np.float16)
        np.savez(cache, x=x, age=np.array([f["age"] for f in faces], np.float32))
    d = np.load(cache)
    return d["x"], d["age"]


class Affine(nn.Module):
    """dlib's inference-time batch norm: a learned per-channel scale and offset."""

    def __init__(self, c):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1, c, 1, 1))
        self.offset = nn.Parameter(torch.zeros(1, c, 1, 1))

    def forward(self, x):
        return x * self.scale + self.offset


class Block(nn.Module):
    """dlib's `res` / `res_down`: two 3x3 convs; going down, a 2x2 average pool shortcut with
    zero channels appended."""

    def __init__(self, cin, cout, down):
        super().__init__()
        self.down = down
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=2 if down else 1, padding=0 if down else 1)
        self.n1 = Affine(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.n2 = Affine(cout)
        self.extra = cout - cin

    def forward(self, x):
        y = self.n2(self.conv2(F.relu(self.n1(self.conv1(x)))))
        if self.down:
            x = F.pad(F.avg_pool2d(x, 2), (0, 0, 0, 0, 0, self.extra))
            # The unpadded stride-2 conv can come out one row and column short of the pool.
            y = F.pad(y, (0, x.shape[3] - y.shape[3], 0, x.shape[2] - y.shape[2]))
        return F.relu(x + y)


class AgeNet(nn.Module):
    """dlib's age-v1 ResNet."""

    def __init__(self, w=64):
        super().__init__()
        self.stem = nn.Conv2d(3, w, 7, stride=2)
        self.n0 = Affine(w)
        self.blocks = nn.Sequential(Block(w, w, False), Block(w, 2 * w, True),
                                    Block(2 * w, 2 * w, False),
                                    Block(2 * w, 4 * w, True),
                                    Block(4 * w, 4 * w, False))
        self.fc = nn.Linear(4 * w, len(AGES))

    def features(self, x):
        """The 256-d pooled features the age layer reads."""
        x = F.max_pool2d(F.relu(self.n0(self.stem(x))), 3, 2)
        return self.blocks(x).mean((2, 3))

    def forward(self, x):
        return self.fc(self.features(x))


def load_dlib_age():
    """age-v1 with its ONNX weights, in graph order (the graph names layers from the output)."""
    g = onnx.load(ROOT / "models/age-v1.onnx").graph
    w = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in g.initializer}
    convs = [n for n in g.node if n.op_type == "Conv"]
    muls = [n for n in g.node if n.op_type == "Mul"]
    adds = [n for n in g.node if n.op_type == "Add" and n.input[1] in w]
    net = AgeNet()
    mods = [(net.stem, net.n0)] + [p for b in net.blocks for p in ((b.conv1, b.n1), (b.conv2, b.n2))]
    with torch.no_grad():
        for (conv, aff), c, m, a in zip(mods, convs, muls, adds):
            conv.weight.copy_(w[c.input[1]])
            conv.bias.copy_(w[c.input[2]])
            aff.scale.copy_(w[m.input[1]])
            aff.offset.copy_(w[a.input[1]])
        gemm = next(n for n in g.node if n.op_type == "Gemm")
        net.fc.weight.copy_(w[gemm.input[1]].T)
        net.fc.bias.copy_(w[gemm.input[2]])
    return net


def normalise(x):
    """0..255 RGB NHWC -> the app's input: (x - mean) / 256, NCHW."""
    return ((x - torch.tensor(MEAN)) / 256.0).permute(0, 3, 1, 2).contiguous()


def augment(x, gen):
    """Mirror, rotation (+-10 deg), scale (0.9-1.1), shift (+-3 px), brightness and contrast."""
    n = x.shape[0]
    u = lambda lo, hi: torch.rand(n, generator=gen) * (hi - lo) + lo
    flip = torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0)
    a, s = u(-10, 10) * math.pi / 180, u(0.9, 1.1)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 1] = s * torch.cos(a) * flip, -s * torch.sin(a)
    theta[:, 1, 0], theta[:, 1, 1] = s * torch.sin(a) * flip, s * torch.cos(a)
    theta[:, :, 2] = torch.stack([u(-3, 3), u(-3, 3)], 1) * 2 / CHIP
    grid = F.affine_grid(theta, x.shape, align_corners=False)
    x = F.grid_sample(x, grid, padding_mode="border", align_corners=False)
    mean = x.mean((1, 2, 3), keepdim=True)
    return (x - mean) * u(0.8, 1.2).view(n, 1, 1, 1) + mean + u(-0.08, 0.08).view(n, 1, 1, 1)


def label_distribution(age):
    """A Gaussian over the class ages around the true age, wider for older faces."""
    age = age.clamp(0, 80)
    sigma = 1.0 + 0.06 * age
    d = torch.exp(-0.5 * ((CLASS_AGES[None] - age[:, None]) / sigma[:, None]) ** 2)
    return d / d.sum(1, keepdim=True)


@torch.no_grad()
def mirrored_probabilities(net, x, prepare=lambda b: b, batch=512):
    """Each of `net`'s outputs (one, or a tuple) as probabilities on chips `x` (0..255 NHWC,
    after `prepare` on the normalised NCHW batch), face and mirror averaged as the app does."""
    net.eval()
    outs = []
    for i in range(0, len(x), batch):
        b = prepare(normalise(torch.from_numpy(x[i:i + batch].astype(np.float32))))
        face, mirror = (o if isinstance(o, tuple) else (o,) for o in (net(b), net(b.flip(3))))
        outs.append([(F.softmax(f, 1) + F.softmax(m, 1)) / 2 for f, m in zip(face, mirror)])
    return [torch.cat(o) for o in zip(*outs)]


def predict(net, x):
    """Expected age and class probabilities, face and mirror averaged (as the app does)."""
    p = mirrored_probabilities(net, x)[0]
    return (p @ CLASS_AGES).numpy(), p


def mae_report(pred, age):
    adult = (age >= ADULT[0]) & (age <= ADULT[1])
    e = np.abs(pred - age)
    return e.mean(), e[adult].mean()


def band_balanced_mae(pred, age):
    """The adults' MAE with every 5-year band weighted alike: a network that pulls everyone to
    the middle ages scores well on a set of mostly 26-35-year-olds, not on this."""
    adult = (age >= ADULT[0]) & (age <= ADULT[1])
    e, band = np.abs(pred - age)[adult], age_band(age[adult])
    return float(np.mean([e[band == b].mean() for b in np.unique(band)]))


def export(net, path, side=CHIP):
    """ONNX with the app's interface: `images` [N,3,side,side] -> `probabilities` (softmax), e.g.
    age's [N,3,64,64] -> [N,81]; returns the file's sha256."""

    class WithSoftmax(nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, images):
            return F.softmax(self.net(images), 1)

    net.eval()
    torch.onnx.export(WithSoftmax(net), torch.zeros(1, 3, side, side), str(path),
                      input_names=["images"], output_names=["probabilities"],
                      dynamic_axes={"images": {0: "N"}, "probabilities": {0: "N"}},
                      opset_version=17, dynamo=False)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def onnx_outputs(path, x, prepare=lambda b: b):
    """An exported file run by ONNX Runtime on 64 px chips `x` (0..255 NHWC, after `prepare` on
    the normalised NCHW batch): each of its outputs, face and mirror averaged as the app does."""
    import onnxruntime as ort
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    out = []
    for i in range(0, len(x), 256):
        b = prepare(normalise(torch.from_numpy(x[i:i + 256].astype(np.float32)))).numpy()
        face = session.run(None, {"images": b})
        mirror = session.run(None, {"images": b[..., ::-1].copy()})
        out.append([(f + m) / 2 for f, m in zip(face, mirror)])
    return [np.concatenate(o) for o in zip(*out)]


def onnx_probabilities(path, x, prepare=lambda b: b):
    """The first output (`probabilities`) of [`onnx_outputs`]."""
    return onnx_outputs(path, x, prepare)[0]


def onnx_mae(path, x, age):
    return mae_report(onnx_probabilities(path, x) @ AGES, age)


def start(args):
    """Seeds torch, sets its threads, makes `args.out`; returns the seeded generator."""
    torch.manual_seed(SEED)
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    return torch.Generator().manual_seed(SEED)


def held_out(ages):
    """The seeded tenth of `utkface_train` kept out of training, for choosing the epoch."""
    return np.random.default_rng(SEED).random(len(ages)) < 0.1


def age_band(ages):
    """5-year bands, everything from 80 on in one."""
    return np.minimum(ages // 5, 16).astype(int)


def age_sampler(ages, gen, power=0.5):
    """Draws training faces in their 5-year age band's frequency to the power -`power`: 0.5 (the
    inverse square root) leans towards the rare ages, 1.0 draws every band as often."""
    band = age_band(ages)
    weight = np.bincount(band, minlength=17)[band] ** -power
    return torch.utils.data.WeightedRandomSampler(torch.tensor(weight), len(ages), True, gen)


def quantise_chips(fp32, int8, chips_):
    """int8 of `fp32`, calibrated on 512 of the training chips `chips_`; returns its sha256."""
    calibration = np.random.default_rng(SEED).choice(len(chips_), 512, replace=False)
    return quantise(fp32, int8, "images", (
        normalise(torch.from_numpy(c[None].astype(np.float32))).numpy()
        for c in chips_[calibration]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--keep", type=float, default=1.0,
                    help="weight of the original network's answer in the loss")
    ap.add_argument("--balance", type=float, default=0.5,
                    help="training faces drawn in their age band's frequency to this power, negated")
    ap.add_argument("--choose-by", choices=["adults", "balanced"], default="adults",
                    help="the held-out figure that picks the epoch: the adults' MAE, or the "
                         "adults' MAE with every 5-year band weighted alike")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=OUT,
                    help="where the checkpoints and ONNX files go (the chips stay cached in "
                         ".setup/training/age)")
    args = ap.parse_args()
    gen, out = start(args), args.out

    xt, at = chips("utkface_train")
    xd, ad = chips("utkface_part1")
    held = held_out(at)
    xtr, atr = xt[~held], at[~held]
    print(f"utkface_train: {len(at)} one-face chips ({(~held).sum()} train, {held.sum()} held out);"
          f" utkface_part1: {len(ad)}", flush=True)

    dlib, net = load_dlib_age(), load_dlib_age()
    dlib.eval()
    pred_h, _ = predict(dlib, xt[held])
    pred_d, _ = predict(dlib, xd)
    print(f"age-v1 as it is: held-out adults {mae_report(pred_h, at[held])[1]:.2f}, part1 all "
          f"{mae_report(pred_d, ad)[0]:.2f}, adults {mae_report(pred_d, ad)[1]:.2f}", flush=True)
    # "Learning without forgetting": the original's distributions over the training chips.
    _, kept_probs = predict(dlib, xtr)

    sampler = age_sampler(atr, gen, args.balance)
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)
    steps = args.epochs * math.ceil(len(atr) / args.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, args.lr, total_steps=steps, pct_start=0.15)
    first_epoch, best = 0, (float("inf"), -1)
    ckpt = out / "last.pt"
    if args.resume and ckpt.exists():
        state = torch.load(ckpt, weights_only=False)  # this script's own file, outside git
        net.load_state_dict(state["net"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        gen.set_state(state["gen"])
        first_epoch, best = state["epoch"] + 1, tuple(state["best"])
    for epoch in range(first_epoch, args.epochs):
        net.train()
        t0, total, seen = time.time(), 0.0, 0
        order = torch.tensor(list(sampler))
        for i in range(0, len(order), args.batch):
            idx = order[i:i + args.batch]
            x = augment(normalise(torch.from_numpy(xtr[idx].astype(np.float32))), gen)
            age = torch.from_numpy(atr[idx])
            with torch.autocast("cpu", dtype=torch.bfloat16):
                logits = net(x)
            logp = F.log_softmax(logits.float(), 1)
            expected = logp.exp() @ CLASS_AGES
            loss = (F.kl_div(logp, label_distribution(age), reduction="batchmean")
                    + args.keep * F.kl_div(logp, kept_probs[idx], reduction="batchmean")
                    + 0.1 * (expected - age.clamp(0, 80)).abs().mean())
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total, seen = total + loss.item() * len(idx), seen + len(idx)
        pred_h, _ = predict(net, xt[held])
        pred_d, _ = predict(net, xd)
        held_adult = mae_report(pred_h, at[held])[1]
        held_balanced = band_balanced_mae(pred_h, at[held])
        d_all, d_adult = mae_report(pred_d, ad)
        print(f"epoch {epoch + 1}/{args.epochs}: loss {total / seen:.3f}, held-out adults "
              f"{held_adult:.2f} (balanced {held_balanced:.2f}, all "
              f"{mae_report(pred_h, at[held])[0]:.2f}), part1 all {d_all:.2f}, adults "
              f"{d_adult:.2f}, {time.time() - t0:.0f} s", flush=True)
        chosen_by = held_adult if args.choose_by == "adults" else held_balanced
        if chosen_by < best[0]:
            best = (float(chosen_by), epoch)
            torch.save(net.state_dict(), out / "best.pt")
        torch.save({"net": net.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                    "gen": gen.get_state(), "epoch": epoch, "best": best}, ckpt)
    net.load_state_dict(torch.load(out / "best.pt"))
    fp32, int8 = out / "age_utk_fp32.onnx", out / "age_utk.onnx"
    export(net, fp32)
    digest = quantise_chips(fp32, int8, xtr)
    print(f"best epoch {best[1] + 1} (held-out {args.choose_by} {best[0]:.2f}), run by ONNX Runtime:")
    for name, path in [("fp32", fp32), ("int8", int8)]:
        d_all, d_adult = onnx_mae(path, xd, ad)
        print(f"  {name}: {path} ({path.stat().st_size} B): part1 all {d_all:.2f}, adults "
              f"{d_adult:.2f}")
    print(f"sha256 of {int8.name}: {digest}")


if __name__ == "__main__":
    main()
