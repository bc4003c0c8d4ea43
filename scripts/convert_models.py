"""Small, deterministic rewrites of the shipped ONNX files (run by scripts/setup.py).

Each function reads a verified source file and writes the file FaceGate loads. The output is
byte-for-byte reproducible with the pinned `onnx` version, so models/manifest.toml pins its sha256.
"""

import sys

import onnx


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


CONVERTERS = {
    "yunet_symbolic": yunet_symbolic,
    "drop_initializer_inputs": drop_initializer_inputs,
}

if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in CONVERTERS:
        sys.exit(f"usage: convert_models.py {{{'|'.join(CONVERTERS)}}} SRC DST")
    CONVERTERS[sys.argv[1]](sys.argv[2], sys.argv[3])
