#!/usr/bin/env python3
"""Fits the polynomial behind the CPU backend's e^-x for SiLU and sigmoid (VectorMath.logisticExp).

e^-x = 2^k * e^r with k = round(-x / ln 2) and |r| <= ln2 / 2; e^r is taken as
  1 + r + Q2 r^2 + Q3 r^3 + Q4 r^4 + Q5 r^5,
the first two terms exact so that small arguments keep their accuracy. Q2..Q5 minimise the
largest relative error over |r| <= ln2 / 2, widened by 0.05 % (Lawson's iteration: weighted least squares whose
weights follow the error, on Chebyshev nodes, against exp in double precision). Prints the
float32 coefficients and the worst relative error of the fit, then of a float32 Horner
evaluation the way the Java kernel does it (with fused multiply-adds emulated in double).
"""
import numpy as np

HALF = np.log(2.0) / 2
DEGREE = 5

# a little beyond ln2 / 2: r, computed in float32, can round just past it
r = np.cos(np.linspace(0.0, np.pi, 4001)) * HALF * 1.0005
f = np.exp(r)
# unknowns Q2..Q5: minimise |(1 + r + sum Q_i r^i) / e^r - 1|
a = np.stack([r ** i / f for i in range(2, DEGREE + 1)], 1)
b = 1 - (1 + r) / f
w = np.full(len(r), 1.0 / len(r))
for _ in range(400):
    sw = np.sqrt(w)
    q, *_ = np.linalg.lstsq(a * sw[:, None], b * sw, rcond=None)
    err = np.abs(a @ q - b)
    w = w * err
    w /= w.sum()
print("fit: worst relative error %.3g" % err.max())
q32 = q.astype(np.float32)
for i, c in enumerate(q32, start=2):
    print("Q%d = %sf" % (i, repr(float(c))))


def fma32(x, y, z):
    # float32 fused multiply-add: the exact product and sum, rounded once
    return np.float32(np.float64(x) * np.float64(y) + np.float64(z))


worst = 0.0
for x in np.linspace(-HALF, HALF, 20001).astype(np.float32):
    s = np.float32(-x)
    p = fma32(s, -q32[3], q32[2])
    p = fma32(p, s, -q32[1])
    p = fma32(p, s, q32[0])
    p = fma32(p, s, np.float32(-1))
    p = fma32(p, s, np.float32(1))
    worst = max(worst, abs(float(p) / np.exp(float(x)) - 1))
print("float32 Horner: worst relative error %.3g" % worst)
