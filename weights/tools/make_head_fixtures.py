#!/usr/bin/python3
"""Writes the golden fixtures the head tests compare against.

Run from the repository root with a Python that has torch and numpy:
    /usr/bin/python3 weights/tools/make_head_fixtures.py

Weights and inputs are random float32 (fixed seeds); every reference output is computed in
float64 by PyTorch's own modules (nn.LSTM, adaptive pooling, nn.Linear) on those same values,
so the Java side, which computes in float32, is compared against an exact answer.

Output: engine/src/test/resources/fixtures/heads/<case>/<tensor>.npy and a cases.txt listing
each case as `name type key=value ...`.
"""
import os
import shutil

import numpy as np
import torch
from torch import nn

OUT = os.path.join("engine", "src", "test", "resources", "fixtures", "heads")


def save(case_dir, name, array):
    np.save(os.path.join(case_dir, name + ".npy"),
            np.ascontiguousarray(array.detach().numpy() if torch.is_tensor(array) else array))


def randomise(module, generator):
    # Uniform weights of a size that keeps the gates out of saturation, so the test sees the
    # nonlinearities and not just their asymptotes.
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.rand(p.shape, generator=generator, dtype=torch.float64) - 0.5)


def f32(t):
    """Rounds to float32 and back, so Java's F32 inputs equal the reference's inputs."""
    return t.float().double()


class MilBiLstm(nn.Module):
    """The attention-MIL head: BiLSTM over instances, tanh attention, weighted sum, fc."""

    def __init__(self, features, layers, classes, hidden):
        super().__init__()
        self.lstm = nn.LSTM(features, hidden, num_layers=layers, batch_first=True,
                            bidirectional=True)
        self.attention = nn.Sequential(nn.Tanh(), nn.Linear(2 * hidden, 1))
        self.fc = nn.Linear(2 * hidden, classes)

    def forward(self, x):
        h, _ = self.lstm(x)                               # [B, S, 2H]
        a = self.attention(h).squeeze(-1)                 # [B, S]
        alpha = torch.softmax(a, dim=1)
        z = (alpha.unsqueeze(-1) * h).sum(dim=1)          # [B, 2H]
        return self.fc(z), alpha, h


def mil_case(name, batch, slices, layers, features, classes, seed, cases, hidden=None):
    hidden = hidden or features // 2
    g = torch.Generator().manual_seed(seed)
    model = MilBiLstm(features, layers, classes, hidden).double()
    randomise(model, g)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(f32(p))
    x = f32(torch.randn(batch, slices, features, generator=g, dtype=torch.float64))
    with torch.no_grad():
        logits, alpha, h = model(x)
    d = os.path.join(OUT, name)
    os.makedirs(d)
    for key, value in model.state_dict().items():
        save(d, key, value.float())
    save(d, "input", x.float())
    save(d, "expected_lstm", h)
    save(d, "expected_logits", logits)
    save(d, "expected_attention", alpha)
    cases.append(f"{name} mil_bilstm batch={batch} slices={slices} lstm_layers={layers} "
                 f"features={features} num_classes={classes} lstm_hidden={hidden}")


def concat_pool_case(name, batch, slices, features, height, width, classes, seed, cases):
    g = torch.Generator().manual_seed(seed)
    fc = nn.Linear(2 * features, classes).double()
    randomise(fc, g)
    with torch.no_grad():
        for p in fc.parameters():
            p.copy_(f32(p))
    maps = f32(torch.randn(batch * slices, features, height, width, generator=g,
                           dtype=torch.float64))
    with torch.no_grad():
        # [B·S, D, h, w] → [B, S, D, h, w] → instances stacked along height: [B, D, S·h, w]
        stacked = maps.view(batch, slices, features, height, width).permute(0, 2, 1, 3, 4)
        stacked = stacked.reshape(batch, features, slices * height, width)
        pooled = torch.cat([nn.functional.adaptive_max_pool2d(stacked, 1).flatten(1),
                            nn.functional.adaptive_avg_pool2d(stacked, 1).flatten(1)], dim=1)
        logits = fc(pooled)
    d = os.path.join(OUT, name)
    os.makedirs(d)
    save(d, "fc.weight", fc.weight.float())
    save(d, "fc.bias", fc.bias.float())
    save(d, "input", maps.float())
    save(d, "expected_logits", logits)
    cases.append(f"{name} concat_pool batch={batch} slices={slices} features={features} "
                 f"num_classes={classes}")


def rolling_mean(probs, window):
    """Centred rolling mean over slices, averaging what exists at the ends (pandas
    rolling(window, center=True, min_periods=1))."""
    if window <= 1:
        return probs
    out = np.empty_like(probs)
    half = window // 2
    n = probs.shape[0]
    for s in range(n):
        lo, hi = max(0, s - half), min(n, s - half + window)
        out[s] = probs[lo:hi].mean(axis=0)
    return out


def slice_scorer_case(name, slices, features, targets, window, seed, cases):
    # Redraw until every target's best slice leads the runner-up clearly, so float32
    # rounding cannot flip the argmax the test compares.
    while True:
        g = torch.Generator().manual_seed(seed)
        fc = nn.Linear(features, targets).double()
        randomise(fc, g)
        with torch.no_grad():
            for p in fc.parameters():
                p.copy_(f32(p) * 2)
        x = f32(torch.randn(slices, features, generator=g, dtype=torch.float64))
        with torch.no_grad():
            scores = fc(x)                                 # [S, T]
        probs = torch.softmax(scores, dim=0).numpy()       # over slices, per target
        smoothed = rolling_mean(probs, window)
        ranked = np.sort(smoothed, axis=0)
        if np.all(ranked[-1] - ranked[-2] > 1e-3):
            break
        seed += 1000
    best = smoothed.argmax(axis=0)
    d = os.path.join(OUT, name)
    os.makedirs(d)
    save(d, "fc.weight", fc.weight.float())
    save(d, "fc.bias", fc.bias.float())
    save(d, "input", x.float())
    save(d, "expected_scores", scores)
    save(d, "expected_probabilities", smoothed)
    save(d, "expected_slice", best.astype(np.float64))   # the engine's npy reader is float-only
    save(d, "expected_confidence", smoothed[best, np.arange(targets)])
    cases.append(f"{name} slice_scorer slices={slices} features={features} "
                 f"num_targets={targets} rolling_window={window}")


def keypoint_case(name, batch, features, targets, activation, seed, cases):
    g = torch.Generator().manual_seed(seed)
    fc = nn.Linear(features, 2 * targets).double()
    randomise(fc, g)
    with torch.no_grad():
        for p in fc.parameters():
            p.copy_(f32(p))
    x = f32(torch.randn(batch, features, generator=g, dtype=torch.float64))
    with torch.no_grad():
        out = fc(x)
        if activation == "sigmoid":
            out = torch.sigmoid(out)
    d = os.path.join(OUT, name)
    os.makedirs(d)
    save(d, "fc.weight", fc.weight.float())
    save(d, "fc.bias", fc.bias.float())
    save(d, "input", x.float())
    save(d, "expected_points", out.view(batch, targets, 2))  # (x/W, y/H) per target
    cases.append(f"{name} keypoint batch={batch} features={features} num_targets={targets} "
                 f"activation={activation}")


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    cases = []
    seed = 1000
    for layers in (1, 2):
        for slices in (1, 5, 15):
            mil_case(f"mil_l{layers}_s{slices}", 3, slices, layers, 16, 3, seed, cases)
            seed += 1
    # one bag, a hidden size that is not half the features, four classes
    mil_case("mil_l2_s7_h10_b1", 1, 7, 2, 12, 4, seed, cases, hidden=10)
    seed += 1
    concat_pool_case("concat_pool_b2_s3", 2, 3, 8, 4, 3, 3, seed, cases)
    slice_scorer_case("slice_scorer_w1", 12, 16, 5, 1, seed + 1, cases)
    slice_scorer_case("slice_scorer_w3", 12, 16, 5, 3, seed + 2, cases)
    keypoint_case("keypoint_sigmoid", 2, 16, 5, "sigmoid", seed + 3, cases)
    keypoint_case("keypoint_raw", 2, 16, 5, "none", seed + 4, cases)
    with open(os.path.join(OUT, "cases.txt"), "w") as f:
        f.write("\n".join(cases) + "\n")


if __name__ == "__main__":
    main()
