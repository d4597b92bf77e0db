#!/usr/bin/python3
"""Converts a stage-2 checkpoint shaped like the RSNA 2024 winners' models into a lumbar model
card and its safetensors weights, and optionally writes a parity check.

Two layouts (DESIGN.md, "Heads"):
  mil_bilstm   (1st place)  a timm encoder per instance, nn.LSTM(bidirectional) across the
               instances, attention = nn.Sequential(nn.Tanh(), nn.Linear(D, 1)), fc
  concat_pool  (2nd place)  a timm encoder's feature maps of the instances stacked along
               height, max-pool and average-pool concatenated, fc

Key map, applied in this order:
  1. 'module.' (DataParallel / DDP) is stripped from every key;
  2. each --map OLD=NEW rewrites the prefix OLD to NEW (repeatable);
  3. the encoder's prefix (--encoder-prefix, else the first of 'encoder.', 'backbone.',
     'model.', 'cnn.' that keys start with) becomes 'encoder.';
  4. the head's classifier ('fc.', 'head.fc.', 'head.', 'classifier.' outside the encoder)
     becomes 'fc.'; a bare 'attention.weight|bias' (a Linear without the Tanh module in front)
     becomes 'attention.1.weight|bias';
  5. the encoder's own timm classifier ('encoder.head.fc.*', 'encoder.classifier.*'), unused
     with num_classes 0, is dropped; BatchNorm's num_batches_tracked counters are kept.

    /usr/bin/python3 weights/tools/convert_solution.py CKPT OUT_DIR --name NAME \\
        --layout mil_bilstm --arch convnext_small --in-chans 3 --slices 5 --size 128 \\
        [--config '{"depths": [...], "dims": [...]}'] [--normalize minmax] [--check]

Writes OUT_DIR/NAME.model.json and OUT_DIR/NAME.safetensors. With --check it also runs the
converted weights through a PyTorch reference of the layout (timm-equivalent modules from
make_backbone_fixtures.py) on a random bag and writes NAME.check_input.npy ([B, S, C, H, W]
float32) and NAME.check_logits.npy (float64), which the engine must reproduce
(SolutionParityTest runs that comparison for the committed fixtures).
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_backbone_fixtures as timm_like  # noqa: E402
from convert_checkpoint import state_dict_of  # noqa: E402
from safetensors_io import save_file  # noqa: E402

ENCODER_PREFIXES = ('encoder.', 'backbone.', 'model.', 'cnn.')
HEAD_PREFIXES = ('fc.', 'head.fc.', 'head.', 'classifier.')


def rename(state, layout, maps, encoder_prefix):
    """The key map described above; returns (renamed state dict, log lines)."""
    log = []
    keys = {}
    for key, value in state.items():
        name = key[len('module.'):] if key.startswith('module.') else key
        for old, new in maps:
            if name.startswith(old):
                name = new + name[len(old):]
        keys[name] = value
    prefix = encoder_prefix
    if prefix is None:
        prefix = next((p for p in ENCODER_PREFIXES if any(k.startswith(p) for k in keys)), None)
        if prefix is None:
            raise SystemExit('cannot find the encoder: no key starts with any of '
                             f'{ENCODER_PREFIXES}; give --encoder-prefix')
    out = {}
    for name, value in keys.items():
        new = name
        if name.startswith(prefix):
            new = 'encoder.' + name[len(prefix):]
            if new.startswith(('encoder.head.fc.', 'encoder.classifier.')):
                log.append(f'dropped {name} (the encoder\'s own classifier)')
                continue
        elif name in ('attention.weight', 'attention.bias'):
            new = 'attention.1.' + name.split('.')[-1]
        elif not name.startswith(('lstm.', 'attention.')):
            head = next((p for p in HEAD_PREFIXES if name.startswith(p)), None)
            if head is None:
                raise SystemExit(f"key '{name}' belongs to neither the encoder nor the "
                                 f"{layout} head; map it with --map")
            new = 'fc.' + name[len(head):]
        if new in out:
            raise SystemExit(f"two keys become '{new}'")
        if new != name:
            log.append(f'{name} -> {new}')
        out[new] = value
    return out, log


def head_config(state, layout):
    fc = state.get('fc.weight')
    if fc is None:
        raise SystemExit('no fc.weight after renaming: the classifier was not found')
    if layout == 'concat_pool':
        return {'type': 'concat_pool', 'num_classes': int(fc.shape[0])}
    layers = sum(1 for k in state if k.startswith('lstm.weight_ih_l') and
                 not k.endswith('_reverse'))
    if layers == 0 or 'lstm.weight_ih_l0_reverse' not in state:
        raise SystemExit('mil_bilstm needs a bidirectional lstm.* (weight_ih_l0[_reverse])')
    hidden = int(state['lstm.weight_hh_l0'].shape[1])
    return {'type': 'mil_bilstm', 'num_classes': int(fc.shape[0]), 'lstm_layers': layers,
            'lstm_hidden': hidden}


class Reference(nn.Module):
    """The layout in PyTorch, on the timm-equivalent encoder, for the parity check."""

    def __init__(self, layout, arch, in_chans, config, head):
        super().__init__()
        self.layout = layout
        self.encoder = timm_like.build(arch, in_chans, 0, config)
        features = self.encoder.forward_features(torch.zeros(1, in_chans, 64, 64)).shape[1]
        if layout == 'mil_bilstm':
            self.lstm = nn.LSTM(features, head['lstm_hidden'], num_layers=head['lstm_layers'],
                                batch_first=True, bidirectional=True)
            self.attention = nn.Sequential(nn.Tanh(), nn.Linear(2 * head['lstm_hidden'], 1))
            self.fc = nn.Linear(2 * head['lstm_hidden'], head['num_classes'])
        else:
            self.fc = nn.Linear(2 * features, head['num_classes'])

    def forward(self, bags):
        b, s, c, h, w = bags.shape
        x = bags.reshape(b * s, c, h, w)
        if self.layout == 'mil_bilstm':
            f = self.encoder(x).view(b, s, -1)                     # pooled features [B, S, D]
            hidden, _ = self.lstm(f)
            alpha = torch.softmax(self.attention(hidden).squeeze(-1), dim=1)
            return self.fc((alpha.unsqueeze(-1) * hidden).sum(1))
        maps = self.encoder.forward_features(x)                     # [B·S, D, h, w]
        d, fh, fw = maps.shape[1:]
        stacked = maps.view(b, s, d, fh, fw).permute(0, 2, 1, 3, 4).reshape(b, d, s * fh, fw)
        pooled = torch.cat([stacked.amax((2, 3)), stacked.mean((2, 3))], dim=1)
        return self.fc(pooled)


def convert(checkpoint, out_dir, name, layout, arch, in_chans, config, slices, size,
            normalize='minmax', maps=(), encoder_prefix=None, check=False, seed=0):
    state = {k: v for k, v in state_dict_of(checkpoint).items()}
    state, log = rename(state, layout, maps, encoder_prefix)
    head = head_config(state, layout)
    os.makedirs(out_dir, exist_ok=True)
    save_file({k: v.detach().float() if v.is_floating_point() else v for k, v in state.items()},
              os.path.join(out_dir, name + '.safetensors'),
              {'format': 'pt', 'source': 'convert_solution.py ' + layout})
    card = {
        'format': 'lumbar-model/1',
        'name': name,
        'description': f'converted from a {layout} checkpoint by convert_solution.py',
        'weights': name + '.safetensors',
        'backbone': {'arch': arch, 'in_chans': in_chans, 'num_classes': 0,
                     'prefix': 'encoder.', 'config': config},
        'head': head,
        'input': {'slices': slices, 'channels': in_chans, 'height': size, 'width': size,
                  'normalize': {'mode': normalize}},
    }
    with open(os.path.join(out_dir, name + '.model.json'), 'w') as f:
        json.dump(card, f, indent=2)
        f.write('\n')
    if check:
        model = Reference(layout, arch, in_chans, config, head).double().eval()
        model.load_state_dict({k: v.double() if v.is_floating_point() else v
                               for k, v in state.items()})
        gen = torch.Generator().manual_seed(seed)
        bags = torch.rand(2, slices, in_chans, size, size, generator=gen).float()
        with torch.no_grad():
            logits = model(bags.double())
        np.save(os.path.join(out_dir, name + '.check_input.npy'), bags.numpy())
        np.save(os.path.join(out_dir, name + '.check_logits.npy'), logits.numpy())
    return log


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('checkpoint')
    p.add_argument('out_dir')
    p.add_argument('--name', required=True)
    p.add_argument('--layout', choices=('mil_bilstm', 'concat_pool'), required=True)
    p.add_argument('--arch', required=True, help='timm architecture, e.g. convnext_small')
    p.add_argument('--in-chans', type=int, default=3)
    p.add_argument('--config', default='{}', help='backbone.config overrides as JSON')
    p.add_argument('--slices', type=int, required=True)
    p.add_argument('--size', type=int, required=True)
    p.add_argument('--normalize', default='minmax', choices=('minmax', 'zscore'))
    p.add_argument('--map', action='append', default=[], metavar='OLD=NEW')
    p.add_argument('--encoder-prefix')
    p.add_argument('--check', action='store_true')
    a = p.parse_args()
    maps = [tuple(m.split('=', 1)) for m in a.map]
    if any(len(m) != 2 for m in maps):
        raise SystemExit('--map takes OLD=NEW')
    checkpoint = torch.load(a.checkpoint, map_location='cpu')
    for line in convert(checkpoint, a.out_dir, a.name, a.layout, a.arch, a.in_chans,
                        json.loads(a.config), a.slices, a.size, a.normalize, maps,
                        a.encoder_prefix, a.check):
        print(line)
    print(f'wrote {a.name}.model.json and {a.name}.safetensors to {a.out_dir}', file=sys.stderr)


if __name__ == '__main__':
    main()
