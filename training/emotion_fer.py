#!/usr/bin/env python3
"""The emotion network of issue 18: trained on FER2013's Training faces only, chosen on PublicTest.

Recipe (the known one for FER2013 at 48 px): a VGG-style net at half width (8 conv layers,
1.17 M weights, so the ONNX stays under the 5 MB of models/trained/), random 4-px shifts, mirror,
small rotations and scalings, mixup, label smoothing, SGD with nesterov momentum on a one-cycle
schedule. The evaluation images (`fer2013/validation`) carry a filter the training images do not
(contrast x1.2 clipped, then histogram equalisation: `TRAIN_SOURCE.md`), while a camera frame is
unfiltered, so half of the training faces get that filter at random. Validation: each face and
its mirror, probabilities averaged, as the app's attribute models already do.

Seeded; a checkpoint after every epoch (`--out`, outside git) and `--resume`, so a run can be cut
and continued. Runs on a CPU (bf16 autocast where the CPU has it) or a CUDA GPU. Data is read from
../shared/data, or from a pack made by `--pack FILE` (one compressed file, for a machine that has
no ../shared, e.g. a lent GPU machine).

    .setup/train-venv/bin/python training/emotion_fer.py --epochs 40 --out DIR
    .setup/train-venv/bin/python training/emotion_fer.py --limit 2000 --epochs 1   # a smoke run

At the end: the ONNX export (input `images` [N,1,48,48] grey 0..255, output `probabilities`
[N,7] in the app's order) in fp32 and in int8 (the file the app runs), each scored on PublicTest
by ONNX Runtime, the int8 one's confusion matrix and sha256. Each run also keeps its network alone
(`member_fp32.onnx`); `--average-with` other runs' member files makes the export the mean of them
all, one graph (`make train-emotion`, training/README.md). `--export-only` redoes the export.
`--teacher FILE...` adds the mean answer of exported networks as a second target (distillation:
the app's second network learnt from the mean of the pair before it; training/README.md).
`--width 1.5` makes every layer 1.5 times as wide (2.64 M weights): both of the app's networks
(`make train-emotion`). `--side 40` makes the network read the centred 40 px window of each 48 px
face (the shifts of the augmenting warp then make it a random crop), which costs about 0.7 of the
time a face; the app cuts the same window from its 48 px frame, sized by the file's input
(`EmotionMember`)."""

import argparse
import csv
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quantise import quantise  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FER = ROOT.parent / "shared/data/fer2013"
CLASSES = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]  # the app's order
SIDE = 48  # FER2013's faces; a network may read a centred window of them (`--side`)
SEED = 20261202
KD_T = 2.0  # distillation temperature (Hinton et al.)


def read_split(manifest):
    rows = list(csv.DictReader(open(FER / manifest)))
    x = np.stack([np.asarray(Image.open(FER / r["path"]).convert("L"), np.uint8) for r in rows])
    y = np.array([CLASSES.index(r["emotion"]) for r in rows], np.int64)
    return x, y


def load_data(pack):
    if pack and Path(pack).exists():
        d = np.load(pack)
        return d["xt"], d["yt"], d["xv"], d["yv"]
    (xt, yt), (xv, yv) = read_split("train.csv"), read_split("emotion.csv")
    return xt, yt, xv, yv


def centre(x, side):
    """The centred `side` x `side` window of faces `x` [..., 48, 48] (all of it at 48): what a
    network trained with `--side` reads, in training (after the augmenting warp, so the shifts
    become random crops), in evaluation and in the app (training/README.md)."""
    o = (x.shape[-1] - side) // 2
    return x[..., o:o + side, o:o + side]


def evaluation_filter(x):
    """The filter baked into the evaluation images: contrast x1.2 clipped, then OpenCV's
    equalizeHist (its LUT: round((cdf - cdf_min) * 255 / (n - cdf_min)) per image)."""
    x = np.clip(x.astype(np.float32) * 1.2, 0, 255).astype(np.uint8)
    out = np.empty_like(x)
    for i, img in enumerate(x):
        hist = np.bincount(img.ravel(), minlength=256)
        cdf = hist.cumsum()
        lo = cdf[hist > 0][0]
        n = img.size
        if n == lo:
            out[i] = img
            continue
        lut = np.clip(np.round((cdf - lo) * 255.0 / (n - lo)), 0, 255).astype(np.uint8)
        out[i] = lut[img]
    return out


class Net(nn.Module):
    """VGG-style, half width unless `widths` says otherwise; input grey 0..255, output logits."""

    WIDTHS = (32, 64, 128, 256)

    def __init__(self, widths=WIDTHS):
        super().__init__()
        layers, c = [], 1
        for w in widths:
            for _ in range(2):
                layers += [nn.Conv2d(c, w, 3, padding=1, bias=False), nn.BatchNorm2d(w),
                           nn.ReLU(inplace=True)]
                c = w
            layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        self.drop = nn.Dropout(0.4)
        self.fc = nn.Linear(c, len(CLASSES))

    def forward(self, x):
        x = (x / 255.0 - 0.5) / 0.25
        x = self.features(x)
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.fc(self.drop(x))


class Export(nn.Module):
    """What the app runs: probabilities, named as its other attribute models' outputs."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, images):
        return F.softmax(self.net(images), dim=1)


def augment(x, gen):
    """Per face: a shift of up to 4 px, a mirror, a rotation of up to 10° and a scaling of up to
    10 %, as one affine warp with reflected borders (a float batch [N,1,48,48])."""
    n = x.shape[0]
    u = lambda: torch.rand(n, generator=gen) * 2 - 1
    angle, scale = u() * math.radians(10), 1 + u() * 0.1
    shift = torch.stack([u(), u()], 1) * (4 / (SIDE / 2))  # grid units: the half side is 1
    mirror = torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos * mirror, -sin, shift[:, 0]], 1),
                         torch.stack([sin * mirror, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, padding_mode="reflection", align_corners=False)


def evaluate(net, x, y, device, side, batch=512):
    net.eval()
    x = centre(x, side)
    probs = []
    with torch.no_grad(), autocast(device):
        for s in range(0, len(x), batch):
            b = torch.from_numpy(np.ascontiguousarray(x[s:s + batch])).float()[:, None].to(device)
            b = b.contiguous(memory_format=torch.channels_last)
            p = F.softmax(net(b).float(), 1) + F.softmax(net(b.flip(3)).float(), 1)
            probs.append((p / 2).cpu())
    probs = torch.cat(probs).numpy()
    pred = probs.argmax(1)
    confusion = np.zeros((7, 7), np.int64)
    np.add.at(confusion, (y, pred), 1)
    return (pred == y).mean(), confusion


def autocast(device):
    bf16 = device.type == "cuda" or "avx512_bf16" in open("/proc/cpuinfo").read()
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--limit", type=int, help="train on the first N shuffled faces (smoke runs)")
    ap.add_argument("--out", type=Path, default=ROOT / ".setup/training/emotion")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--pack", help="read data from (or, with --pack-only, write it to) this .npz")
    ap.add_argument("--pack-only", action="store_true")
    ap.add_argument("--seed", type=int, default=SEED,
                    help="another seed trains another member for an averaged ensemble")
    ap.add_argument("--export-only", action="store_true",
                    help="skip training: export the best checkpoint in --out")
    ap.add_argument("--teacher", type=Path, nargs="*", default=[],
                    help="exported networks (e.g. the app's pair) whose mean answer on the "
                         "training faces becomes a second target: distilling them into one net")
    ap.add_argument("--teacher-weight", type=float, default=0.5)
    ap.add_argument("--width", type=float, default=1.0,
                    help="channel multiplier on the half-width VGG (1.5: 48..384 channels)")
    ap.add_argument("--side", type=int, default=SIDE,
                    help="read the centred side x side window of each 48 px face (cheaper: the "
                         "time falls with the area)")
    ap.add_argument("--average-with", type=Path, nargs="*", default=[],
                    help="fp32 ONNX files of other runs to average the exported network with")
    args = ap.parse_args()
    assert 32 <= args.side <= SIDE, "--side is a window of the 48 px face"

    xt, yt, xv, yv = load_data(args.pack)
    if args.pack_only:
        np.savez_compressed(args.pack, xt=xt, yt=yt, xv=xv, yv=yv)
        print(f"{args.pack}: {Path(args.pack).stat().st_size / 2**20:.1f} MiB")
        return
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    if args.limit:
        keep = rng.permutation(len(xt))[:args.limit]
        xt, yt = xt[keep], yt[keep]
    # The evaluation filter on a random half of the training faces, fixed once (seeded).
    filtered = rng.random(len(xt)) < 0.5
    xt = xt.copy()
    xt[filtered] = evaluation_filter(xt[filtered])
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.set_num_threads(os.cpu_count())
    # The teacher's log-probabilities at temperature KD_T, face and mirror averaged (the random
    # mirror of training must not change the target); shifts and turns are small enough to keep.
    teacher = None
    if args.teacher:
        p = np.mean([onnx_probabilities(t, xt) for t in args.teacher], 0)
        teacher = torch.log_softmax(torch.from_numpy(np.log(np.maximum(p, 1e-8))) / KD_T, 1)
        names = " + ".join(str(t) for t in args.teacher)
        print(f"teacher {names}: {(p.argmax(1) == yt).mean() * 100:.2f} % on the "
              "training faces", flush=True)
    print(f"{len(xt)} training faces, {len(xv)} PublicTest faces; {device}, "
          f"{torch.get_num_threads()} threads")

    net = Net(tuple(round(w * args.width) for w in Net.WIDTHS)).to(device)
    net = net.to(memory_format=torch.channels_last)
    weights = sum(p.numel() for p in net.parameters())
    steps = math.ceil(len(xt) / args.batch)
    opt = torch.optim.SGD(net.parameters(), lr=args.lr, momentum=0.9, nesterov=True,
                          weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, epochs=args.epochs,
                                                steps_per_epoch=steps, pct_start=0.15)
    args.out.mkdir(parents=True, exist_ok=True)
    ckpt, best_path = args.out / "last.pt", args.out / "best.pt"
    start, best, history = 0, 0.0, []
    if args.resume and ckpt.exists():
        # This script's own file, outside git; older ones hold a numpy scalar (weights_only).
        state = torch.load(ckpt, map_location=device, weights_only=False)
        net.load_state_dict(state["net"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        start, best, history = state["epoch"], state["best"], state["history"]
        print(f"resumed after epoch {start} (best so far {best * 100:.2f} %)")
    gen = torch.Generator().manual_seed(args.seed)
    xt_t, yt_t = torch.from_numpy(xt), torch.from_numpy(yt)
    for epoch in range(start, start if args.export_only else args.epochs):
        gen.manual_seed(args.seed + epoch)  # a resumed run sees the batches an unbroken one would
        net.train()
        t0, total = time.time(), 0.0
        order = torch.randperm(len(xt), generator=gen)
        mix = np.random.default_rng(args.seed + epoch)
        for s in range(steps):
            idx = order[s * args.batch:(s + 1) * args.batch]
            x = centre(augment(xt_t[idx].float()[:, None], gen), args.side).to(device)
            x = x.contiguous(memory_format=torch.channels_last)
            y = yt_t[idx].to(device)
            lam = float(mix.beta(0.2, 0.2))
            perm = torch.randperm(len(idx), generator=gen).to(device)
            x = lam * x + (1 - lam) * x[perm]
            with autocast(device):
                logits = net(x).float()
            loss = lam * F.cross_entropy(logits, y, label_smoothing=0.1) + \
                (1 - lam) * F.cross_entropy(logits, y[perm], label_smoothing=0.1)
            if teacher is not None:
                t = lam * teacher[idx].exp() + (1 - lam) * teacher[idx][perm.cpu()].exp()
                kd = F.kl_div(F.log_softmax(logits / KD_T, 1), t.to(device), reduction="batchmean")
                loss = (1 - args.teacher_weight) * loss + args.teacher_weight * KD_T ** 2 * kd
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
        acc, confusion = evaluate(net, xv, yv, device, args.side)
        history.append({"epoch": epoch + 1, "loss": total / steps, "val": float(acc),
                        "seconds": time.time() - t0})
        print(f"epoch {epoch + 1}/{args.epochs}: loss {total / steps:.3f}, PublicTest "
              f"{acc * 100:.2f} % (face + mirror), {time.time() - t0:.0f} s", flush=True)
        if acc > best:
            best = float(acc)
            torch.save({"net": net.state_dict(), "epoch": epoch + 1, "val": float(acc)}, best_path)
        torch.save({"net": net.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                    "epoch": epoch + 1, "best": best, "history": history}, ckpt)

    state = torch.load(best_path, map_location=device)
    net.load_state_dict(state["net"])
    acc, _ = evaluate(net, xv, yv, device, args.side)
    print(f"best epoch {state['epoch']}: PublicTest {acc * 100:.2f} % (PyTorch), {weights} weights")
    if history:
        (args.out / "report.json").write_text(json.dumps(
            {"best_epoch": state["epoch"], "public_test": float(acc), "weights": weights,
             "history": history}, indent=1))
    export(net, args.out, xt, xv, yv, args.side, args.average_with)


def export(net, out, xt, xv, yv, side=SIDE, average_with=()):
    """Exports `net` (fp32 ONNX, averaged with the fp32 networks `average_with` when given), then
    the app's int8 file `out/emotion_fer.onnx`; reports both as ONNX Runtime runs them, on the
    centred `side` px window of the (48 px) faces `xv`."""
    net.eval().float().cpu()
    # The member alone is kept beside the mean, so a later run can average with it.
    member, fp32 = out / "member_fp32.onnx", out / "emotion_fer_fp32.onnx"
    torch.onnx.export(Export(net), torch.zeros(1, 1, side, side), member,
                      input_names=["images"], output_names=["probabilities"],
                      dynamic_axes={"images": {0: "N"}, "probabilities": {0: "N"}},
                      opset_version=17, dynamo=False)
    average_onnx([member, *average_with], fp32)
    # Calibrated on training faces, half with the evaluation filter, as the network was trained.
    rng = np.random.default_rng(SEED)
    calibration = xt[rng.permutation(len(xt))[:512]].copy()
    calibration[::2] = evaluation_filter(calibration[::2])
    calibration = centre(calibration, side)
    int8 = out / "emotion_fer.onnx"
    digest = quantise(fp32, int8, "images", (c[None, None].astype(np.float32) for c in calibration))
    report = {}
    scored = [("member fp32", member)] if average_with else []
    for name, path in scored + [("fp32", fp32), ("int8", int8)]:
        acc, confusion = onnx_accuracy(path, xv, yv)
        print(f"{name}: {path} ({path.stat().st_size} B): PublicTest {acc * 100:.2f} % "
              "(face + mirror, ONNX Runtime)")
        report[name] = {"public_test": float(acc), "bytes": path.stat().st_size}
    print("int8 confusion (rows: label, columns: predicted): " + " ".join(c[:3] for c in CLASSES))
    for c, row in zip(CLASSES, confusion):
        print(f"  {c:9s} " + " ".join(f"{v:4d}" for v in row)
              + f"   recall {row[CLASSES.index(c)] / row.sum() * 100:.0f} %")
    print(f"sha256 of {int8.name}: {digest}")
    report.update(confusion=confusion.tolist(), sha256=digest,
                  averaged_with=[str(p) for p in average_with])
    (out / "export.json").write_text(json.dumps(report, indent=1))


def average_onnx(paths, merged):
    """One ONNX graph whose `probabilities` are the mean of the networks in `paths` (each with
    the app's `images` -> `probabilities` interface): an ensemble the app runs as one model."""
    import onnx
    from onnx import compose, helper

    graph_nodes, inits, outs = [], [], []
    for i, path in enumerate(paths):
        m = compose.add_prefix(onnx.load(str(path)), f"n{i}/")
        graph_nodes.append(helper.make_node("Identity", ["images"], [f"n{i}/images"]))
        graph_nodes += m.graph.node
        inits += m.graph.initializer
        outs.append(f"n{i}/probabilities")
        opset = m.opset_import
    graph_nodes.append(helper.make_node("Sum", outs, ["sum"]))
    inits.append(onnx.numpy_helper.from_array(np.array(1 / len(paths), np.float32), "share"))
    graph_nodes.append(helper.make_node("Mul", ["sum", "share"], ["probabilities"]))
    first = onnx.load(str(paths[0])).graph
    graph = helper.make_graph(graph_nodes, "emotion_mean", list(first.input), list(first.output),
                              inits)
    onnx.save(helper.make_model(graph, opset_imports=opset), str(merged))


def onnx_views(session, x):
    """One exported network's probabilities [N,7] for faces `x` [N,48,48] and, apart, for their
    mirrors. It reads the centred window its input declares, as the app's `EmotionMember` does,
    so 48 and 40 px files mix (a teacher, `emotion_pairs.py`)."""
    x = centre(x, session.get_inputs()[0].shape[2])
    face, mirror = [], []
    for i in range(0, len(x), 256):
        b = np.ascontiguousarray(x[i:i + 256, None], np.float32)
        face.append(session.run(None, {"images": b})[0])
        mirror.append(session.run(None, {"images": b[..., ::-1].copy()})[0])
    return np.concatenate(face), np.concatenate(mirror)


def onnx_probabilities(path, x):
    """An exported file's probabilities for faces `x` [N,48,48], face and mirror averaged."""
    import onnxruntime as ort
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    face, mirror = onnx_views(session, x)
    return (face + mirror) / 2


def onnx_accuracy(path, x, y):
    """PublicTest accuracy and confusion of an exported file, face and mirror averaged."""
    pred = onnx_probabilities(path, x).argmax(1)
    confusion = np.zeros((7, 7), np.int64)
    np.add.at(confusion, (y, pred), 1)
    return (pred == y).mean(), confusion

if __name__ == "__main__":
    main()
