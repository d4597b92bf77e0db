#!/usr/bin/python3
"""Full-size parity check of `lumbar forward` against the PyTorch modules of
make_backbone_fixtures.py: random weights and norm statistics for a real architecture at its
real size, one float64 reference forward, then the engine on the same card and input.

Too big for committed fixtures (a full ConvNeXt-small is 200 MB of weights), so it writes into a
scratch folder and prints the relative error per architecture.

Usage, from the repository root:
  /usr/bin/python3 weights/tools/backbone_parity_check.py --work /tmp/parity \
      convnext_small tf_efficientnetv2_s efficientnet_b3
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_backbone_fixtures as fixtures  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('arch', nargs='+')
    parser.add_argument('--work', required=True, help='scratch folder for weights and arrays')
    parser.add_argument('--size', type=int, nargs=2, default=(97, 83), metavar=('H', 'W'))
    parser.add_argument('--classes', type=int, default=7)
    parser.add_argument('--threads', type=int, default=2)
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    torch.set_grad_enabled(False)
    worst = 0.0
    for arch in args.arch:
        gen = torch.Generator().manual_seed(5)
        model = fixtures.build(arch, 3, args.classes, {}).double().eval()
        fixtures.randomise(model, gen)
        entries = fixtures.export_weights(model, 'F32')
        x = torch.randn((1, 3, *args.size), generator=gen, dtype=torch.float64).float()
        reference = model(x.double()).numpy()

        base = os.path.join(args.work, arch)
        fixtures.write_safetensors(base + '.safetensors', entries)
        np.save(base + '.input.npy', x.numpy())
        card = {'format': 'lumbar-model/1', 'name': arch, 'weights': arch + '.safetensors',
                'backbone': {'arch': arch, 'in_chans': 3, 'num_classes': args.classes},
                'head': {'type': 'none'},
                'input': {'slices': 1, 'channels': 3, 'height': args.size[0],
                          'width': args.size[1], 'normalize': {'mode': 'none'}}}
        with open(base + '.model.json', 'w') as f:
            json.dump(card, f)

        subprocess.run(['./lumbar', 'forward', '-m', base + '.model.json', '-i',
                        base + '.input.npy', '-o', base + '.engine.npy',
                        '--threads', str(args.threads)], check=True)
        engine = np.load(base + '.engine.npy').astype(np.float64)
        error = np.linalg.norm(engine - reference) / np.linalg.norm(reference)
        worst = max(worst, error)
        params = sum(p.numel() for p in model.parameters())
        print(f'{arch}: {params} parameters, relative error {error:.3g}')
    return 0 if worst <= 1e-4 else 1


if __name__ == '__main__':
    sys.exit(main())
