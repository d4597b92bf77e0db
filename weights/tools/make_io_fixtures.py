#!/usr/bin/env python3
"""Makes the fixtures of the io tests (engine/src/test/resources/fixtures/io/).

Run with a Python that has numpy and torch:  /usr/bin/python3 weights/tools/make_io_fixtures.py

- halfs.safetensors: every F16 and every BF16 bit pattern, and torch's float32 widening of each,
  so the Java reader's widening is checked against an independent implementation.
- *.npy: float32 and float64 arrays written by numpy itself (format versions 1.0, 2.0, 3.0), a
  0-d array, and two arrays the reader must refuse (Fortran order, big-endian).
  Element i (flat, C order) of every array is i / 7 - 3, computed in the array's own dtype.
"""
import json
import pathlib
import struct

import numpy as np
import numpy.lib.format as npy_format
import torch

OUT = pathlib.Path(__file__).resolve().parents[2] / "engine/src/test/resources/fixtures/io"


def pattern(shape, dtype):
    count = int(np.prod(shape, dtype=np.int64))
    i = np.arange(count, dtype=dtype)
    return (i / dtype(7) - dtype(3)).astype(dtype).reshape(shape)


def write_safetensors(path, tensors):
    """Writes the safetensors layout by hand: u64 LE header length, JSON header, data."""
    header, blobs, offset = {}, [], 0
    for name, (dtype, shape, blob) in tensors.items():
        header[name] = {"dtype": dtype, "shape": list(shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def main():
    OUT.mkdir(parents=True, exist_ok=True)

    bits = torch.arange(-32768, 32768, dtype=torch.int32).to(torch.int16)
    f16 = bits.view(torch.float16)
    bf16 = bits.view(torch.bfloat16)
    write_safetensors(OUT / "halfs.safetensors", {
        "f16_bits": ("F16", [65536], bits.numpy().astype("<i2").tobytes()),
        "f16_as_f32": ("F32", [65536], f16.float().numpy().astype("<f4").tobytes()),
        "bf16_bits": ("BF16", [256, 256], bits.numpy().astype("<i2").tobytes()),
        "bf16_as_f32": ("F32", [256, 256], bf16.float().numpy().astype("<f4").tobytes()),
    })

    np.save(OUT / "f4_v1.npy", pattern((2, 3, 4), np.float32))
    np.save(OUT / "f8_v1.npy", pattern((5,), np.float64))
    np.save(OUT / "f4_scalar.npy", pattern((), np.float32))
    for version in [(2, 0), (3, 0)]:
        with open(OUT / f"f4_v{version[0]}.npy", "wb") as f:
            npy_format.write_array(f, pattern((3, 5), np.float32), version=version)
    np.save(OUT / "f4_fortran.npy", np.asfortranarray(pattern((3, 2), np.float32)))
    np.save(OUT / "f4_big_endian.npy", pattern((4,), np.float32).astype(">f4"))


if __name__ == "__main__":
    main()
