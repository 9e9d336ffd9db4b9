"""Bit-packing round trips and the tail-zero rule (property-based)."""

import numpy as np
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from tinybnn.ir.bits import pack_bits, pack_pm1, tail_mask, unpack_bits, unpack_pm1, words

SIZES = [1, 3, 31, 32, 33, 63, 64, 65, 100, 128]


@settings(max_examples=200, deadline=None)
@given(st.tuples(st.integers(1, 4), st.integers(1, 300)).flatmap(lambda s: arrays(np.bool_, s)))
def test_pack_unpack_roundtrip(bits):
    n = bits.shape[-1]
    w = pack_bits(bits)
    assert w.dtype == np.uint32 and w.shape == bits.shape[:-1] + (words(n),)
    assert np.array_equal(unpack_bits(w, n), bits)
    # tail bits are zero
    assert np.all((w & ~tail_mask(n)) == 0)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 200).flatmap(lambda n: arrays(np.float64, n, elements=st.floats(-5, 5))))
def test_pm1_convention(v):
    w = pack_pm1(v)
    u = unpack_pm1(w, len(v))
    # bit 1 = -1 for negatives, bit 0 = +1 for zero and positives
    assert np.array_equal(u, np.where(v < 0, -1, 1))


def test_sizes_and_lsb_first():
    for n in SIZES:
        v = np.zeros(n, bool)
        v[n - 1] = True
        w = pack_bits(v)
        assert w[(n - 1) // 32] == np.uint32(1) << np.uint32((n - 1) % 32)
        assert bin(int(tail_mask(n)[-1])).count("1") == (n - 1) % 32 + 1


def test_xor_popcount_is_dot_product():
    rng = np.random.default_rng(0)
    for n in SIZES:
        a, b = rng.choice([-1, 1], n), rng.choice([-1, 1], n)
        p = int(np.bitwise_count(pack_pm1(a) ^ pack_pm1(b)).sum())
        assert n - 2 * p == int(a @ b)
