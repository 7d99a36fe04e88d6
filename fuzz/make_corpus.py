#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora (small valid files) into fuzz/corpus/<target>/.

Run with a Python that has numpy: /usr/bin/python3 fuzz/make_corpus.py
"""
import gzip
import json
import os
import struct

import numpy as np

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(target, name, data):
    os.makedirs(os.path.join(root, target), exist_ok=True)
    with open(os.path.join(root, target, name), "wb") as f:
        f.write(data)


def npy_bytes(a, version=None):
    import io
    buf = io.BytesIO()
    if version is None:
        np.save(buf, a)
    else:
        np.lib.format.write_array(buf, a, version=version)
    return buf.getvalue()


rng = np.random.default_rng(0)
put("npy", "f32_2x3.npy", npy_bytes(rng.standard_normal((2, 3)).astype("<f4")))
put("npy", "f64_vec.npy", npy_bytes(rng.standard_normal(5)))
put("npy", "f64_scalar.npy", npy_bytes(np.float64(3.5)))
put("npy", "f32_big_endian.npy", npy_bytes(rng.standard_normal((2, 2)).astype(">f4")))
put("npy", "f32_fortran.npy", npy_bytes(np.asfortranarray(rng.standard_normal((2, 3, 2)).astype("<f4"))))
put("npy", "i16.npy", npy_bytes(np.arange(-4, 4, dtype="<i2").reshape(2, 4)))
put("npy", "u8.npy", npy_bytes(np.arange(6, dtype="u1")))
put("npy", "bool.npy", npy_bytes(np.array([True, False, True])))
put("npy", "i64_empty.npy", npy_bytes(np.zeros((0, 3), dtype="<i8")))
put("npy", "f32_v2.npy", npy_bytes(np.ones((2, 2), dtype="<f4"), version=(2, 0)))


def safetensors_bytes(tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    for name, a in tensors:
        raw = a.tobytes()
        dtype = {"float32": "F32", "float64": "F64"}[a.dtype.name]
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


put("safetensors", "two.safetensors", safetensors_bytes(
    [("w", rng.standard_normal((2, 3)).astype("<f4")), ("b", rng.standard_normal(3))], {"format": "pt"}))
put("safetensors", "scalar.safetensors", safetensors_bytes([("s", np.array(2.0, dtype="<f4"))]))
put("safetensors", "empty_tensor.safetensors", safetensors_bytes([("e", np.zeros((0, 4), dtype="<f8"))]))
put("safetensors", "metadata_only.safetensors", safetensors_bytes([], {"epoch": "3", "lr": "0.001"}))


def idx_bytes(a):
    return struct.pack(">I", 0x0800 + a.ndim) + b"".join(struct.pack(">I", d) for d in a.shape) + a.tobytes()


images = rng.integers(0, 256, size=(3, 4, 4), dtype=np.uint8)
labels = np.array([7, 2, 1], dtype=np.uint8)
put("idx", "images.idx3", idx_bytes(images))
put("idx", "labels.idx1", idx_bytes(labels))
put("idx", "images.idx3.gz", gzip.compress(idx_bytes(images), mtime=0))
put("idx", "labels.idx1.gz", gzip.compress(idx_bytes(labels), mtime=0))
put("idx", "two_members.idx1.gz", gzip.compress(idx_bytes(labels)[:6], mtime=0) +
    gzip.compress(idx_bytes(labels)[6:], mtime=0))

# conv_ops: the first byte picks the op (0 conv2d, 1 deconv2d, 2 max_pool2d, 3 avg_pool2d,
# 4 pad2d), each later byte one parameter (taken modulo its range, see fuzz_conv_ops.cpp).
for op, name in enumerate(["conv2d", "deconv2d", "max_pool2d", "avg_pool2d", "pad2d"]):
    for variant in range(3):
        put("conv_ops", f"{name}_{variant}", bytes([op]) + rng.integers(0, 256, size=48, dtype=np.uint8).tobytes())
