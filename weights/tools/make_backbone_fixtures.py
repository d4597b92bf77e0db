#!/usr/bin/python3
"""Golden fixtures for the timm backbones (ConvNeXt, EfficientNet, EfficientNetV2).

timm is not a dependency: the modules below follow timm's source (convnext.py,
_efficientnet_builder.py, _efficientnet_blocks.py, layers/padding.py) closely enough to produce
timm's state-dict key names and forward, so the engine can be checked against them.

Every fixture is a small network of a real architecture (the channel/depth overrides that
`backbone.config` allows), with random weights AND random norm parameters, biases, layer-scale
gammas and BatchNorm running statistics, run in float64 on an odd, non-square input.

Writes, per fixture NAME, into engine/src/test/resources/fixtures/backbones/:
  NAME.safetensors      weights (F32, or F16/BF16 for the rounded copies)
  NAME.model.json       model card (lumbar-model/1) of the backbone alone, head type 'none'
  NAME.input.npy        float32 input [N, C, H, W]
  NAME.features.npy     float64 forward_features output [N, D, h, w]
  NAME.output.npy       float64 forward output [N, K] (or pooled features when K == 0)

Run from the repository root:  /usr/bin/python3 weights/tools/make_backbone_fixtures.py
"""
import json
import math
import os
import re
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

OUT_DIR = os.path.join('engine', 'src', 'test', 'resources', 'fixtures', 'backbones')


# ---------------------------------------------------------------------------------------------
# ConvNeXt (timm convnext.py)

CONVNEXT_ARCHS = {
    'convnext_atto': dict(depths=(2, 2, 6, 2), dims=(40, 80, 160, 320), conv_mlp=True),
    'convnext_femto': dict(depths=(2, 2, 6, 2), dims=(48, 96, 192, 384), conv_mlp=True),
    'convnext_pico': dict(depths=(2, 2, 6, 2), dims=(64, 128, 256, 512), conv_mlp=True),
    'convnext_nano': dict(depths=(2, 2, 8, 2), dims=(80, 160, 320, 640), conv_mlp=True),
    'convnext_tiny': dict(depths=(3, 3, 9, 3), dims=(96, 192, 384, 768), conv_mlp=False),
    'convnext_small': dict(depths=(3, 3, 27, 3), dims=(96, 192, 384, 768), conv_mlp=False),
    'convnext_base': dict(depths=(3, 3, 27, 3), dims=(128, 256, 512, 1024), conv_mlp=False),
    'convnext_large': dict(depths=(3, 3, 27, 3), dims=(192, 384, 768, 1536), conv_mlp=False),
    'convnext_xlarge': dict(depths=(3, 3, 27, 3), dims=(256, 512, 1024, 2048), conv_mlp=False),
}


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of NCHW, as timm.layers.LayerNorm2d (eps 1e-6)."""

    def __init__(self, channels):
        super().__init__(channels, eps=1e-6)

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class Mlp(nn.Module):
    def __init__(self, dim, hidden, use_conv):
        super().__init__()
        if use_conv:
            self.fc1 = nn.Conv2d(dim, hidden, 1)
            self.fc2 = nn.Conv2d(hidden, dim, 1)
        else:
            self.fc1 = nn.Linear(dim, hidden)
            self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class ConvNeXtBlock(nn.Module):
    def __init__(self, dim, conv_mlp):
        super().__init__()
        self.conv_mlp = conv_mlp
        self.conv_dw = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = LayerNorm2d(dim) if conv_mlp else nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, 4 * dim, conv_mlp)
        self.gamma = nn.Parameter(1e-6 * torch.ones(dim))

    def forward(self, x):
        shortcut = x
        x = self.conv_dw(x)
        if self.conv_mlp:
            x = self.mlp(self.norm(x))
        else:
            x = self.mlp(self.norm(x.permute(0, 2, 3, 1))).permute(0, 3, 1, 2)
        return x * self.gamma.reshape(1, -1, 1, 1) + shortcut


class ConvNeXtStage(nn.Module):
    def __init__(self, in_chs, out_chs, stride, depth, conv_mlp):
        super().__init__()
        if in_chs != out_chs or stride > 1:
            self.downsample = nn.Sequential(LayerNorm2d(in_chs),
                                            nn.Conv2d(in_chs, out_chs, 2, stride=2))
        else:
            self.downsample = nn.Identity()
        self.blocks = nn.Sequential(*[ConvNeXtBlock(out_chs, conv_mlp) for _ in range(depth)])

    def forward(self, x):
        return self.blocks(self.downsample(x))


class ConvNeXtHead(nn.Module):
    """timm's NormMlpClassifierHead without hidden layer: avg pool -> LayerNorm2d -> fc."""

    def __init__(self, dim, num_classes):
        super().__init__()
        self.norm = LayerNorm2d(dim)
        self.fc = nn.Linear(dim, num_classes) if num_classes > 0 else nn.Identity()

    def forward(self, x):
        x = x.mean((2, 3), keepdim=True)
        x = self.norm(x).flatten(1)
        return self.fc(x)


class ConvNeXt(nn.Module):
    def __init__(self, in_chans, num_classes, depths, dims, conv_mlp):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_chans, dims[0], 4, stride=4), LayerNorm2d(dims[0]))
        stages = []
        prev = dims[0]
        for i in range(4):
            stages.append(ConvNeXtStage(prev, dims[i], 2 if i > 0 else 1, depths[i], conv_mlp))
            prev = dims[i]
        self.stages = nn.Sequential(*stages)
        self.head = ConvNeXtHead(prev, num_classes)

    def forward_features(self, x):
        return self.stages(self.stem(x))

    def forward(self, x):
        return self.head(self.forward_features(x))


def make_convnext(arch, in_chans, num_classes, config):
    args = dict(CONVNEXT_ARCHS[arch])
    args.update({k: v for k, v in config.items() if k in ('depths', 'dims')})
    return ConvNeXt(in_chans, num_classes, args['depths'], args['dims'], args['conv_mlp'])


# ---------------------------------------------------------------------------------------------
# EfficientNet / EfficientNetV2 (timm efficientnet.py, _efficientnet_builder.py, blocks)

EFFICIENTNET_B = {
    'b0': (1.0, 1.0), 'b1': (1.0, 1.1), 'b2': (1.1, 1.2), 'b3': (1.2, 1.4),
    'b4': (1.4, 1.8), 'b5': (1.6, 2.2), 'b6': (1.8, 2.6), 'b7': (2.0, 3.1),
}
B_ARCH = ['ds_r1_k3_s1_e1_c16_se0.25', 'ir_r2_k3_s2_e6_c24_se0.25', 'ir_r2_k5_s2_e6_c40_se0.25',
          'ir_r3_k3_s2_e6_c80_se0.25', 'ir_r3_k5_s1_e6_c112_se0.25',
          'ir_r4_k5_s2_e6_c192_se0.25', 'ir_r1_k3_s1_e6_c320_se0.25']
V2_S_ARCH = ['cn_r2_k3_s1_e1_c24_skip', 'er_r4_k3_s2_e4_c48', 'er_r4_k3_s2_e4_c64',
             'ir_r6_k3_s2_e4_c128_se0.25', 'ir_r9_k3_s1_e6_c160_se0.25',
             'ir_r15_k3_s2_e6_c256_se0.25']
V2_RW_S_ARCH = ['er_r2_k3_s1_e1_c24'] + V2_S_ARCH[1:5] + ['ir_r15_k3_s2_e6_c272_se0.25']
V2_M_ARCH = ['cn_r3_k3_s1_e1_c24_skip', 'er_r5_k3_s2_e4_c48', 'er_r5_k3_s2_e4_c80',
             'ir_r7_k3_s2_e4_c160_se0.25', 'ir_r14_k3_s1_e6_c176_se0.25',
             'ir_r18_k3_s2_e6_c304_se0.25', 'ir_r5_k3_s1_e6_c512_se0.25']
V2_L_ARCH = ['cn_r4_k3_s1_e1_c32_skip', 'er_r7_k3_s2_e4_c64', 'er_r7_k3_s2_e4_c96',
             'ir_r10_k3_s2_e4_c192_se0.25', 'ir_r19_k3_s1_e6_c224_se0.25',
             'ir_r25_k3_s2_e6_c384_se0.25', 'ir_r7_k3_s1_e6_c640_se0.25']


def efficientnet_spec(arch):
    """(block strings, stem, num_features, head rounded?, channel mult, depth mult, tf)."""
    tf = arch.startswith('tf_')
    name = arch[3:] if tf else arch
    m = re.fullmatch(r'efficientnet_(b[0-7])', name)
    if m:
        cm, dm = EFFICIENTNET_B[m.group(1)]
        return dict(blocks=B_ARCH, stem=32, features=1280, round_features=True, cm=cm, dm=dm, tf=tf)
    if name == 'efficientnetv2_s':
        return dict(blocks=V2_S_ARCH, stem=24, features=1280, round_features=True, cm=1.0, dm=1.0,
                    tf=tf)
    if arch == 'efficientnetv2_rw_s':
        return dict(blocks=V2_RW_S_ARCH, stem=24, features=1792, round_features=True, cm=1.0,
                    dm=1.0, tf=False)
    if name == 'efficientnetv2_m':
        return dict(blocks=V2_M_ARCH, stem=24, features=1280, round_features=False, cm=1.0,
                    dm=1.0, tf=tf)
    if name == 'efficientnetv2_l':
        return dict(blocks=V2_L_ARCH, stem=32, features=1280, round_features=False, cm=1.0,
                    dm=1.0, tf=tf)
    raise ValueError(arch)


def make_divisible(v, divisor=8, min_value=None, round_limit=0.9):
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < round_limit * v:
        new_v += divisor
    return new_v


def round_channels(channels, multiplier):
    if not multiplier:
        return channels
    return make_divisible(channels * multiplier)


def decode_block(block_str):
    ops = block_str.split('_')
    block_type, options, skip = ops[0], {}, None
    for op in ops[1:]:
        if op == 'noskip':
            skip = False
        elif op == 'skip':
            skip = True
        else:
            key, value = re.split(r'(\d.*)', op)[:2]
            options[key] = value
    args = dict(type=block_type, out=int(options['c']), stride=int(options['s']),
                k=int(options['k']),
                exp=1.0 if block_type == 'ds' else float(options.get('e', 1.0)),
                se=float(options.get('se', 0.0)))
    if block_type == 'cn':
        args['skip'] = skip is True
    else:
        args['noskip'] = skip is False
    return args, int(options['r'])


def scale_depth(repeats, depth_multiplier):
    # timm's _scale_stage_depth, 'ceil': scale the stage total, share it out from the end
    num_repeat = sum(repeats)
    num_scaled = int(math.ceil(num_repeat * depth_multiplier))
    scaled = []
    for r in repeats[::-1]:
        rs = max(1, round(r / num_repeat * num_scaled))
        scaled.append(rs)
        num_repeat -= r
        num_scaled -= rs
    return scaled[::-1]


class BatchNormAct2d(nn.BatchNorm2d):
    def __init__(self, channels, eps, act):
        super().__init__(channels, eps=eps)
        self.act = act

    def forward(self, x):
        x = F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                         False, 0.0, self.eps)
        return F.silu(x) if self.act else x


class Conv2dSame(nn.Conv2d):
    """TensorFlow 'SAME' padding computed from the input size (more at bottom/right)."""

    def forward(self, x):
        ih, iw = x.shape[-2:]
        kh, kw = self.kernel_size
        sh, sw = self.stride
        pad_h = max((math.ceil(ih / sh) - 1) * sh + (kh - 1) + 1 - ih, 0)
        pad_w = max((math.ceil(iw / sw) - 1) * sw + (kw - 1) + 1 - iw, 0)
        x = F.pad(x, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2))
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, 1, self.groups)


def conv(in_chs, out_chs, k, stride=1, groups=1, same=False):
    if same and not (stride == 1 and (k - 1) % 2 == 0):
        return Conv2dSame(in_chs, out_chs, k, stride=stride, groups=groups, bias=False)
    pad = ((stride - 1) + (k - 1)) // 2
    return nn.Conv2d(in_chs, out_chs, k, stride=stride, padding=pad, groups=groups, bias=False)


class SqueezeExcite(nn.Module):
    def __init__(self, chs, rd_ratio):
        super().__init__()
        rd = round(chs * rd_ratio)
        self.conv_reduce = nn.Conv2d(chs, rd, 1, bias=True)
        self.conv_expand = nn.Conv2d(rd, chs, 1, bias=True)

    def forward(self, x):
        s = x.mean((2, 3), keepdim=True)
        s = self.conv_expand(F.silu(self.conv_reduce(s)))
        return x * torch.sigmoid(s)


class Block(nn.Module):
    """One of timm's ConvBnAct ('cn'), DepthwiseSeparableConv ('ds'), InvertedResidual ('ir')
    or EdgeResidual ('er') blocks, with timm's attribute names."""

    def __init__(self, a, in_chs, eps, same):
        super().__init__()
        self.kind = a['type']
        out, s, k = a['out'], a['stride'], a['k']
        se_ratio = a['se'] / a['exp'] if a['se'] else 0.0
        if self.kind == 'cn':
            self.conv = conv(in_chs, out, k, s, same=same)
            self.bn1 = BatchNormAct2d(out, eps, True)
            self.has_skip = a['skip'] and s == 1 and in_chs == out
        elif self.kind == 'ds':
            self.conv_dw = conv(in_chs, in_chs, k, s, groups=in_chs, same=same)
            self.bn1 = BatchNormAct2d(in_chs, eps, True)
            self.se = SqueezeExcite(in_chs, se_ratio) if se_ratio else nn.Identity()
            self.conv_pw = conv(in_chs, out, 1, same=same)
            self.bn2 = BatchNormAct2d(out, eps, False)
            self.has_skip = s == 1 and in_chs == out and not a['noskip']
        elif self.kind == 'ir':
            mid = make_divisible(in_chs * a['exp'])
            self.conv_pw = conv(in_chs, mid, 1, same=same)
            self.bn1 = BatchNormAct2d(mid, eps, True)
            self.conv_dw = conv(mid, mid, k, s, groups=mid, same=same)
            self.bn2 = BatchNormAct2d(mid, eps, True)
            self.se = SqueezeExcite(mid, se_ratio) if se_ratio else nn.Identity()
            self.conv_pwl = conv(mid, out, 1, same=same)
            self.bn3 = BatchNormAct2d(out, eps, False)
            self.has_skip = s == 1 and in_chs == out and not a['noskip']
        elif self.kind == 'er':
            mid = make_divisible(in_chs * a['exp'])
            self.conv_exp = conv(in_chs, mid, k, s, same=same)
            self.bn1 = BatchNormAct2d(mid, eps, True)
            self.se = SqueezeExcite(mid, se_ratio) if se_ratio else nn.Identity()
            self.conv_pwl = conv(mid, out, 1, same=same)
            self.bn2 = BatchNormAct2d(out, eps, False)
            self.has_skip = s == 1 and in_chs == out and not a['noskip']
        else:
            raise ValueError(self.kind)

    def forward(self, x):
        shortcut = x
        if self.kind == 'cn':
            x = self.bn1(self.conv(x))
        elif self.kind == 'ds':
            x = self.bn2(self.conv_pw(self.se(self.bn1(self.conv_dw(x)))))
        elif self.kind == 'ir':
            x = self.bn2(self.conv_dw(self.bn1(self.conv_pw(x))))
            x = self.bn3(self.conv_pwl(self.se(x)))
        else:
            x = self.bn2(self.conv_pwl(self.se(self.bn1(self.conv_exp(x)))))
        return x + shortcut if self.has_skip else x


class EfficientNet(nn.Module):
    def __init__(self, arch, in_chans, num_classes, config):
        super().__init__()
        spec = efficientnet_spec(arch)
        cm = float(config.get('channel_multiplier', spec['cm']))
        dm = float(config.get('depth_multiplier', spec['dm']))
        block_strings = config.get('blocks', spec['blocks'])
        eps = 1e-3 if spec['tf'] else 1e-5
        same = spec['tf']
        stem = round_channels(spec['stem'], cm)
        self.conv_stem = conv(in_chans, stem, 3, 2, same=same)
        self.bn1 = BatchNormAct2d(stem, eps, True)
        stages, in_chs = [], stem
        for stage_strings in block_strings:
            if isinstance(stage_strings, str):
                stage_strings = [stage_strings]
            decoded = [decode_block(block_str) for block_str in stage_strings]
            repeats = scale_depth([r for _, r in decoded], dm)
            blocks = []
            for (a, _), count in zip(decoded, repeats):
                a['out'] = round_channels(a['out'], cm)
                for _ in range(count):
                    # only a stage's first block strides
                    b = dict(a, stride=a['stride'] if not blocks else 1)
                    blocks.append(Block(b, in_chs, eps, same))
                    in_chs = a['out']
            stages.append(nn.Sequential(*blocks))
        self.blocks = nn.Sequential(*stages)
        features = round_channels(spec['features'], cm) if spec['round_features'] \
            else spec['features']
        self.conv_head = conv(in_chs, features, 1, same=same)
        self.bn2 = BatchNormAct2d(features, eps, True)
        self.classifier = nn.Linear(features, num_classes) if num_classes > 0 else nn.Identity()

    def forward_features(self, x):
        return self.bn2(self.conv_head(self.blocks(self.bn1(self.conv_stem(x)))))

    def forward(self, x):
        return self.classifier(self.forward_features(x).mean((2, 3)))


# ---------------------------------------------------------------------------------------------
# random parameters, file writers


def randomise(model, gen):
    """Random weights and, crucially, random norm parameters, biases, gammas and BN stats."""
    for name, p in model.state_dict().items():
        if name.endswith('num_batches_tracked'):
            p.fill_(int(torch.randint(1, 1000, (1,), generator=gen)))
            continue
        leaf = name.rsplit('.', 1)[-1]
        if name.endswith('running_var'):
            p.copy_(torch.rand(p.shape, generator=gen, dtype=p.dtype) * 1.5 + 0.5)
        elif name.endswith('running_mean'):
            p.copy_(torch.randn(p.shape, generator=gen, dtype=p.dtype) * 0.2)
        elif leaf == 'gamma':
            p.copy_(torch.rand(p.shape, generator=gen, dtype=p.dtype) * 0.8 + 0.2)
        elif leaf == 'bias':
            p.copy_(torch.randn(p.shape, generator=gen, dtype=p.dtype) * 0.1)
        elif p.dim() == 1:  # norm weights
            p.copy_(torch.rand(p.shape, generator=gen, dtype=p.dtype) * 1.0 + 0.5)
        else:
            fan_in = p[0].numel()
            p.copy_(torch.randn(p.shape, generator=gen, dtype=p.dtype) * math.sqrt(1.0 / fan_in))


def bf16_round(a):
    """Round float32 to the nearest bfloat16 (ties to even); returns the 16-bit patterns."""
    bits = a.astype(np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    return rounded.astype(np.uint16)


def bf16_to_f32(b):
    return (b.astype(np.uint32) << 16).view(np.float32)


def write_safetensors(path, tensors):
    """tensors: list of (name, dtype string, shape, raw bytes)."""
    header, offset, blobs = {}, 0, []
    for name, dtype, shape, raw in tensors:
        header[name] = dict(dtype=dtype, shape=list(shape),
                            data_offsets=[offset, offset + len(raw)])
        offset += len(raw)
        blobs.append(raw)
    header['__metadata__'] = dict(format='pt', source='make_backbone_fixtures.py')
    text = json.dumps(header, separators=(',', ':')).encode('utf-8')
    text += b' ' * ((8 - len(text) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def export_weights(model, storage):
    """Converts the state dict to `storage` (F32/F16/BF16), loads the rounded values back into the
    model so the reference uses exactly the stored weights, and returns safetensors entries."""
    entries, rounded = [], {}
    for name, p in model.state_dict().items():
        if p.dtype == torch.int64:
            entries.append((name, 'I64', p.shape, p.numpy().astype('<i8').tobytes()))
            rounded[name] = p
            continue
        f32 = p.detach().numpy().astype(np.float32)
        if storage == 'F16':
            stored = f32.astype('<f2')
            back = stored.astype(np.float64)
        elif storage == 'BF16':
            stored = bf16_round(f32).astype('<u2')
            back = bf16_to_f32(stored).astype(np.float64)
        else:
            stored = f32.astype('<f4')
            back = f32.astype(np.float64)
        entries.append((name, storage, p.shape, stored.tobytes()))
        rounded[name] = torch.from_numpy(back.reshape(p.shape))
    model.load_state_dict(rounded)
    return entries


FIXTURES = [
    # name, arch, in_chans, num_classes, config, storage, input shape, seed
    ('convnext_atto_tiny', 'convnext_atto', 3, 5,
     dict(depths=[1, 1, 2, 1], dims=[8, 16, 24, 32]), 'F32', (2, 3, 67, 45), 11),
    ('convnext_atto_tiny_f16', 'convnext_atto', 3, 5,
     dict(depths=[1, 1, 2, 1], dims=[8, 16, 24, 32]), 'F16', (2, 3, 67, 45), 11),
    ('convnext_small_tiny_nohead', 'convnext_small', 2, 0,
     dict(depths=[1, 2, 1, 1], dims=[8, 12, 16, 24]), 'F32', (2, 2, 45, 70), 12),
    ('convnext_tiny_tiny', 'convnext_tiny', 1, 3,
     dict(depths=[2, 1, 1, 1], dims=[12, 16, 20, 28]), 'F32', (1, 1, 64, 37), 13),
    ('efficientnet_b0_tiny', 'efficientnet_b0', 3, 4,
     dict(channel_multiplier=0.2, depth_multiplier=0.4), 'F32', (2, 3, 67, 45), 21),
    ('tf_efficientnet_b2_tiny', 'tf_efficientnet_b2', 3, 3,
     dict(channel_multiplier=0.25, depth_multiplier=0.3), 'F32', (2, 3, 67, 45), 22),
    ('tf_efficientnetv2_s_tiny', 'tf_efficientnetv2_s', 3, 6,
     dict(channel_multiplier=0.2, depth_multiplier=0.15), 'F32', (2, 3, 67, 45), 23),
    ('tf_efficientnetv2_s_tiny_bf16', 'tf_efficientnetv2_s', 3, 6,
     dict(channel_multiplier=0.2, depth_multiplier=0.15), 'BF16', (2, 3, 67, 45), 23),
    ('efficientnet_custom_blocks', 'efficientnet_b0', 2, 3,
     dict(channel_multiplier=0.5, depth_multiplier=1.5, blocks=[
         'ds_r1_k3_s1_e1_c8_se0.25',
         ['ir_r1_k5_s2_e3_c16_se0.25', 'er_r3_k3_s1_e2_c16_se0.5'],
         'cn_r2_k3_s1_e1_c16_skip',
         ['ir_r1_k3_s2_e6_c24_noskip', 'ds_r1_k5_s1_e1_c24']]),
     'F32', (2, 2, 33, 29), 25),
    ('efficientnetv2_rw_s_tiny', 'efficientnetv2_rw_s', 2, 0,
     dict(channel_multiplier=0.2, depth_multiplier=0.1), 'F32', (1, 2, 53, 66), 24),
]


def build(arch, in_chans, num_classes, config):
    if arch.startswith('convnext'):
        return make_convnext(arch, in_chans, num_classes, config)
    return EfficientNet(arch, in_chans, num_classes, config)


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    torch.set_grad_enabled(False)
    for name, arch, in_chans, num_classes, config, storage, shape, seed in FIXTURES:
        gen = torch.Generator().manual_seed(seed)
        model = build(arch, in_chans, num_classes, config).double().eval()
        randomise(model, gen)
        entries = export_weights(model, storage)
        x32 = (torch.randn(shape, generator=gen, dtype=torch.float64)).float()
        x = x32.double()
        features = model.forward_features(x)
        output = model(x)
        write_safetensors(os.path.join(OUT_DIR, name + '.safetensors'), entries)
        # C order always: a permuted result would otherwise be saved Fortran-ordered
        for suffix, array in (('input', x32), ('features', features), ('output', output)):
            np.save(os.path.join(OUT_DIR, f'{name}.{suffix}.npy'),
                    np.ascontiguousarray(array.numpy()))
        card = {
            'format': 'lumbar-model/1',
            'name': name,
            'weights': name + '.safetensors',
            'backbone': {
                'arch': arch,
                'in_chans': in_chans,
                'num_classes': num_classes,
                'prefix': '',
                'config': config,
            },
            # backbone only: forward returns the backbone's logits or pooled features
            'head': {'type': 'none'},
            'input': {'slices': 1, 'channels': in_chans, 'height': shape[2], 'width': shape[3],
                      'normalize': {'mode': 'none'}},
        }
        with open(os.path.join(OUT_DIR, name + '.model.json'), 'w') as f:
            json.dump(card, f, indent=2)
            f.write('\n')
        n_params = sum(p.numel() for p in model.state_dict().values())
        print(f'{name}: {arch} {storage} params={n_params} features={tuple(features.shape)} '
              f'output={tuple(output.shape)}', file=sys.stderr)


if __name__ == '__main__':
    main()
