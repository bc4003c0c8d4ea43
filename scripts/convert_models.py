"""Small, deterministic rewrites of the shipped ONNX files (run by scripts/setup.py).

Each function reads a verified source file and writes the file FaceGate loads. The output is
byte-for-byte reproducible with the pinned `onnx` version, so models/manifest.toml pins its sha256.
"""

import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper


def yunet_symbolic(src: str, dst: str) -> None:
    """YuNet ships with its input fixed at 1x3x640x640. Detecting on a smaller copy of the frame
    is the cheapest speed-up we have, so make H and W symbolic (the graph itself is fully
    convolutional; callers pad to multiples of 32)."""
    model = onnx.load(src)
    graph = model.graph
    dims = graph.input[0].type.tensor_type.shape.dim
    dims[2].ClearField("dim_value")
    dims[2].dim_param = "H"
    dims[3].ClearField("dim_value")
    dims[3].dim_param = "W"
    # Output lengths depend on H and W; stale fixed shapes would make ORT warn or refuse.
    for out in graph.output:
        for i, d in enumerate(out.type.tensor_type.shape.dim):
            if i == 1:
                d.ClearField("dim_value")
                d.dim_param = f"{out.name}_n"
    del graph.value_info[:]
    onnx.checker.check_model(model)
    onnx.save(model, dst)


def drop_initializer_inputs(src: str, dst: str) -> None:
    """SFace lists its 174 weights as graph inputs too. ORT then treats them as overridable and
    will not constant-fold them (it warns so); dropping them from the inputs is ~8 % faster and
    leaves the outputs equal to within 2e-6."""
    model = onnx.load(src)
    graph = model.graph
    weights = {init.name for init in graph.initializer}
    real_inputs = [i for i in graph.input if i.name not in weights]
    del graph.input[:]
    graph.input.extend(real_inputs)
    onnx.checker.check_model(model)
    onnx.save(model, dst)


def prelu_as_relu_mix(src: str, dst: str) -> None:
    """ORT's fast x86 convolutions work on a blocked (NCHWc) layout, but its PRelu does not, so
    every PRelu of SFace and MobileFaceNet costs a reorder out, the PRelu and a reorder back: a
    third of SFace's time. With a per-channel slope a < 1, PRelu(x) = Relu(x·(1−a)) + x·a, which
    ORT keeps blocked: each product becomes a per-channel convolution, the Relu and the sum are
    fused into them. A layer with a slope ≥ 1 gets Relu(x)·(1−a) + x·a instead (one more pass).
    Measured on the 2-core bench machine: SFace 33.8 → 21.5 ms, MobileFaceNet 22.6 → 17.4 ms;
    outputs equal to within 1e-6 (SFace) and 3e-4 on MobileFaceNet's unnormalised 512-d output.
    """
    model = onnx.load(src)
    graph = model.graph
    slopes = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    nodes = []
    for node in graph.node:
        slope = slopes.get(node.input[1]) if node.op_type == "PRelu" else None
        if slope is None or slope.size <= 1:
            nodes.append(node)  # a shared scalar slope is a LeakyRelu ORT already handles
            continue
        x, (y,) = node.input[0], node.output
        a = slope.astype(np.float32).reshape(-1, 1, 1)
        base = node.name or y
        graph.initializer.extend([
            numpy_helper.from_array(a, f"{base}/a"),
            numpy_helper.from_array((1.0 - a).astype(np.float32), f"{base}/one_minus_a"),
        ])
        if (a < 1.0).all():
            pos = [
                helper.make_node("Mul", [x, f"{base}/one_minus_a"], [f"{base}/scaled"],
                                 name=f"{base}/scaled"),
                helper.make_node("Relu", [f"{base}/scaled"], [f"{base}/pos"], name=f"{base}/pos"),
            ]
        else:
            pos = [
                helper.make_node("Relu", [x], [f"{base}/relu"], name=f"{base}/relu"),
                helper.make_node("Mul", [f"{base}/relu", f"{base}/one_minus_a"], [f"{base}/pos"],
                                 name=f"{base}/pos"),
            ]
        nodes += pos + [
            helper.make_node("Mul", [x, f"{base}/a"], [f"{base}/lin"], name=f"{base}/lin"),
            helper.make_node("Add", [f"{base}/pos", f"{base}/lin"], [y], name=f"{base}/sum"),
        ]
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, dst)


def pad_channels(src: str, dst: str, block: int = 16) -> None:
    """ORT runs a convolution in its fast blocked (NCHWc) layout only when the channels fill whole
    blocks of 8 (AVX2) or 16 (AVX-512). MiniFASNet's pruned widths (13, 26, 103, 231, ...) do
    not, so each of its expand → depthwise → project chains falls back to plain NCHW with a
    reorder out and back in. Widening every such chain to a multiple of 16 with zero channels
    changes no output: a zero channel stays zero through the Relu mix, the depthwise
    convolution, and meets zero weights in the projection. Measured on the 2-core bench machine,
    one thread: 1.8 → 1.05 ms for each of the two models; outputs equal to within 1.5e-6.

    Refuses (raises) on a graph it does not understand, rather than guess."""
    model = onnx.load(src)
    graph = model.graph
    inits = {init.name: init for init in graph.initializer}
    consumers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    outputs = {o.name for o in graph.output}

    def pad(name: str, axis: int, extra: int) -> None:
        a = numpy_helper.to_array(inits[name])
        widths = [(0, 0)] * a.ndim
        widths[axis] = (0, extra)
        inits[name].CopyFrom(numpy_helper.from_array(np.pad(a, widths), name))

    def group(node) -> onnx.AttributeProto | None:
        return next((a for a in node.attribute if a.name == "group"), None)

    def pad_outputs(conv, extra: int) -> None:
        pad(conv.input[1], 0, extra)
        if len(conv.input) > 2:
            pad(conv.input[2], 0, extra)

    for conv in list(graph.node):
        g = group(conv)
        if conv.op_type != "Conv" or (g is not None and g.i != 1):
            continue
        width = inits[conv.input[1]].dims[0]
        extra = -width % block
        if extra == 0:
            continue
        pad_outputs(conv, extra)
        # Follow the widened tensor through per-channel arithmetic and depthwise convolutions to
        # the convolutions that read it, which get zero input weights.
        todo, seen = [conv.output[0]], set()
        while todo:
            tensor = todo.pop()
            if tensor in seen:
                continue
            seen.add(tensor)
            if tensor in outputs:
                raise ValueError(f"{src}: widened tensor {tensor} is a graph output")
            for node in consumers.get(tensor, []):
                g = group(node)
                if node.op_type in ("Mul", "Add", "Relu"):
                    for name in node.input:
                        if name in inits:
                            if list(inits[name].dims) != [width, 1, 1] or len(consumers[name]) != 1:
                                raise ValueError(f"{src}: {node.name} has a shared or odd constant")
                            pad(name, 0, extra)
                    todo.append(node.output[0])
                elif node.op_type == "Conv" and g is not None and g.i == width > 1:
                    g.i = width + extra
                    pad_outputs(node, extra)
                    todo.append(node.output[0])
                elif node.op_type == "Conv" and (g is None or g.i == 1):
                    pad(node.input[1], 1, extra)
                else:
                    raise ValueError(f"{src}: cannot widen through {node.op_type} {node.name}")
    del graph.value_info[:]  # shapes inside the widened chains changed
    onnx.checker.check_model(model)
    onnx.save(model, dst)


CONVERTERS = {
    "yunet_symbolic": yunet_symbolic,
    "drop_initializer_inputs": drop_initializer_inputs,
    "prelu_as_relu_mix": prelu_as_relu_mix,
    "pad_channels": pad_channels,
}


def main(argv: list[str]) -> None:
    """`convert_models.py STEP [STEP...] SRC DST`: the steps run in order, each on the last's
    output."""
    *steps, src, dst = argv
    if not steps or any(s not in CONVERTERS for s in steps):
        sys.exit(f"usage: convert_models.py {{{'|'.join(CONVERTERS)}}}... SRC DST")
    for i, step in enumerate(steps):
        out = dst if i == len(steps) - 1 else f"{dst}.step{i}"
        CONVERTERS[step](src, out)
        if src.endswith(tuple(f".step{j}" for j in range(i))):
            Path(src).unlink()
        src = out


if __name__ == "__main__":
    main(sys.argv[1:])
