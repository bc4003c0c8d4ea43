#!/usr/bin/env python3
"""Exported emotion networks, alone and averaged in every combination, on PublicTest.

For each ONNX file (`emotion_fer.py`'s export: input `images` [N,1,side,side] grey 0..255,
output `probabilities`), the side is read from the file and the network gets the centred window
of each 48 px face, as the app cuts it (`EmotionMember` in src/vision/attributes/emotion.rs).
Prints, for every combination, PublicTest accuracy on the face alone (what the app runs) and
with the mirror averaged in, and the summed time of one face on one ONNX Runtime thread
(median of 300 runs, no spinning, as the app's sessions), so accuracy and cost sit side by side.

    .setup/train-venv/bin/python training/emotion_pairs.py models/trained/emotion_fer.onnx \\
        models/trained/emotion_fer_kd.onnx .setup/training/emotion-w15-40-kd/emotion_fer.onnx
"""

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

sys.path.insert(0, str(Path(__file__).resolve().parent))
from emotion_fer import onnx_views, read_split  # noqa: E402


def session(path):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def side_of(s):
    shape = s.get_inputs()[0].shape
    assert shape[1] == 1 and shape[2] == shape[3] and isinstance(shape[2], int), shape
    return shape[2]


def milliseconds(s, side, runs=300):
    one = np.random.default_rng(0).integers(0, 256, (1, 1, side, side)).astype(np.float32)
    for _ in range(30):
        s.run(None, {"images": one})
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        s.run(None, {"images": one})
        times.append(time.perf_counter() - t)
    return float(np.median(times)) * 1e3


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", type=Path, nargs="+")
    args = ap.parse_args()
    x, y = read_split("emotion.csv")
    nets = []
    for path in args.files:
        s = session(path)
        side = side_of(s)
        face, mirror = onnx_views(s, x)
        nets.append((path, side, face, mirror, milliseconds(s, side)))
        print(f"[{len(nets)}] {path}: {side} px, {nets[-1][4]:.2f} ms a face", flush=True)
    print(f"\nPublicTest, {len(y)} faces\n")
    print("| networks | sides | face alone | face + mirror | ms a face (one thread) |")
    print("|---|---|---:|---:|---:|")
    for k in range(1, len(nets) + 1):
        for combo in itertools.combinations(range(len(nets)), k):
            face = np.mean([nets[i][2] for i in combo], 0)
            both = np.mean([nets[i][2] + nets[i][3] for i in combo], 0)
            ms = sum(nets[i][4] for i in combo)
            print(f"| {' + '.join(str(i + 1) for i in combo)} "
                  f"| {' + '.join(str(nets[i][1]) for i in combo)} "
                  f"| {(face.argmax(1) == y).mean() * 100:.2f} % "
                  f"| {(both.argmax(1) == y).mean() * 100:.2f} % | {ms:.2f} |")


if __name__ == "__main__":
    main()
