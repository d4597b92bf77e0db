#!/usr/bin/env python3
"""Fits the polynomial behind the CPU backend's vectorised exact GELU.

GELU(x) = x * Phi(x) with Phi(x) = erfc(-x / sqrt 2) / 2, and for t = |x| / sqrt 2 >= 0
  erfc(t) = exp(-t^2) * R(u),   u = 1 / (1 + SCALE * t),   0 <= t <= HI,
so Phi = 1 - erfc(t) / 2 above zero and erfc(t) / 2 below, without cancellation in either
tail. R is a weighted least-squares fit (weights 1/R, so the error is relative) on Chebyshev
nodes in u, against mpmath at 30 digits. Prints the float32 coefficients, lowest degree first,
and the worst relative error of a float32 Horner evaluation, the way the Java kernel does it.
"""
import mpmath as mp
import numpy as np

mp.mp.dps = 30
SCALE, HI, DEGREE = 0.5, 10.0, 10


def nodes(n, lo, hi):
    return (np.cos(np.pi * (np.arange(n) + 0.5) / n) * 0.5 + 0.5) * (hi - lo) + lo


def scaled_erfc(u):
    t = (1 / u - 1) / SCALE
    return float(mp.erfc(t) * mp.exp(t * t))


us = nodes(700, 1 / (1 + SCALE * HI), 1.0)
ys = np.array([scaled_erfc(u) for u in us])
a = np.array([[u ** i for i in range(DEGREE + 1)] for u in us]) / ys[:, None]
c, *_ = np.linalg.lstsq(a, np.ones_like(ys), rcond=None)
r = c.astype(np.float32)

ts = np.linspace(0.0, HI, 5001).astype(np.float32)
worst = 0.0
for t in ts:
    u = np.float32(1) / (np.float32(1) + np.float32(SCALE) * t)
    acc = np.float32(0)
    for ci in r[::-1]:
        acc = acc * u + ci
    ref = float(mp.erfc(float(t)) * mp.exp(float(t) ** 2))
    worst = max(worst, abs(float(acc) / ref - 1))
print("R", [float(x) for x in r])
print("max rel err", worst)
