#!/usr/bin/python3
"""Fixtures for the pipeline's stage-2 parity test: two small checkpoints shaped like the RSNA
2024 winners' models, converted by convert_solution.py, with a random bag and the logits
PyTorch computes for it.

  mil_first_place     convnext_atto (tiny config) + BiLSTM + attention MIL, keys as a
                      DataParallel model with the encoder under 'backbone.'
  pool_second_place   efficientnet_b0 (tiny config) + concat pool, encoder under 'model.',
                      classifier under 'head.'

Output: engine/src/test/resources/fixtures/pipeline/<name>.{model.json,safetensors,
check_input.npy,check_logits.npy}. Run from the repository root:
    /usr/bin/python3 weights/tools/make_pipeline_fixtures.py
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import convert_solution  # noqa: E402
import make_backbone_fixtures as timm_like  # noqa: E402

OUT = os.path.join('engine', 'src', 'test', 'resources', 'fixtures', 'pipeline')


def checkpoint(layout, arch, config, encoder_key, head_key, seed):
    """A random model of the layout, saved with the given key names."""
    torch.set_grad_enabled(False)
    head = ({'type': 'mil_bilstm', 'num_classes': 3, 'lstm_layers': 2, 'lstm_hidden': 16}
            if layout == 'mil_bilstm' else {'type': 'concat_pool', 'num_classes': 3})
    model = convert_solution.Reference(layout, arch, 3, config, head).double()
    gen = torch.Generator().manual_seed(seed)
    timm_like.randomise(model, gen)
    state = {}
    for key, value in model.state_dict().items():
        if key.startswith('encoder.'):
            key = encoder_key + key[len('encoder.'):]
        elif key.startswith('fc.'):
            key = head_key + key[len('fc.'):]
        state['module.' + key] = value.float() if value.is_floating_point() else value
    return {'epoch': 7, 'state_dict': state}


def main():
    os.makedirs(OUT, exist_ok=True)
    convnext = {'depths': [1, 1, 1, 1], 'dims': [8, 16, 24, 32]}
    effnet = {'channel_multiplier': 0.2, 'depth_multiplier': 0.3}
    cases = [
        ('mil_first_place', 'mil_bilstm', 'convnext_atto', convnext, 'backbone.', 'fc.', 5),
        ('pool_second_place', 'concat_pool', 'efficientnet_b0', effnet, 'model.', 'head.', 3),
    ]
    for i, (name, layout, arch, config, encoder_key, head_key, slices) in enumerate(cases):
        ckpt = checkpoint(layout, arch, config, encoder_key, head_key, 300 + i)
        log = convert_solution.convert(ckpt, OUT, name, layout, arch, 3, config, slices, 40,
                                       check=True, seed=400 + i)
        print(f'{name}: {len(log)} keys renamed or dropped', file=sys.stderr)


if __name__ == '__main__':
    main()
