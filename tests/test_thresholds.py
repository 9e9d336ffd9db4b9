"""BatchNorm/scale/bias + sign -> integer thresholds: equal to the float decision at every accumulator value."""

import numpy as np
import pytest

from tinybnn.passes.lower import thresholds, verify_thresholds


def brute(steps, lo, hi, zero, C):
    """Float decisions for every accumulator value, computed independently, one channel at a time."""
    out = []
    for c in range(C):
        acc = np.arange(lo[c], hi[c] + 1, dtype=np.float64)
        y = acc.copy()
        for sc, b in steps:
            y = y * sc[c] + b[c]
        out.append(y > 0 if zero == "-1" else y >= 0)
    return out


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("zero", ["+1", "-1", "0"])
def test_threshold_equivalence(seed, zero):
    rng = np.random.default_rng(seed)
    C = int(rng.integers(1, 70))
    K = int(rng.integers(1, 600))
    lo, hi = np.full(C, -K), np.full(C, K)
    steps = []
    for _ in range(int(rng.integers(1, 4))):
        sc = rng.normal(0, 2, C) * rng.choice([1, 1, 1, 0], C)  # some zero scales: constant channels
        b = rng.normal(0, K / 3, C)
        # exact ties: make some thresholds land on integers
        b[::5] = np.round(b[::5])
        steps.append((sc, b))
    tau, flip, lo2, hi2 = thresholds(steps, lo, hi, zero, C)
    verify_thresholds(steps, tau, flip, lo2, hi2, zero, None)
    ref = brute(steps, lo, hi, zero, C)
    for c in range(C):
        acc = np.arange(lo[c], hi[c] + 1, dtype=np.int64)
        a2 = ~acc if flip[c] else acc
        plus_one = ~(a2 < tau[c])
        assert np.array_equal(plus_one, ref[c]), f"seed {seed} channel {c}"
        assert -(2**31) <= tau[c] < 2**31


def test_int8_range_thresholds():
    # a wide int8 accumulator range uses the monotone window check
    rng = np.random.default_rng(1)
    C = 8
    lo, hi = np.full(C, -2_000_000), np.full(C, 2_000_000)
    steps = [(rng.normal(0, 1e-3, C), rng.normal(0, 10, C))]
    tau, flip, lo2, hi2 = thresholds(steps, lo, hi, "+1", C)
    verify_thresholds(steps, tau, flip, lo2, hi2, "+1", None)
    for c in range(C):
        t = tau[c]
        for a in (t - 1, t):
            acc = ~a if flip[c] else a
            y = acc * steps[0][0][c] + steps[0][1][c]
            assert (y >= 0) == (a >= t)
