#!/usr/bin/env python3
"""Makes the fixtures of the io tests (engine/src/test/resources/fixtures/io/).

Run with a Python that has numpy and torch:  /usr/bin/python3 weights/tools/make_io_fixtures.py

- halfs.safetensors: every F16 and every BF16 bit pattern, and torch's float32 widening of each,
  so the Java reader's widening is checked against an independent implementation.
- bn_fold.safetensors: a Conv2d(3, 4, 3) followed by a BatchNorm2d(4) in eval mode with random
  running statistics, an input `x` [1, 3, 6, 5] and torch's output `y` = bn(conv(x)).
- *.npy: float32 and float64 arrays written by numpy itself (format versions 1.0, 2.0, 3.0), a
  0-d array, and two arrays the reader must refuse (Fortran order, big-endian).
  Element i (flat, C order) of every array is i / 7 - 3, computed in the array's own dtype.
"""
import pathlib
import sys

import numpy as np
import numpy.lib.format as npy_format
import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from safetensors_io import save_file  # noqa: E402

OUT = pathlib.Path(__file__).resolve().parents[2] / "engine/src/test/resources/fixtures/io"


def pattern(shape, dtype):
    count = int(np.prod(shape, dtype=np.int64))
    i = np.arange(count, dtype=dtype)
    return (i / dtype(7) - dtype(3)).astype(dtype).reshape(shape)


def main():
    OUT.mkdir(parents=True, exist_ok=True)

    bits = torch.arange(-32768, 32768, dtype=torch.int32).to(torch.int16)
    f16 = bits.view(torch.float16)
    bf16 = bits.view(torch.bfloat16)
    save_file({
        "f16_bits": f16,
        "f16_as_f32": f16.float(),
        "bf16_bits": bf16.reshape(256, 256),
        "bf16_as_f32": bf16.float().reshape(256, 256),
    }, OUT / "halfs.safetensors")

    torch.manual_seed(5)
    conv = torch.nn.Conv2d(3, 4, 3)
    bn = torch.nn.BatchNorm2d(4, eps=1e-3)
    with torch.no_grad():
        bn.weight.copy_(torch.randn(4))
        bn.bias.copy_(torch.randn(4))
        bn.running_mean.copy_(torch.randn(4))
        bn.running_var.copy_(torch.rand(4) * 2 + 0.05)
    bn.eval()
    x = torch.randn(1, 3, 6, 5)
    with torch.no_grad():
        y = bn(conv(x))
    save_file({**{"conv." + k: v for k, v in conv.state_dict().items()},
               **{"bn." + k: v for k, v in bn.state_dict().items()},
               "x": x, "y": y}, OUT / "bn_fold.safetensors", {"eps": str(bn.eps)})

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
