"""Kernel variants: which kernel family runs each binary layer, and the weight encodings they read.

A board file names its family in ``"kernel_variant"``; :func:`tinybnn.backend.codegen.prepare` then renders the
binary conv2d/dense layers (``tb_conv2d_b1b1``, ``tb_dense_b1b1``) whose dot products are long enough to
gain (:func:`uses_variant`) with that family's kernels
(``firmware/kernels/opt/``), their offline-encoded weights and their scratch; shorter ones of one or two words
(1x1 convs without padding, dense layers) the short kernels of every family (:func:`short_fn`). int8 x binary first layers take
the subset-sum kernels on the variants of :mod:`tinybnn.backend.first_layer_kernels`, depthwise binary convs
the bit-sliced kernel of :mod:`tinybnn.backend.stream_kernels`; other int8 first layers and
max-pools (AND/OR masks) use the reference kernels, and ``reference`` renders exactly what it always did.

========== ======================== ============================================ ===========================
variant    cores                    weights (flash, vs the reference)            inner loop
========== ======================== ============================================ ===========================
reference  any C99 target           packed [O][K]                                 portable, one word at a time
armv7m     Cortex-M3/M4/M7/M33/M55  K <= 64 words: the tree encoding per channel  one full-adder tree per dot
                                    (+~45%) and its threshold (armv7m_tree.py); product, Thumb-2 generated per
                                    longer: 13 words per 9, 4 per 3 left over    K (tree); 9-word blocks (asm)
armv6m     Cortex-M0/M0+            packed [O][K] (unchanged)                    SWAR, deferred byte sums
rv32-zbb   RV32 with Zbb (cpop)     channels interleaved by 4, padded to 4        4 x 4 register-blocked cpop
rv32       RV32 without Zbb         the armv7m encoding (13 words per 9, 4 per 3 carry-save + SWAR, two
           (RV32IMC, ESP32-C3)      left over, +44%); zero-padded convs: then    channels per column load
                                    the tap popcounts (tap_pops_words)           (RV32 assembly)
========== ======================== ============================================ ===========================

The C encoders ``tb_<family>_encode_weights`` (``firmware/kernels/opt/tb_kernels_opt.h``) are the
specification; the NumPy versions here produce the same words (tests/test_opt_kernels.py checks both
through the kernels). :func:`scratch_bytes` mirrors ``<fn>_get_buffer_size()`` of each family.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..ir.bits import words
from ..resources import KERNEL_VARIANTS, data_dir
from .ctext import c_define, pad_enum
from ..errors import TinyBnnError
from ..ir.layers import CONV2D, DENSE, LINEAR_OPS

REFERENCE = "reference"
OPT_FNS = ("tb_conv2d_b1b1", "tb_dense_b1b1")  # the kernels a variant replaces
COMMON_SOURCES = ("tb_kernels_opt.h", "tb_opt_internal.h", "tb_opt_common.c")
RUN = c_define("opt/tb_opt_internal.h", "TB_OPT_RUN")  # channels per run (one packed output word)


@dataclass(frozen=True)
class Variant:
    name: str        # the board file's "kernel_variant"
    family: str      # C suffix: tb_conv2d_b1b1_<family>
    sources: tuple   # files of firmware/kernels/opt/ the kernels need (besides COMMON_SOURCES)
    pixels: int      # output pixels per inner-loop call of a conv (the column block)
    interleaved: bool  # columns gathered straight into the inner loop's layout (no plain copy in scratch)
    cores: str
    weights: str     # what the encoding does to the weight bytes
    min_k_words: int  # shorter dot products (K packed words per output) stay on the reference kernel


    def fn(self, base: str) -> str:
        return f"{base}_{self.family}" if base in OPT_FNS else base


VARIANTS = {
    "armv7m": Variant("armv7m", "armv7m", ("tb_bgemm_armv7m.c", "tb_bgemm_armv7m_core.S", "tb_tree.c"), 1, False,
                      "Cortex-M3/M4/M7/M33/M55", "2-level full-adder encoding (13 words per 9, 4 per 3 left over)", 3),
    "armv6m": Variant("armv6m", "armv6m", ("tb_bgemm_armv6m.c",), 1, False, "Cortex-M0/M0+", "unchanged", 8),
    "rv32-zbb": Variant("rv32-zbb", "rv32zbb", ("tb_bgemm_rv32zbb.c",), 4, True, "RV32 with Zbb",
                        "channels interleaved by 4, zero channels up to a multiple of 4", 4),
    "rv32": Variant("rv32", "rv32", ("tb_bgemm_rv32.c", "tb_bgemm_rv32_core.S"), 1, False, "RV32 without Zbb (RV32IMC)",
                    "the armv7m encoding (13 words per 9, 4 per 3 left over)", 3),
}
assert set(VARIANTS) | {REFERENCE} == set(KERNEL_VARIANTS)


def opt_dir() -> Path:
    return data_dir("firmware") / "kernels" / "opt"


def variant(name: str) -> Variant | None:
    """The variant of a board file's ``kernel_variant`` (None for the reference kernels)."""
    if name == REFERENCE:
        return None
    if name not in VARIANTS:
        raise TinyBnnError(f"unknown kernel variant '{name}' (known: {', '.join(KERNEL_VARIANTS)})")
    return VARIANTS[name]


def k_words(node) -> int:
    """Packed words per output of a binary conv2d/dense (the length of each dot product)."""
    a = node.attrs
    if node.op == DENSE:
        P, C = (int(x) for x in a["in_shape"])
        return P * words(C)
    KH, KW = (int(x) for x in a["kernel"])
    return KH * KW * words(int(a["in_shape"][2]))


def uses_variant(name: str, node) -> bool:
    """Whether a layer runs on the variant's kernel: binary conv2d/dense with dot products of at least
    min_k_words words. Shorter ones cost more in per-call and per-channel set-up than the counting saves
    (measured with tinybnn bench, 64 outputs: break-even near 3 words on Cortex-M4, 8 on Cortex-M0, 4 on
    RV32+Zbb), so they keep the reference kernel. Grouped convolutions are not theirs: depthwise binary ones
    take tb_conv2d_grouped_b1b1_dw (tinybnn.backend.stream_kernels), the others keep the reference kernels."""
    v = variant(name)
    if v is None or node.op not in LINEAR_OPS or node.attrs["in_dtype"] != "bits":
        return False
    if node.attrs.get("groups", 1) > 1:  # grouped/depthwise: stream_kernels.py
        return False
    return k_words(node) >= v.min_k_words


# binary conv2d (1x1, no padding) / dense layers whose dot products are at most SHORT_MAX_WORDS words: every
# optimized family runs tb_conv2d_b1b1_short / tb_dense_b1b1_short (tb_short_opt.c, portable C, the reference's
# weights and contract) instead of the reference kernel
SHORT_MAX_WORDS = c_define("opt/tb_kernels_opt.h", "TB_SHORT_MAX_WORDS")
SHORT_FNS = {"tb_conv2d_b1b1": "tb_conv2d_b1b1_short", "tb_dense_b1b1": "tb_dense_b1b1_short"}
SHORT_SOURCES = ("tb_short_opt.c",)


def short_fn(name: str, node) -> str | None:
    """The short-dot-product kernel of a binary conv2d/dense on an optimized variant, or None. It takes the
    layers too short for the family's kernel (uses_variant) whose rows are at most SHORT_MAX_WORDS words: 1x1
    convs without padding (any stride) and dense layers. Per output channel it costs one XOR and a SWAR
    popcount per word (cpop on RV32 with Zbb) and, for a bits output, a compare and a shift; the reference
    walks its tap loops for each. Measured on qemu-m4 (benchmarks/bench_vs_cmsis_nn.py's per-layer counts,
    instructions): the Brevitas DS-CNN fixture's 1x1 convs of 32 channels, 8x8 -> bits 279,440 -> 37,030, 4x4 ->
    bits 69,880 -> 10,185, 4x4 -> int8 77,805 -> 15,525; the Brevitas TFC's 64 -> 64 binary denses 4,290 ->
    2,455."""
    if variant(name) is None or uses_variant(name, node) or node.op not in LINEAR_OPS:
        return None
    a = node.attrs
    if a["in_dtype"] != "bits" or a.get("groups", 1) > 1 or k_words(node) > SHORT_MAX_WORDS:
        return None
    if node.op == CONV2D and (tuple(int(x) for x in a["kernel"]) != (1, 1) or any(int(p) for p in a["pads"])):
        return None
    return SHORT_FNS["tb_conv2d_b1b1" if node.op == CONV2D else "tb_dense_b1b1"]


MAXPOOL_FN = "tb_maxpool_b1_opt"  # every family's bit max-pool (portable C)
MAXPOOL_SOURCES = ("tb_maxpool_opt.c",)
TREE_SOURCES = ("tb_tree.c",)  # the armv7m tree kernels' drivers (the kernels themselves are rendered)


def sources(name: str, fns=None) -> list[str]:
    """The files of firmware/kernels/opt/ a model rendered for this variant needs (none for reference); with
    the kernel functions of its layers (``fns``), armv7m lists only those of the kernels it runs: the generic
    family's files when a layer runs a generic kernel, tb_tree.c when one runs a tree kernel."""
    from .first_layer_kernels import sources as first_layer_sources
    from .stream_kernels import sources as stream_sources

    v = variant(name)
    if v is None:
        return []
    pool = list(MAXPOOL_SOURCES) if fns is None or MAXPOOL_FN in fns else []
    pool += stream_sources(fns or ())
    pool += list(SHORT_SOURCES) if fns is None or any(f in SHORT_FNS.values() for f in fns) else []
    if fns is None or name != "armv7m":
        return list(COMMON_SOURCES) + list(v.sources) + first_layer_sources(fns or ()) + pool
    generic = any(fn in (v.fn(base) for base in OPT_FNS) for fn in fns)
    tree = any(fn.startswith("tb_l") and fn.endswith("_b1b1_armv7m") for fn in fns)
    return list(COMMON_SOURCES) + [f for f in v.sources if (f in TREE_SOURCES and tree) or
                                   (f not in TREE_SOURCES and generic)] + first_layer_sources(fns) + pool


# ---------------------------------------------------------------------------------------- encoders --
def _armv7m_vector_words(k: int) -> int:
    nb, r = divmod(k, 9)
    return 13 * nb + 4 * (-(-r // 3))


def encode_armv7m(w: np.ndarray) -> np.ndarray:
    """[O][K] words -> [O][13 * (K // 9) + 4 * ceil((K % 9) / 3)] (tb_armv7m_encode_weights)."""
    w = np.asarray(w, np.uint32)
    O, K = w.shape
    nb = K // 9
    parts = []
    if nb:
        b = w[:, :9 * nb].reshape(O, nb, 3, 3)                 # blocks of three groups of three words
        s = b[..., 0] ^ b[..., 1] ^ b[..., 2]                   # the sums sA, sB, sG
        lvl2 = np.stack([s[..., 0], s[..., 0] ^ s[..., 1], s[..., 0] ^ s[..., 2],
                         s[..., 0] ^ s[..., 1] ^ s[..., 2]], axis=-1)
        grp = np.stack([b[..., 0], b[..., 0] ^ b[..., 1], b[..., 0] ^ b[..., 2]], axis=-1)  # (O, nb, 3, 3)
        parts.append(np.concatenate([lvl2, grp.reshape(O, nb, 9)], axis=-1).reshape(O, 13 * nb))
    rest = w[:, 9 * nb:]
    if rest.shape[1]:
        ng = -(-rest.shape[1] // 3)
        g = np.zeros((O, 3 * ng), np.uint32)
        g[:, :rest.shape[1]] = rest
        g = g.reshape(O, ng, 3)
        parts.append(np.stack([g[..., 0], g[..., 0] ^ g[..., 1], g[..., 0] ^ g[..., 2],
                               g[..., 0] ^ g[..., 1] ^ g[..., 2]], axis=-1).reshape(O, 4 * ng))
    return np.concatenate(parts, axis=1) if parts else np.zeros((O, 0), np.uint32)


def encode_rv32zbb(w: np.ndarray) -> np.ndarray:
    """[O][K] words -> [ceil(O / 4)][K][4] with zero channels (tb_rv32zbb_encode_weights)."""
    w = np.asarray(w, np.uint32)
    O, K = w.shape
    O4 = -(-O // 4) * 4
    p = np.zeros((O4, K), np.uint32)
    p[:O] = w
    return p.reshape(O4 // 4, 4, K).transpose(0, 2, 1).copy()


def flash_taps(name: str, node) -> int:
    """The taps of a conv whose weights for this variant's generic kernel end with its tap popcounts (rv32,
    zero padding with pads: tb_opt_family.flash_taps), else 0."""
    if name != "rv32" or not _zero_padded(node):
        return 0
    return int(node.attrs["kernel"][0]) * int(node.attrs["kernel"][1])


def encode(name: str, packed: np.ndarray, taps: int = 0) -> np.ndarray:
    """The weights a variant's kernels read, from the reference packed weights (any shape [O][...]); taps
    (flash_taps): then the tap popcounts (tap_pops_words), flattened."""
    w = np.asarray(packed, np.uint32)
    w2 = w.reshape(w.shape[0], -1)
    if taps:
        return np.concatenate([encode(name, w2).reshape(-1), tap_pops_words(w2, taps)])
    if name in ("armv7m", "rv32"):  # rv32: the same words (tb_rv32_encode_weights)
        return encode_armv7m(w2)
    if name == "rv32-zbb":
        return encode_rv32zbb(w2)
    if name in ("armv6m", REFERENCE):
        return w
    raise TinyBnnError(f"unknown kernel variant '{name}' (known: {', '.join(KERNEL_VARIANTS)})")


# ----------------------------------------------------------------------------------------- scratch --
def _column_words(name: str, k_words: int, columns: int) -> int:
    if name in ("armv7m", "rv32"):
        return columns * _armv7m_vector_words(k_words)
    if name == "rv32-zbb":
        return columns * k_words
    return 0


def conv2d_scratch_bytes(name: str, kernel: tuple, in_c: int, out_c: int, zero_pads: bool) -> int:
    """Scratch bytes of the variant's binary conv2d (tb_conv2d_b1b1_<family>_get_buffer_size); zero_pads:
    zero padding with at least one pad (the kernels then keep per-tap weight popcounts)."""
    v = variant(name)
    if v is None:
        return 0
    KH, KW = (int(x) for x in kernel)
    taps, px = KH * KW, v.pixels
    k = taps * words(int(in_c))
    n = (0 if v.interleaved else px * k) + _column_words(name, k, px) + out_c + px * RUN + RUN + px
    if zero_pads:  # padded taps, and the tap popcounts unless the weights carry them (rv32)
        n += px * taps + (0 if name == "rv32" else (out_c * taps + 1) // 2)
    return 4 * n


def dense_scratch_bytes(name: str, in_pixels: int, in_c: int, out_c: int) -> int:
    """Scratch bytes of the variant's binary dense (tb_dense_b1b1_<family>_get_buffer_size)."""
    if variant(name) is None:
        return 0
    k = int(in_pixels) * words(int(in_c))
    return 4 * (_column_words(name, k, 1) + out_c + RUN + RUN + 1)


def tree_scratch_bytes(node) -> int:
    """Scratch bytes of tb_tree_conv2d / tb_tree_dense for a layer (tb_tree_*_get_buffer_size)."""
    from . import armv7m_tree

    a = node.attrs
    K, O = k_words(node), int(a["out_shape"][-1])
    n = K + armv7m_tree.encoded_words(K) + 2 * RUN
    if _zero_padded(node):
        taps = int(a["kernel"][0]) * int(a["kernel"][1])
        n += taps + 2 + 2 * taps + 2 * O  # padded taps, border thresholds (the tap popcounts are in flash)
    return 4 * n


def _zero_padded(node) -> bool:
    """A conv with zero padding and at least one pad (its padded taps need corrections)."""
    a = node.attrs
    return node.op == CONV2D and a.get("pad", "zero") == "zero" and any(int(p) for p in a["pads"])


def tap_pops_words(packed: np.ndarray, taps: int) -> np.ndarray:
    """The tap popcounts a zero-padded conv's tree or rv32 weights end with (tb_opt_encode_tap_pops): entry
    i = o * taps + t, the popcount of tap t of channel o, in the low (even i) or high (odd i) half of word i // 2."""
    w = np.asarray(packed, np.uint32).reshape(np.shape(packed)[0], taps, -1)
    pops = np.unpackbits(w.view(np.uint8), axis=-1).reshape(w.shape[0], taps, -1).sum(axis=-1).reshape(-1)
    pops = np.concatenate([pops, np.zeros(len(pops) % 2, pops.dtype)]).astype(np.uint32)
    return pops[0::2] | (pops[1::2] << 16)


def scratch_bytes(name: str, node) -> int:
    """Scratch bytes of the variant's kernel for a device layer (mirrors <fn>_get_buffer_size())."""
    from .planner import scratch_bytes as reference_scratch

    a = node.attrs
    if not uses_variant(name, node):
        return reference_scratch(node)
    out_c = int(a["out_shape"][-1])
    if name == "armv7m" and _tree_specialization(node, 0) is not None:
        return tree_scratch_bytes(node)
    if node.op == DENSE:
        P, C = (int(x) for x in a["in_shape"])
        return dense_scratch_bytes(name, P, C, out_c)
    zero_pads = a.get("pad", "zero") == "zero" and any(int(p) for p in a["pads"])
    return conv2d_scratch_bytes(name, a["kernel"], int(a["in_shape"][2]), out_c, zero_pads)


# ------------------------------------------------------------------------------- per-layer kernels --
SPECIAL_WINDOW_WORDS = 24  # the register window of a specialized rv32-zbb conv (two pixels), at most


def specialization(name: str, node, index: int) -> dict | None:
    """The template context of a kernel specialized to this layer, or None when the variant has none for
    it. armv7m: every binary conv2d/dense it runs whose K is at most armv7m_tree.ALWAYS_K words gets the tree
    kernel of its K (templates/model_kernels_armv7m.*.j2), up to MAX_K words when that code is small next to
    the layer's weights. rv32-zbb (templates/model_kernels.c.j2): binary conv with a binary output, stride 1, no dilation,
    no zero padding around the input (the window of two pixels then needs no corrections), and a window of
    KH x (KW + 1) x words <= 24 words (what RV32's registers hold next to the sums and pointers)."""
    a = node.attrs
    if name == "armv7m":
        return _tree_specialization(node, index)
    if name != "rv32-zbb" or node.op != CONV2D or not uses_variant(name, node) or a["out"] != "bits":
        return None
    KH, KW = (int(x) for x in a["kernel"])
    H, W, C = (int(x) for x in a["in_shape"])
    OH, OW, O = (int(x) for x in a["out_shape"])
    pt, pl, pb, pr = (int(x) for x in a["pads"])
    pad = a.get("pad", "zero")
    WD = words(C)
    if tuple(int(x) for x in a["stride"]) != (1, 1) or tuple(int(x) for x in a.get("dilation", (1, 1))) != (1, 1):
        return None
    if pad == "zero" and (pt or pl or pb or pr):
        return None
    if KH * (KW + 1) * WD > SPECIAL_WINDOW_WORDS:
        return None
    tail = C - 32 * (WD - 1)
    minus = [0xFFFFFFFF] * (WD - 1) + [0xFFFFFFFF if tail == 32 else (1 << tail) - 1]
    pad_words = [f"0x{v:08X}u" for v in (minus if pad == "minus-one" else [0] * WD)]
    idx = lambda r, c, j: (r * (KW + 1) + c) * WD + j  # noqa: E731
    products = [{"k": (kh * KW + kw) * WD + j, "x0": idx(kh, kw, j), "x1": idx(kh, kw + 1, j)}
                for kh in range(KH) for kw in range(KW) for j in range(WD)]
    enum = pad_enum(pad)
    return {"index": index, "name": node.name, "fn": f"tb_l{index}_conv2d_b1b1_rv32zbb", "prefix": f"tb_l{index}",
            "family": "conv2d", "contract": "tb_conv2d_b1b1_rv32zbb",
            "H": H, "W": W, "C": C, "OH": OH, "OW": OW, "O": O, "KH": KH, "KW": KW, "WD": WD, "K": KH * KW * WD,
            "NW": KH * (KW + 1) * WD, "WO": words(O), "pt": pt, "pl": pl, "pb": pb, "pr": pr, "pad_enum": enum,
            "pad_words": pad_words, "products": products,
            "summary": f"{H}x{W}x{C} -> {OH}x{OW}x{O}, kernel {KH}x{KW}, pads t{pt} l{pl} b{pb} r{pr} ({pad})"}


def _tree_specialization(node, index: int) -> dict | None:
    from . import armv7m_tree

    if not uses_variant("armv7m", node):
        return None
    K = k_words(node)
    a = node.attrs
    bits = a["out"] == "bits"
    if not 2 <= K <= armv7m_tree.MAX_K:
        return None
    if K > armv7m_tree.ALWAYS_K and armv7m_tree.code_bytes(K, bits) > \
            armv7m_tree.CODE_SHARE * 4 * K * int(a["out_shape"][-1]):
        return None  # a long dot product over few channels: the generic kernel, less code
    if node.op == DENSE:
        P, C = (int(x) for x in a["in_shape"])
        family, k_bits, summary = "dense", P * C, f"{P}x{C} -> {int(a['out_shape'][-1])}"
        run = K
    else:
        KH, KW = (int(x) for x in a["kernel"])
        H, W, C = (int(x) for x in a["in_shape"])
        OH, OW, O = (int(x) for x in a["out_shape"])
        family, k_bits = "conv2d", KH * KW * C
        run = KW * words(C)
        summary = f"{H}x{W}x{C} -> {OH}x{OW}x{O}, kernel {KH}x{KW}"
    tree = f"tb_tree{K}{'t' if bits else ''}"
    taps = int(a["kernel"][0]) * int(a["kernel"][1]) if node.op == CONV2D else 0
    return {"tap_pops": taps if _zero_padded(node) else 0, "index": index, "name": node.name, "fn": f"tb_l{index}_{family}_b1b1_armv7m", "family": family,
            "prefix": f"tb_l{index}", "run": run, "encoder": f"tb_tree{K}_r{run}_encode",
            "contract": f"tb_{family}_b1b1 through tb_tree_{family}", "k": K, "k_bits": k_bits,
            "threshold": bits, "tree": tree, "summary": f"{summary}, K = {K} words ({'bits' if bits else 'int32'} out)"}


def pop_thresholds(thresholds, flip, k_bits: int) -> np.ndarray:
    """Popcount-domain thresholds (tb_opt_pop_thresholds): bit = (pop >= T) XOR flip, T in [0, k_bits + 1]."""
    tau = np.asarray(thresholds, np.int64)
    f = np.asarray(flip, bool)
    t = np.where(f, (k_bits + tau) // 2 + 1, (k_bits - tau) // 2 + 1)
    return np.clip(t, 0, k_bits + 1).astype(np.uint32)


def encode_layer(k: dict, packed: np.ndarray, thresholds, flip) -> np.ndarray:
    """The weights of a specialized layer. armv7m: per output channel the tree encoding of its K words
    (armv7m_tree.encode, tb_tree_encode_weights), then its popcount-domain threshold for a bits output; a
    conv with zero padding and pads then the tap popcounts (tap_pops_words, tb_opt_encode_tap_pops).
    rv32-zbb: per run of four channels the channel-interleaved words
    [K][4] (encode_rv32zbb), then the four popcount-domain thresholds (zero for padding channels), so that
    the kernel reads them with the weights: 4 * (K + 1) words per four channels."""
    if "tree" in k:
        from . import armv7m_tree

        w = armv7m_tree.encode(np.asarray(packed, np.uint32).reshape(np.shape(packed)[0], -1))
        if k["threshold"]:
            w = np.concatenate([w, pop_thresholds(thresholds, flip, k["k_bits"])[:, None]], axis=1)
        if not k.get("tap_pops"):
            return w
        return np.concatenate([w.reshape(-1), tap_pops_words(packed, k["tap_pops"])])
    w = encode_rv32zbb(np.asarray(packed, np.uint32).reshape(k["O"], -1))  # (O4 / 4, K, 4)
    T = pop_thresholds(thresholds, flip, k["KH"] * k["KW"] * k["C"])
    Tp = np.zeros(w.shape[0] * 4, np.uint32)
    Tp[:k["O"]] = T
    return np.concatenate([w.reshape(w.shape[0], -1), Tp.reshape(-1, 4)], axis=1)


def layer_weights_comment(k: dict, words: int) -> str:
    """What the weight array of a specialized layer holds (for the generated C's comment)."""
    if "tree" in k:
        return (f"tree-encoded for the armv7m kernel of K = {k['k']} (model_kernels_armv7m.S)"
                + (", each channel followed by its popcount-domain threshold" if k["threshold"] else "")
                + (", then the popcount of every tap of every channel (two per word)" if k.get("tap_pops") else "")
                + f": {words} words")
    return ("encoded for the kernel specialized to this layer (model_kernels.c): per 4 channels the interleaved "
            f"words then their popcount-domain thresholds, {words} words")


def render_layer_kernels(name: str, items: list[dict]) -> dict[str, bytes]:
    """model_kernels.c/.h (and for armv7m model_kernels_armv7m.S) for the specialized layers (empty when
    there are none)."""
    if not items:
        return {}
    from .ctext import __version__, c_comment, environment

    env = environment()
    ctx = {"version": __version__, "variant": name, "kernels": items, "c_comment": c_comment}
    if name == "armv7m":
        from . import armv7m_tree

        needed = sorted({(k["k"], k["threshold"]) for k in items})
        ctx["trees"] = [armv7m_tree.kernel_asm(K, t) for K, t in needed]
        ctx["encoders"] = [{**armv7m_tree.encoder_asm(K, run), "lines": armv7m_tree.encoder_c(K, run)}
                           for K, run in sorted({(k["k"], k["run"]) for k in items})]
        templates = {"model_kernels.c": "model_kernels_armv7m.c.j2", "model_kernels.h": "model_kernels.h.j2",
                     "model_kernels_armv7m.S": "model_kernels_armv7m.S.j2"}
    else:
        templates = {"model_kernels.c": "model_kernels.c.j2", "model_kernels.h": "model_kernels.h.j2"}
    return {f: env.get_template(t).render(**ctx).encode("utf-8") for f, t in templates.items()}
