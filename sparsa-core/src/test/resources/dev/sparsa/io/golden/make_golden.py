#!/usr/bin/env python3
"""Golden files for Sparsa's format readers, written by the reference Python libraries.

    python3 make_golden.py          # needs numpy, gguf (gguf-py, llama.cpp's reference writer) and safetensors

Writes, beside this script:
  ref.gguf          GGUF v3 by gguf-py: metadata of every type, input rows "x" (F32) and the same rows as
                    F16 / BF16 / Q8_0 / Q4_0 quantized by gguf-py's quants (the ggml reference algorithms)
  ref.safetensors   by safetensors.numpy: F32, F16 and I64 tensors and __metadata__
GgufGoldenTest and SafetensorsGoldenTest read them; rerun only when the expectations there change.
"""
import os

import numpy as np
import gguf
from gguf.quants import quantize
from safetensors.numpy import save_file

HERE = os.path.dirname(os.path.abspath(__file__))


def inputs():
    # Exactly representable-in-spirit inputs: integer arithmetic then one IEEE division, so nothing depends on libm.
    i = np.arange(4 * 64, dtype=np.int64)
    x = (((i * 7919) % 2001) - 1000).astype(np.float64) / 37.0
    x = x.astype(np.float32).reshape(4, 64)
    # Row 3, block 0: amax 127 with exact halves → exercises roundf's half-away-from-zero in Q8_0.
    x[3, :32] = np.array([127, 2.5, -2.5, 0.5, -0.5, 1.5, -127, 3.5] + [0] * 24, dtype=np.float32)
    # Row 3, block 1: all zeros (d = 0).
    x[3, 32:] = 0
    return x


def write_gguf(path):
    w = gguf.GGUFWriter(path, "llama")
    w.add_uint8("t.u8", 255)
    w.add_int8("t.i8", -128)
    w.add_uint16("t.u16", 65535)
    w.add_int16("t.i16", -32768)
    w.add_uint32("t.u32", 4294967295)
    w.add_int32("t.i32", -2147483648)
    w.add_float32("t.f32", 1.25)
    w.add_uint64("t.u64", 18446744073709551615)
    w.add_int64("t.i64", -9223372036854775808)
    w.add_float64("t.f64", 3.141592653589793)
    w.add_bool("t.bool", True)
    w.add_string("t.str", "héllo ▁world")
    w.add_array("t.strs", ["a", "", "<0x0A>"])
    w.add_array("t.ints", [1, -2, 3])
    w.add_array("t.floats", [0.5, -1000.0])
    w.add_array("t.nested", [[1, 2], ["x"]])
    x = inputs()
    w.add_tensor("x", x)
    w.add_tensor("x.f16", x.astype(np.float16))
    for name, qt in [("x.bf16", gguf.GGMLQuantizationType.BF16), ("x.q8_0", gguf.GGMLQuantizationType.Q8_0),
                     ("x.q4_0", gguf.GGMLQuantizationType.Q4_0)]:
        w.add_tensor(name, quantize(x, qt), raw_dtype=qt)
    w.add_tensor("cube", np.arange(24, dtype=np.float32).reshape(2, 3, 4))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def write_safetensors(path):
    save_file({
        "w": (np.arange(6, dtype=np.float32) * 0.25).reshape(2, 3),
        "h": np.array([1.0, -2.0, 0.5], dtype=np.float16),
        "position_ids": np.arange(4, dtype=np.int64).reshape(1, 4),
        "empty": np.zeros((0, 3), dtype=np.float32),
    }, path, metadata={"format": "np"})


if __name__ == "__main__":
    write_gguf(os.path.join(HERE, "ref.gguf"))
    write_safetensors(os.path.join(HERE, "ref.safetensors"))
