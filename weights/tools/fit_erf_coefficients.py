#!/usr/bin/env python3
"""Fits the polynomial coefficients of the CPU backend's vectorised erf/erfc (exact GELU).

Two pieces, each a weighted least-squares fit on Chebyshev nodes against mpmath at 30 digits,
weights 1/f so the error is relative:
  erf(t)  = t * P(t^2)               for 0 <= t < SPLIT
  erfc(t) = exp(-t^2) * R(u),  u = 1 / (1 + SCALE * t)   for SPLIT <= t <= 10
Prints the float32 coefficients (lowest degree first) and the worst relative error of a
float32 Horner evaluation, the way the Java kernel evaluates them.
"""
import mpmath as mp
import numpy as np

mp.mp.dps = 30
SPLIT, SCALE, HI = 0.7, 0.5, 10.0


def nodes(n, lo, hi):
    return (np.cos(np.pi * (np.arange(n) + 0.5) / n) * 0.5 + 0.5) * (hi - lo) + lo


def weighted_fit(xs, f, powers):
    ys = np.array([f(x) for x in xs])
    a = np.array([[x ** p for p in powers] for x in xs]) / ys[:, None]
    c, *_ = np.linalg.lstsq(a, np.ones_like(ys), rcond=None)
    return c.astype(np.float32)


def horner(c, x):
    acc = np.float32(0)
    for ci in c[::-1]:
        acc = acc * x + ci
    return acc


erf_over_t = lambda t: float(mp.erf(t) / t)
p = weighted_fit(nodes(400, 0, SPLIT), erf_over_t, [2 * i for i in range(7)])
ts = np.linspace(1e-4, SPLIT, 5001).astype(np.float32)
err = max(abs(float(t * horner(p, t * t)) / float(mp.erf(float(t))) - 1) for t in ts)
print("P", [float(x) for x in p], "max rel err", err)

u_lo, u_hi = 1 / (1 + SCALE * HI), 1 / (1 + SCALE * SPLIT)
scaled = lambda u: float(mp.erfc((1 / u - 1) / SCALE) * mp.exp(((1 / u - 1) / SCALE) ** 2))
r = weighted_fit(nodes(600, u_lo, u_hi), scaled, list(range(10)))
ts = np.linspace(SPLIT, HI, 5001).astype(np.float32)
us = np.float32(1) / (np.float32(1) + np.float32(SCALE) * ts)
err = max(abs(float(horner(r, u)) / float(mp.erfc(float(t)) * mp.exp(float(t) ** 2)) - 1)
          for t, u in zip(ts, us))
print("R", [float(x) for x in r], "max rel err", err)
