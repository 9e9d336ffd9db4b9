"""The static memory planner: valid plans, the lower bound, and arena == lower bound on chain models."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import tinybnn
from randmodels import random_model
from tinybnn.backend import planner
from tinybnn.backend.planner import Buffer, Plan, check_plan, lower_bound

SEED = 20250612
FIXTURES = sorted((Path(__file__).parent / "fixtures").glob("*.onnx"))


def chain(sizes, scratch=None):
    """Buffers of a chain: input at step 0, out_i live [i, i+1], scratch_i at step i."""
    bufs = [Buffer("input", sizes[0], 0, 0, "input")]
    for i, s in enumerate(sizes[1:]):
        bufs.append(Buffer(f"L{i}.out", s, i, i + 1, "activation", layer=i))
    for i, s in enumerate(scratch or []):
        if s:
            bufs.append(Buffer(f"L{i}.scratch", s, i, i, "scratch", layer=i))
    return bufs


def test_random_chains_reach_the_lower_bound():
    rng = np.random.default_rng(SEED)
    strategies = set()
    for case in range(2000):
        n = int(rng.integers(1, 12))
        sizes = [4 * int(v) for v in rng.integers(1, 300, size=n + 1)]
        scratch = [4 * int(v) if rng.random() < 0.3 else 0 for v in rng.integers(1, 300, size=n + 1)]
        p = planner.plan(chain(sizes, scratch))
        check_plan(p)
        strategies.add(p.strategy)
        assert p.arena_bytes == lower_bound(p), f"seed {SEED} case {case}: {sizes} {scratch} -> {p.arena_bytes}"
    assert strategies == {"greedy", "ping-pong"}  # both paths are exercised


def test_greedy_alone_can_miss_the_bound_and_ping_pong_fixes_it():
    # sizes chosen so that the largest-first order strands the middle buffer (found by the random test above)
    rng = np.random.default_rng(SEED)
    for _ in range(5000):
        n = int(rng.integers(2, 8))
        bufs = chain([4 * int(v) for v in rng.integers(1, 50, size=n + 1)])
        g = planner.greedy(bufs)
        gp = Plan(g, max(b.offset + b.size for b in g))
        check_plan(gp)
        if gp.arena_bytes > lower_bound(gp):
            p = planner.plan(bufs)
            assert p.strategy == "ping-pong" and p.arena_bytes == lower_bound(p)
            return
    pytest.skip("greedy reached the lower bound on every sampled chain")


def test_random_interval_sets_are_valid():
    """General lifetimes (not chains): greedy is always valid and never below the bound."""
    rng = np.random.default_rng(SEED + 1)
    for case in range(500):
        bufs = []
        for k in range(int(rng.integers(1, 25))):
            a = int(rng.integers(0, 15))
            bufs.append(Buffer(f"b{k}", 4 * int(rng.integers(0, 100)), a, a + int(rng.integers(0, 6))))
        p = planner.plan(bufs)
        check_plan(p)
        assert p.arena_bytes >= lower_bound(p), f"seed {SEED + 1} case {case}"
        assert all(b.offset % planner.ALIGN == 0 for b in p.buffers)


def test_check_plan_finds_overlaps():
    a = Buffer("a", 16, 0, 1, offset=0)
    b = Buffer("b", 16, 1, 2, offset=8)
    with pytest.raises(AssertionError, match="overlaps"):
        check_plan(Plan([a, b], 32))
    check_plan(Plan([a, replace(b, offset=16)], 32))
    check_plan(Plan([a, replace(b, first=2, offset=0)], 32))  # disjoint lifetimes may share bytes
    with pytest.raises(AssertionError, match="outside"):
        check_plan(Plan([a, replace(b, offset=24)], 32))
    with pytest.raises(AssertionError, match="aligned"):
        check_plan(Plan([replace(a, offset=2)], 32))


def test_lower_bound_is_the_peak_live_total():
    p = planner.plan(chain([64, 256, 32, 512, 4], [20, 0, 0, 0]))
    assert lower_bound(p) == max(64 + 256 + 20, 256 + 32, 32 + 512, 512 + 4)


@pytest.mark.parametrize("i", range(60))
def test_random_models(i):
    m, _ = random_model(np.random.default_rng([SEED, i]), n_samples=2)
    p = planner.plan_model(m)
    check_plan(p)
    assert p.arena_bytes == lower_bound(p), f"seed {[SEED, i]}"
    names = {b.name for b in p.buffers}
    assert "input" in names
    assert f"L{len(m.layers) - 1}.out" not in names  # the output goes to the caller's buffer


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_fixture_plans(path):
    m = tinybnn.load(path, calibration=np.load(path.with_suffix(".npz"))["x"])
    p = planner.plan_model(m)
    check_plan(p)
    assert p.arena_bytes == lower_bound(p)
    scratch = [b for b in p.buffers if b.kind == "scratch"]
    for b in scratch:
        assert b.size == planner.align(planner.scratch_bytes(m.layers[b.layer]))


def _bireal(tmp_path, **kw):
    from resnets import bireal_onnx, inputs

    x = inputs(8, seed=3)
    return tinybnn.load(bireal_onnx(tmp_path / "m.onnx", seed=2, **kw), calibration=x, stream_bits=8)


@pytest.mark.parametrize("kw", [{}, {"rsign": True, "rprelu": True, "concat": True}], ids=["bireal", "reactnet"])
def test_a_residual_add_writes_in_place_of_an_input_that_dies_there(tmp_path, kw):
    """tb_add_s8 / tb_add_s16 allow y == a or b, tb_prelu_s8 / tb_prelu_s16 output == input: their output
    reuses such an input's bytes (an alias), the plan stays valid and needs less than one with a buffer per
    output."""
    from tinybnn.ir.layers import PRELU

    m = _bireal(tmp_path, **kw)
    bufs = planner.model_buffers(m)
    p = planner.plan(bufs)
    check_plan(p)
    by = {b.name: b for b in p.buffers}
    wiring = planner.layer_wiring(m)
    adds = [i for i, n in enumerate(m.layers[:-1]) if n.op in planner.IN_PLACE_OPS]
    assert adds and (any(m.layers[i].op == PRELU for i in adds) == bool(kw))
    for i in adds:
        out = by[f"L{i}.out"]
        dying = [j for j in wiring[i] if j >= 0 and max(k for k, ins in enumerate(wiring) if j in ins) == i]
        assert out.alias if dying else not out.alias, (i, dying)
        if out.alias:  # the same bytes as the input it overwrites (or that input's own buffer)
            assert out.offset == by[out.alias].offset
            assert any(by[f"L{j}.out"].offset == out.offset for j in dying)
    # the same buffers without in-place outputs: each add gets bytes of its own
    plain = [replace(b, alias="") for b in bufs]
    last_read = {j: i for i, ins in enumerate(wiring) for j in ins}
    plain = [replace(b, last=last_read[b.layer]) if b.kind == "activation" else b for b in plain]
    q = planner.plan(plain)
    assert p.arena_bytes < q.arena_bytes
    assert p.arena_bytes == lower_bound(p)
    assert {b["name"]: b.get("in_place_of", "") for b in p.to_json()} == {b.name: b.alias for b in p.buffers}


def test_an_add_whose_inputs_are_read_later_gets_its_own_buffer(tmp_path):
    from tinybnn.ir.layers import ADD

    m = _bireal(tmp_path)
    wiring = planner.layer_wiring(m)
    i = next(i for i, n in enumerate(m.layers) if n.op == ADD)
    last_read = {j: k for k, ins in enumerate(wiring) for j in ins}
    assert planner.in_place_input(m.layers, wiring, last_read, i) is not None
    later = {**last_read, **{j: i + 1 for j in wiring[i]}}  # both inputs still read after the add
    assert planner.in_place_input(m.layers, wiring, later, i) is None
    other = next(k for k, n in enumerate(m.layers) if n.op not in planner.IN_PLACE_OPS and k > 0)
    assert planner.in_place_input(m.layers, wiring, last_read, other) is None  # only these kernels allow it


def test_check_plan_finds_a_bad_in_place_buffer():
    a = Buffer("a", 16, 0, 3, offset=0)
    b = Buffer("b", 16, 2, 3, offset=0, alias="a")
    check_plan(Plan([a, b], 16))
    with pytest.raises(AssertionError, match="not inside"):
        check_plan(Plan([a, replace(b, last=4)], 16))  # outlives its buffer
    with pytest.raises(AssertionError, match="not inside"):
        check_plan(Plan([a, replace(b, size=20)], 32))  # larger than its buffer
    with pytest.raises(AssertionError, match="not a buffer"):
        check_plan(Plan([a, replace(b, alias="c")], 16))
    with pytest.raises(AssertionError, match=r"in place of b, itself in place of 'a'"):
        check_plan(Plan([a, b, Buffer("d", 16, 3, 3, offset=0, alias="b")], 16))  # an alias of an alias
    c = Buffer("c", 16, 2, 2, offset=0)
    with pytest.raises(AssertionError, match="overlaps"):
        check_plan(Plan([a, b, c], 16))  # a third buffer on the same bytes is still caught
    with pytest.raises(ValueError, match="not a placed buffer"):
        planner.plan([replace(a, offset=-1), replace(b, offset=-1, alias="c")])
