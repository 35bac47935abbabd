"""Fits the polynomial that src/tensor/gemm.ts uses for a fast erfc in its fused GELU.

  erfc(x) = exp(-x^2) * t * P(t),  t = 2 / (2 + x),  x >= 0     (erfc(-x) = 2 - erfc(x))

erfcx(x) / t is smooth on t in (0, 1]; P is a least-squares fit, relative to erfcx, on Chebyshev
nodes in t with erfcx from mpmath at 30 digits. Prints the coefficients (t^0 first) and the max
relative error of exp(-x^2) t P(t) against mpmath's erfc on a dense grid of x in [0, 27].
Run: /usr/bin/python3 tools/fit/fit_erfcx.py [degree]
"""
import sys

import mpmath
import numpy as np

mpmath.mp.dps = 30


def erfcx(x):
    return mpmath.exp(x * x) * mpmath.erfc(x)


def main():
    degree = int(sys.argv[1]) if len(sys.argv) > 1 else 18
    n = 4 * degree
    # Chebyshev nodes in t over (0, 1]; t -> 0 is x -> infinity, where erfcx(x) -> 1 / (x sqrt(pi))
    ts = 0.5 + 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)
    ts = ts[ts > 1e-3]
    xs = 2 / ts - 2
    target = np.array([float(erfcx(mpmath.mpf(x)) / mpmath.mpf(t)) for x, t in zip(xs, ts)])
    basis = np.vander(ts, degree + 1, increasing=True)
    weights = 1 / target  # relative error
    coef, *_ = np.linalg.lstsq(basis * weights[:, None], target * weights, rcond=None)
    worst = 0.0
    for x in np.linspace(0, 27, 20001):
        t = 2 / (2 + x)
        approx = np.exp(-x * x) * t * np.polyval(coef[::-1], t)
        exact = float(mpmath.erfc(mpmath.mpf(x)))
        if exact > 1e-300:
            worst = max(worst, abs(approx - exact) / exact)
    print("coefficients:", ", ".join(repr(float(c)) for c in coef))
    print(f"degree {degree}: max relative error of erfc on [0, 27]: {worst:.2e}")


if __name__ == "__main__":
    main()
