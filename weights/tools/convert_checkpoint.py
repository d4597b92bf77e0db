#!/usr/bin/env python3
"""Converts a PyTorch checkpoint (torch.save of a state dict or of a dict holding one) into a
safetensors file the engine loads, keeping the state-dict keys as they are.

    /usr/bin/python3 weights/tools/convert_checkpoint.py model.pth model.safetensors \
        [--strip-prefix module.] [--add-prefix encoder.] [--dtype f32|f16|bf16]

--strip-prefix removes a prefix from every key that has it (DataParallel's "module."), then
--add-prefix puts one in front of every key. --dtype casts floating-point tensors (integer
tensors such as BatchNorm's num_batches_tracked are kept). Prints one line per tensor.
"""
import argparse
import pathlib
import sys

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from safetensors_io import save_file  # noqa: E402

DTYPES = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}


def state_dict_of(checkpoint):
    if isinstance(checkpoint, torch.nn.Module):
        return checkpoint.state_dict()
    for key in ("state_dict", "model", "model_state_dict"):
        if isinstance(checkpoint, dict) and isinstance(checkpoint.get(key), dict):
            return checkpoint[key]
    if isinstance(checkpoint, dict) and all(isinstance(v, torch.Tensor)
                                            for v in checkpoint.values()):
        return checkpoint
    raise SystemExit("no state dict found in the checkpoint (looked at the top level and at "
                     "'state_dict', 'model', 'model_state_dict')")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint")
    parser.add_argument("output")
    parser.add_argument("--strip-prefix", default="")
    parser.add_argument("--add-prefix", default="")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default=None)
    args = parser.parse_args()

    checkpoint = torch.load(args.checkpoint, map_location="cpu")
    tensors = {}
    for key, value in state_dict_of(checkpoint).items():
        name = key[len(args.strip_prefix):] if args.strip_prefix and key.startswith(
            args.strip_prefix) else key
        name = args.add_prefix + name
        if name in tensors:
            raise SystemExit(f"two keys become '{name}' after renaming")
        if args.dtype and value.is_floating_point():
            value = value.to(DTYPES[args.dtype])
        tensors[name] = value
        print(f"{name}\t{str(value.dtype).replace('torch.', '')}\t{list(value.shape)}")
    save_file(tensors, args.output, {"format": "pt", "source": pathlib.Path(args.checkpoint).name})
    print(f"wrote {len(tensors)} tensors to {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
