#!/usr/bin/python3
"""Writes the demo ensemble: small, UNTRAINED networks of both backbone families.

The demo exists so that `lumbar predict` runs end to end on the bundled phantom study without
downloading anything. Its weights are random (fixed seeds, so every run of this script writes
the same bytes); its probabilities mean nothing.

Writes into weights/demo/:
  demo.ensemble.json            the ensemble manifest (lumbar-ensemble/1)
  stage1/*.model.json           slice scorers and point models (lumbar-model/1 cards)
  stage2/*.model.json           the attention-MIL and concat-pool graders
  */*.safetensors               their weights, F32
The manifest's label priors are weights/train_label_counts.csv.

Backbone modules and their timm key names come from make_backbone_fixtures.py beside this file.

Run from the repository root:  /usr/bin/python3 weights/tools/make_demo_weights.py
"""
import json
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_backbone_fixtures as fixtures  # noqa: E402

OUT = os.path.join('weights', 'demo')

CONVNEXT = ('convnext_atto', dict(depths=[1, 1, 1, 1], dims=[8, 16, 24, 32]))
EFFICIENTNET = ('efficientnet_b0', dict(channel_multiplier=0.2, depth_multiplier=0.3))


def linear(gen, out_features, in_features, scale=1.0):
    """nn.Linear-style weights, shrunk by `scale` so that random logits stay moderate."""
    bound = 1.0 / math.sqrt(in_features)
    w = (torch.rand(out_features, in_features, generator=gen, dtype=torch.float64) * 2 - 1)
    b = (torch.rand(out_features, generator=gen, dtype=torch.float64) * 2 - 1)
    return w * bound * scale, b * bound * scale


def head_tensors(head, features, gen):
    """State-dict entries of a head, named as DESIGN.md's heads section says."""
    t = {}
    kind = head['type']
    if kind == 'mil_bilstm':
        hidden = features // 2
        for layer in range(head.get('lstm_layers', 1)):
            inputs = features if layer == 0 else 2 * hidden
            for suffix in ('', '_reverse'):
                k = 1.0 / math.sqrt(hidden)
                for name, shape in ((f'weight_ih_l{layer}', (4 * hidden, inputs)),
                                    (f'weight_hh_l{layer}', (4 * hidden, hidden)),
                                    (f'bias_ih_l{layer}', (4 * hidden,)),
                                    (f'bias_hh_l{layer}', (4 * hidden,))):
                    t[f'lstm.{name}{suffix}'] = (torch.rand(shape, generator=gen,
                                                            dtype=torch.float64) * 2 - 1) * k
        t['attention.1.weight'], t['attention.1.bias'] = linear(gen, 1, features)
        t['fc.weight'], t['fc.bias'] = linear(gen, head.get('num_classes', 3), features, 0.5)
    elif kind == 'concat_pool':
        t['fc.weight'], t['fc.bias'] = linear(gen, head.get('num_classes', 3), 2 * features,
                                              0.5)
    elif kind == 'slice_scorer':
        fc = head.get('fc', 'fc')
        t[fc + '.weight'], t[fc + '.bias'] = linear(gen, head['num_targets'], features)
    elif kind == 'keypoint':
        fc = head.get('fc', 'fc')
        t[fc + '.weight'], t[fc + '.bias'] = linear(gen, 2 * head['num_targets'], features,
                                                    0.2)
    else:
        raise ValueError(kind)
    return t


def write_model(folder, name, family, in_chans, prefix, head, inputs, seed):
    """One card and its weights; returns the card's path relative to weights/demo."""
    gen = torch.Generator().manual_seed(seed)
    arch, config = family
    torch.set_grad_enabled(False)
    backbone = fixtures.build(arch, in_chans, 0, config).double().eval()
    fixtures.randomise(backbone, gen)
    features = backbone.forward_features(
        torch.zeros(1, in_chans, 64, 64, dtype=torch.float64)).shape[1]
    tensors = {prefix + k: v for k, v in backbone.state_dict().items()}
    tensors.update(head_tensors(head, features, gen))
    entries = []
    for key, value in tensors.items():
        if value.dtype == torch.int64:
            entries.append((key, 'I64', tuple(value.shape),
                            value.numpy().astype('<i8').tobytes()))
        else:
            entries.append((key, 'F32', tuple(value.shape),
                            value.numpy().astype('<f4').tobytes()))
    os.makedirs(os.path.join(OUT, folder), exist_ok=True)
    fixtures.write_safetensors(os.path.join(OUT, folder, name + '.safetensors'), entries)
    card = {
        'format': 'lumbar-model/1',
        'name': name,
        'description': 'UNTRAINED: random weights for the demo; its outputs are meaningless',
        'weights': name + '.safetensors',
        'backbone': {'arch': arch, 'in_chans': in_chans, 'num_classes': 0, 'prefix': prefix,
                     'config': config},
        'head': head,
        'input': inputs,
    }
    with open(os.path.join(OUT, folder, name + '.model.json'), 'w') as f:
        json.dump(card, f, indent=2)
        f.write('\n')
    return f'{folder}/{name}.model.json'


def image_input(size, channels):
    return {'slices': 1, 'channels': channels, 'height': size, 'width': size,
            'normalize': {'mode': 'minmax'}}


def bag(slices, channels, crop, size, level=False, flip_other_side=False,
        mode='repeat'):
    left, right, up, down = crop
    return {'slices': slices, 'slice_step': 1, 'channels': channels, 'channel_mode': mode,
            'crop': {'left': left, 'right': right, 'up': up, 'down': down},
            'level': level, 'flip_other_side': flip_other_side, 'size': [size, size],
            'normalisation': 'minmax'}


def main():
    stage1 = {
        'SAG_T2': {
            'slices': write_model('stage1', 'sag_t2_slices', CONVNEXT, 3, '',
                                  {'type': 'slice_scorer', 'num_targets': 5,
                                   'rolling_window': 3, 'fc': 'head.fc'},
                                  image_input(64, 3), 101),
            'points': write_model('stage1', 'sag_t2_points', EFFICIENTNET, 3, '',
                                  {'type': 'keypoint', 'num_targets': 5,
                                   'activation': 'sigmoid', 'fc': 'classifier'},
                                  image_input(64, 3), 102),
            'channel_mode': 'adjacent',
        },
        'SAG_T1': {
            'slices': write_model('stage1', 'sag_t1_slices', CONVNEXT, 3, '',
                                  {'type': 'slice_scorer', 'num_targets': 10,
                                   'rolling_window': 1, 'fc': 'head.fc'},
                                  image_input(64, 3), 103),
            'points': write_model('stage1', 'sag_t1_points', EFFICIENTNET, 3, '',
                                  {'type': 'keypoint', 'num_targets': 5,
                                   'activation': 'sigmoid', 'fc': 'classifier'},
                                  image_input(64, 3), 104),
        },
        'AX_T2': {
            'points': write_model('stage1', 'ax_t2_points', CONVNEXT, 3, '',
                                  {'type': 'keypoint', 'num_targets': 2,
                                   'activation': 'sigmoid', 'fc': 'head.fc'},
                                  image_input(64, 3), 105),
        },
    }

    # stage 2: the 1st place's attention MIL on one family, the 2nd place's concat pool on the
    # other; crop boxes in pixels of the image resized to 256 x 256
    def grader(name, family, head, slices, channels, size, seed):
        inputs = {'slices': slices, 'channels': channels, 'height': size, 'width': size,
                  'normalize': {'mode': 'minmax'}}
        return write_model('stage2', name, family, channels, 'encoder.', head, inputs, seed)

    mil = {'type': 'mil_bilstm', 'num_classes': 3, 'lstm_layers': 1}
    pool = {'type': 'concat_pool', 'num_classes': 3}
    spinal_sag = grader('spinal_convnext_mil', CONVNEXT, mil, 5, 3, 48, 201)
    spinal_ax = grader('spinal_axial_effnet_pool', EFFICIENTNET, pool, 3, 3, 48, 202)
    foraminal = grader('foraminal_effnet_mil', EFFICIENTNET, mil, 5, 3, 48, 203)
    subarticular = grader('subarticular_convnext_pool', CONVNEXT, pool, 3, 3, 48, 204)

    manifest = {
        'format': 'lumbar-ensemble/1',
        'name': 'demo',
        'trained': False,
        'description': 'Untrained demo ensemble: random weights, made by '
                       'weights/tools/make_demo_weights.py. It exercises every stage of the '
                       'pipeline; its probabilities are meaningless.',
        'priors': '../train_label_counts.csv',
        'stage1': stage1,
        'conditions': {
            'spinal_canal_stenosis': {
                'temperature': 1.0,
                'members': [
                    {'name': 'spinal_convnext_mil', 'model': spinal_sag, 'view': 'SAG_T2',
                     'weight': 1.0, 'flip_tta': True,
                     'bag': dict(bag(5, 3, (24, 24, 24, 24), 48), resize=[256, 256],
                                 level=True)},
                    {'name': 'spinal_axial_effnet_pool', 'model': spinal_ax, 'view': 'AX_T2',
                     'weight': 0.5, 'flip_tta': False,
                     'bag': dict(bag(3, 3, (32, 32, 32, 32), 48), resize=[256, 256])},
                ],
            },
            'neural_foraminal_narrowing': {
                'temperature': 1.0,
                'members': [
                    {'name': 'foraminal_effnet_mil', 'model': foraminal, 'view': 'SAG_T1',
                     'weight': 1.0, 'flip_tta': False,
                     'bag': dict(bag(5, 3, (24, 24, 24, 24), 48), resize=[256, 256],
                                 level=True)},
                ],
            },
            'subarticular_stenosis': {
                'temperature': 1.0,
                'members': [
                    {'name': 'subarticular_convnext_pool', 'model': subarticular,
                     'view': 'AX_T2', 'weight': 1.0, 'flip_tta': False,
                     'bag': dict(bag(3, 3, (16, 40, 28, 28), 48), resize=[256, 256],
                                 flip_other_side=True)},
                ],
            },
        },
    }
    with open(os.path.join(OUT, 'demo.ensemble.json'), 'w') as f:
        json.dump(manifest, f, indent=2)
        f.write('\n')
    total = sum(os.path.getsize(os.path.join(d, n)) for d, _, files in os.walk(OUT)
                for n in files if n.endswith('.safetensors'))
    print(f'demo ensemble written to {OUT}: {total / 1e6:.2f} MB of weights', file=sys.stderr)


if __name__ == '__main__':
    main()
