"""Reads and writes safetensors files with numpy and torch only (no `safetensors` package).

Import from other scripts in this folder:

    from safetensors_io import save_file, load_file
    save_file({"fc.weight": torch.randn(3, 8)}, "demo.safetensors", {"format": "pt"})
    tensors, metadata = load_file("demo.safetensors")   # name -> torch.Tensor

Layout written: u64 little-endian header length, the JSON header padded with spaces to a multiple
of 8 bytes, then the tensors back to back in the order given, as the format requires.
"""
import json
import struct

import numpy as np
import torch

_TORCH_TO_NAME = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
    torch.uint8: "U8", torch.bool: "BOOL",
}
_NAME_TO_TORCH = {name: dtype for dtype, name in _TORCH_TO_NAME.items()}
_NAME_TO_SIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2,
                 "I8": 1, "U8": 1, "BOOL": 1}


def _as_torch(value):
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(value))
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().contiguous()
    raise TypeError(f"cannot store a {type(value).__name__}")


def _raw_bytes(tensor):
    # bfloat16 has no numpy dtype: reinterpret its bits as int16 to get at the bytes.
    if tensor.dtype in (torch.bfloat16, torch.float16):
        return tensor.view(torch.int16).numpy().astype("<i2").tobytes()
    array = tensor.numpy()
    return array.astype(array.dtype.newbyteorder("<")).tobytes()


def save_file(tensors, path, metadata=None):
    """Writes name -> torch.Tensor or numpy array, plus optional string metadata."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, value in tensors.items():
        tensor = _as_torch(value)
        if tensor.dtype not in _TORCH_TO_NAME:
            raise TypeError(f"{name}: dtype {tensor.dtype} has no safetensors name here")
        blob = _raw_bytes(tensor)
        header[name] = {"dtype": _TORCH_TO_NAME[tensor.dtype], "shape": list(tensor.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def load_file(path):
    """Returns (name -> torch.Tensor, metadata dict)."""
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    metadata = header.pop("__metadata__", {})
    start = 8 + length
    tensors = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        dtype = entry["dtype"]
        raw = bytearray(data[start + begin:start + end])
        count = int(np.prod(entry["shape"], dtype=np.int64))
        if len(raw) != _NAME_TO_SIZE[dtype] * count:
            raise ValueError(f"{path}: tensor '{name}' holds {len(raw)} bytes")
        # float16/bfloat16 go through int16 bits; torch.frombuffer refuses empty buffers.
        storage = torch.int16 if dtype in ("F16", "BF16") else _NAME_TO_TORCH[dtype]
        flat = torch.frombuffer(raw, dtype=storage) if raw else torch.zeros(0, dtype=storage)
        tensor = flat.view(_NAME_TO_TORCH[dtype])
        tensors[name] = tensor.reshape(entry["shape"])
    return tensors, metadata
