#!/usr/bin/env python3
"""FaceGate's own gender network (issue 18): dlib's gender-v1 fine-tuned on `utkface_train` only.

gender-v1 (CC0, 131 k weights) reads the 32 px chip that the app makes as the 2x2 average of the
64 px age chip, so this trains on exactly the age network's cached chips
(`training/age_utk.py`), halved. The network is rebuilt in PyTorch from its ONNX weights
(four 3x3 convs with dlib's affine batch norm, two average pools, fc 4096 -> 16 -> 2, each fc
after dlib's `multiply` layer, the inference-time stand-in for its dropout) and
fine-tuned with the original's answers kept as a second target ("learning without forgetting"),
as age was: UTKFace is one kind of photo, and a camera at a desk is another.

Augmentation as for age (on the 64 px chip, then halved). Model choice on the same seeded tenth
of `utkface_train` held out; `utkface_part1` (the dev set of `facegate eval attributes`) is only
reported, adults 18-70 as the app's eval does. The export is fp32 (0.5 MB; the network is too
small for int8 to pay), with the app's interface: `images` [N,3,32,32] -> `probabilities` [N,2]
(female, male).

    .setup/train-venv/bin/python training/gender_utk.py --epochs 10
"""

import argparse
import csv
import math
import time
from pathlib import Path

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import numpy_helper

from age_utk import (DATA, ROOT, SEED, Affine, augment, chips, export, mirrored_probabilities,
                     normalise, one_face_landmarks, onnx_probabilities)
from age_feature_probe import ADULT

OUT = ROOT / ".setup/training/gender"


class GenderNet(nn.Module):
    """dlib's gender-v1."""

    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv2d(i, o, 3, padding=1)
                                    for i, o in [(3, 32), (32, 32), (32, 64), (64, 64)]])
        self.norms = nn.ModuleList([Affine(c) for c in (32, 32, 64, 64)])
        self.fc1 = nn.Linear(4096, 16)
        self.fc2 = nn.Linear(16, 2)
        # dlib's `multiply` layers before each fc (what its dropout becomes at inference).
        self.register_buffer("multiply", torch.ones(2))

    def forward(self, x):
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            x = F.relu(norm(conv(x)))
            if i % 2 == 1:
                x = F.avg_pool2d(x, 2)
        x = F.relu(self.fc1(x.flatten(1) * self.multiply[0]))
        return self.fc2(x * self.multiply[1])


def load_dlib_gender():
    """gender-v1 with its ONNX weights."""
    g = onnx.load(ROOT / "models/gender-v1.onnx").graph
    w = {t.name: numpy_helper.to_array(t).copy() for t in g.initializer}
    convs = [n for n in g.node if n.op_type == "Conv"]
    affine = [(n, m) for n, m in zip(g.node, g.node[1:])
              if n.op_type == "Mul" and m.op_type == "Add" and m.input[0] == n.output[0]]
    dropout = [n for n in g.node if n.op_type == "Mul" and n not in [a for a, _ in affine]]
    assert len(convs) == 4 and len(affine) == 4, "not the gender-v1 graph this script knows"
    assert len(dropout) == 2, "not the gender-v1 graph this script knows"
    gemms = [n for n in g.node if n.op_type == "Gemm"]
    net = GenderNet()
    t = lambda a: torch.from_numpy(np.asarray(a, np.float32))
    with torch.no_grad():
        for conv, norm, c, (m, a) in zip(net.convs, net.norms, convs, affine):
            conv.weight.copy_(t(w[c.input[1]]))
            conv.bias.copy_(t(w[c.input[2]]))
            norm.scale.copy_(t(w[m.input[1]]).reshape(norm.scale.shape))
            norm.offset.copy_(t(w[a.input[1]]).reshape(norm.offset.shape))
        net.multiply.copy_(t([next(w[i] for i in n.input if i in w).item() for n in dropout]))
        for fc, n in zip((net.fc1, net.fc2), gemms):
            fc.weight.copy_(t(w[n.input[1]]).T)
            fc.bias.copy_(t(w[n.input[2]]))
    return net


def halve(x):
    """64 px chips (normalised, NCHW) -> the 32 px gender chips, as the app halves them."""
    return F.avg_pool2d(x, 2)


def males(name):
    """Whether each one-face chip of `name` (in `chips(name)`'s order) is labelled male."""
    gender = {r["path"]: r["gender"] for r in csv.DictReader(open(DATA / name / "attributes.csv"))}
    return np.array([gender[f["path"]] == "male" for f in one_face_landmarks(name)])


def male_probability(net, x):
    """P(male), face and mirror averaged as the app does."""
    return mirrored_probabilities(net, x, halve)[0][:, 1].numpy()


def accuracy(p, male, age=None):
    """Accuracy (%) over all faces, or over adults when `age` is given."""
    keep = np.ones(len(male), bool) if age is None else (age >= ADULT[0]) & (age <= ADULT[1])
    return ((p[keep] >= 0.5) == male[keep]).mean() * 100


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--keep", type=float, default=0.5,
                    help="weight of the original network's answer in the loss")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.manual_seed(SEED)
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(SEED)
    OUT.mkdir(parents=True, exist_ok=True)

    xt, at = chips("utkface_train")
    xd, ad = chips("utkface_part1")
    mt, md = males("utkface_train"), males("utkface_part1")
    held = np.random.default_rng(SEED).random(len(at)) < 0.1  # age_utk.py's split
    xtr, mtr = xt[~held], mt[~held]

    dlib, net = load_dlib_gender(), load_dlib_gender()
    ph, pd = male_probability(dlib, xt[held]), male_probability(dlib, xd)
    print(f"gender-v1 as it is: held-out {accuracy(ph, mt[held]):.2f} %, part1 "
          f"{accuracy(pd, md):.2f} %, adults {accuracy(pd, md, ad):.2f} %", flush=True)
    original = torch.stack([1 - torch.from_numpy(male_probability(dlib, xtr)),
                            torch.from_numpy(male_probability(dlib, xtr))], 1)

    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)
    steps = args.epochs * math.ceil(len(xtr) / args.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, args.lr, total_steps=steps, pct_start=0.15)
    best = (-1.0, -1)
    for epoch in range(args.epochs):
        net.train()
        t0, total = time.time(), 0.0
        order = torch.randperm(len(xtr), generator=gen)
        for i in range(0, len(order), args.batch):
            idx = order[i:i + args.batch]
            x = halve(augment(normalise(torch.from_numpy(xtr[idx].astype(np.float32))), gen))
            y = torch.from_numpy(mtr[idx].astype(np.int64))
            logp = F.log_softmax(net(x), 1)
            loss = (F.nll_loss(logp, y) * 0.9 - logp.mean(1).mean() * 0.1  # label smoothing 0.1
                    + args.keep * F.kl_div(logp, original[idx], reduction="batchmean"))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        ph, pd = male_probability(net, xt[held]), male_probability(net, xd)
        held_acc = accuracy(ph, mt[held])
        print(f"epoch {epoch + 1}/{args.epochs}: loss {total / len(xtr):.3f}, held-out "
              f"{held_acc:.2f} %, part1 {accuracy(pd, md):.2f} %, adults "
              f"{accuracy(pd, md, ad):.2f} %, {time.time() - t0:.0f} s", flush=True)
        if held_acc > best[0]:
            best = (held_acc, epoch)
            torch.save(net.state_dict(), OUT / "best.pt")
    net.load_state_dict(torch.load(OUT / "best.pt"))
    path = OUT / "gender_utk.onnx"
    digest = export(net, path, side=32)
    pd = onnx_probabilities(path, xd, halve)[:, 1]
    print(f"best epoch {best[1] + 1} (held-out {best[0]:.2f} %); {path} ({path.stat().st_size} B)"
          f" run by ONNX Runtime: part1 {accuracy(pd, md):.2f} %, adults "
          f"{accuracy(pd, md, ad):.2f} %")
    print(f"sha256 of {path.name}: {digest}")


if __name__ == "__main__":
    main()
