#!/usr/bin/env python3
"""FaceGate's own ONNX export of Minivision's MiniFASNet pair (issue 16), from the pinned `.pth`.

No registry carries these models, so until now the app shipped a third party's ONNX export
(yakhyo/face-anti-spoofing) as it was. This builds the two networks from their upstream weights
instead, so what the app runs can be traced to Minivision's own files:

1. checks each `.pth` in ../shared/models/minifasnet/ against the sha256 pinned below (the ones
   SOURCE.md lists: minivision-ai/Silent-Face-Anti-Spoofing @ b6d5f04a);
2. builds the networks with deepface's copy of upstream's `MiniFASNet.py` (Apache-2.0; deepface
   itself is MIT and is installed without its dependencies: only this torch module is used),
   with the 5x5 last kernel that upstream's 80x80 models use, and loads the weights strictly;
3. exports each in eval mode (BatchNorm folded into the convolutions) to
   models/bundled/MiniFASNetV2.onnx and MiniFASNetV1SE.onnx, input `input` [1,3,80,80] (BGR,
   0..255), output `output` (3 logits), as the third party's files were, so nothing else changes;
4. checks the export on the same inputs against PyTorch itself and against the third party's
   export (its sha256 pinned too), and fails if any logit differs by more than 1e-4, before the
   file replaces the committed one. The inputs are noise over 0..255 and the faces of
   ../shared/data/minivision_antispoof and msu_mfsd_frames, centre-cropped;
5. says whether the file is the one models/manifest.toml pins (`source_sha256`).

Deterministic for the pinned torch and onnx: a second run writes the same bytes. Run by
`make export-minifasnet` (not part of `make test`); adopting new files means their sha256 in
models/manifest.toml (`source_sha256`, and `sha256` after `make setup` rewrites the PRelus).
"""

import hashlib
import sys
import tomllib
from collections import OrderedDict
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from PIL import Image

from deepface.models.spoofing.pytorch.FasNetBackbone import MiniFASNetV1SE, MiniFASNetV2

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
WEIGHTS = SHARED / "models/minifasnet"
MODELS = ROOT / "models"
TOLERANCE = 1e-4

# (network, upstream weights and their sha256, the third party's export and its sha256, our
# file under models/bundled/ by the manifest's `path`), as ../shared/models/minifasnet/SOURCE.md
# pins them.
NETWORKS = [
    (MiniFASNetV2,
     "2.7_80x80_MiniFASNetV2.pth",
     "a5eb02e1843f19b5386b953cc4c9f011c3f985d0ee2bb9819eea9a142099bec0",
     "MiniFASNetV2.onnx", "4eed38f0bde33c9b805942a5f25e42ce1161e2bda545254be622be957727794e",
     "bundled/MiniFASNetV2.onnx"),
    (MiniFASNetV1SE,
     "4_0_0_80x80_MiniFASNetV1SE.pth",
     "84ee1d37d96894d5e82de5a57df044ef80a58be2b218b5ed7cdfd875ec2f5990",
     "MiniFASNetV1SE.onnx", "d819a69bac6b9ade2a0f4d9b60b618e1260f7bf3ba1fddff6c5d82131cb1083f",
     "bundled/MiniFASNetV1SE.onnx"),
]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def checked(path: Path, digest: str) -> Path:
    if sha256(path) != digest:
        sys.exit(f"{path}: sha256 is not the pinned {digest}")
    return path


def load(build, pth: Path) -> torch.nn.Module:
    # A plain state dict saved from nn.DataParallel: every key starts with `module.`.
    state = torch.load(pth, map_location="cpu", weights_only=True)
    state = OrderedDict((k.removeprefix("module."), v) for k, v in state.items())
    net = build(conv6_kernel=(5, 5))
    net.load_state_dict(state, strict=True)
    return net.eval()


def inputs() -> list:
    """Noise over the whole input range, then real faces the way the app feeds them."""
    rng = np.random.default_rng(20261203)
    batch = [rng.uniform(0, 255, (1, 3, 80, 80)).astype(np.float32) for _ in range(8)]
    faces = sorted((SHARED / "data/minivision_antispoof").rglob("*.jpg"))
    faces += sorted((SHARED / "data/msu_mfsd_frames").rglob("*.jpg"))[::4]
    for path in faces:
        img = Image.open(path).convert("RGB")
        side = min(img.size)
        left, top = (img.width - side) // 2, (img.height - side) // 2
        crop = img.crop((left, top, left + side, top + side)).resize((80, 80), Image.BILINEAR)
        bgr = np.asarray(crop, np.float32)[:, :, ::-1].transpose(2, 0, 1)
        batch.append(np.ascontiguousarray(bgr[None]))
    return batch


def logits(path: Path, batch: list) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return np.concatenate([session.run(["output"], {"input": x})[0] for x in batch])


def main() -> None:
    torch.manual_seed(0)
    pinned = {m["path"]: m["source_sha256"]
              for m in tomllib.loads((MODELS / "manifest.toml").read_text())["model"]
              if m["path"].startswith("bundled/")}
    batch = inputs()
    print(f"{len(batch)} inputs: 8 of noise, {len(batch) - 8} real face crops")
    for build, pth, pth_sha, theirs, theirs_sha, ours in NETWORKS:
        net = load(build, checked(WEIGHTS / pth, pth_sha))
        out = MODELS / ours
        staged = out.with_suffix(".new.onnx")
        torch.onnx.export(net, torch.from_numpy(batch[0]), str(staged), input_names=["input"],
                          output_names=["output"], opset_version=17, do_constant_folding=True,
                          dynamo=False)
        with torch.no_grad():
            reference = np.concatenate([net(torch.from_numpy(x)).numpy() for x in batch])
        exported = logits(staged, batch)
        third_party = logits(checked(WEIGHTS / theirs, theirs_sha), batch)
        vs_torch = float(np.abs(exported - reference).max())
        vs_theirs = float(np.abs(exported - third_party).max())
        digest = sha256(staged)
        print(f"{ours}: {staged.stat().st_size:,} bytes, sha256 {digest}")
        print(f"  largest logit difference: against PyTorch {vs_torch:.2e}, "
              f"against the third party's export {vs_theirs:.2e} (logits up to "
              f"{float(np.abs(reference).max()):.1f})")
        if max(vs_torch, vs_theirs) > TOLERANCE:
            staged.unlink()
            sys.exit(f"{ours}: the export differs by more than {TOLERANCE}; nothing replaced")
        staged.replace(out)
        if digest == pinned.get(ours):
            print("  the file models/manifest.toml pins (source_sha256)")
        else:
            print(f"  NOT the file models/manifest.toml pins ({pinned.get(ours)}): adopting it "
                  "means its sha256 there, and the rewritten file's after `make setup`")


if __name__ == "__main__":
    main()
