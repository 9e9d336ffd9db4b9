"""Carry-save tree kernels of the armv7m variant, specialized to one dot-product length K.

The generic armv7m kernel (``firmware/kernels/opt/tb_bgemm_armv7m*.{c,S}``) counts nine words at a time and
pays a full SWAR bit count for every nine. A kernel that knows K at build time can do better: it reduces
the whole dot product with one tree of full adders and counts only a handful of words at the end.

The tree (``tree``). For the K product words p_i = x_i XOR w_i of one output, sum_i pop(p_i) is computed
with full adders: a + b + c = (a ^ b ^ c) + 2 maj(a, b, c), applied level by level to triples of words
(``a ^ b ^ c`` of a triple is the next level's word; ``maj`` is a carry of weight 2). The XOR of products is
the product of the XORs, so every word the tree ever adds is linear in x and w, and the encoding stores
each node pre-XORed, the same on both sides: a ternary node over (a, b, c) stores (a, a ^ b, a ^ c) and
its carry costs three EORs (x ^ w), one AND and one EOR: maj = a ^ ((a ^ b) & (a ^ c)); a binary node (a,
b), where two words are left at the top, stores (a, a ^ b) and its carry is a & b = a & ~(a ^ b) (BIC).
The root's sum S comes free from the top node (a ^ b of a binary one, two EORs for a ternary one), so:

    pop(x XOR w) = pop(S) + 2 * sum over the nodes of pop(carry)

The weights are encoded offline (:func:`encode`), the column of each output pixel at run time
(``tb_tree_encode`` in ``firmware/kernels/opt/tb_tree.c``, which is the specification: the same levels).
A K of 18 (a 3x3 conv over 64 channels) has 9 nodes and 26 encoded words (+44%); K = 32, 16 nodes, 47.

The count (``_Body``). The nine-or-so carries of weight 2 are reduced with carry-save adders as they appear
(three words of a weight become one of that weight and one of twice it, 5 instructions), so at most two
words of each weight stay live; what is left is counted once: 2-bit counts, then per pair of words of
weights w and 2w (or w and w) their weighted nibble counts in one word (``_nibbles``), and on DSP cores one
USAD8/USADA8 per such word against 15 times its high nibbles, which sums both nibbles of every byte
(``_count_dsp``); the Cortex-M3 has no USAD8 and folds bytes and halfwords instead (``_count``). The body's
registers, the sizes of its LDMs (a small search, ``body``) and its spills are chosen by the generator.

The generated functions per K (Thumb-2 assembly, ``templates/model_kernels_armv7m.S.j2``): ``bits`` runs a
whole output pixel, every channel in runs of 32, with each channel's popcount-domain threshold stored after
its encoded weights (compare, bit insert, column reset and loop: four instructions per channel), then the
flip mask and the store; ``pops`` returns popcounts (int32 outputs, zero-padded border pixels). Per K and
run (``KW * words`` contiguous words) a column encoder (``_Encoder``, LDM/STM) encodes a window in place.

This module renders the assembly for a K (``kernel_asm``); tinybnn/backend/kernels.py decides which layers use it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

ALWAYS_K = 64  # dot products (packed words) up to this length always get a tree kernel
MAX_K = 160    # up to this one when its code is small next to the layer's weights (code_bytes); beyond: the
               # generic kernel (the straight-line code grows with K: about 6.4 instructions per word)
CODE_SHARE = 0.25  # the most code a tree kernel longer than ALWAYS_K may add, per byte of the layer's weights


# ------------------------------------------------------------------------------------------- tree ---
@dataclass(frozen=True)
class Node:
    children: tuple  # item ids: 0..K-1 the leaves (the K words), K + i the sum of node i
    offset: int      # first encoded word

    @property
    def size(self) -> int:
        return len(self.children)


def tree(k: int) -> list[Node]:
    """The nodes of K leaves, in encoding (and evaluation) order. Level by level: the items of a level are
    taken three at a time; two left at the top become a binary node; otherwise what is left over goes up."""
    if k < 2:
        raise ValueError("a tree kernel needs K >= 2 words")
    level, nodes, off = list(range(k)), [], 0
    while len(level) > 1:
        nxt, i = [], 0
        while len(level) - i >= 3:
            nodes.append(Node(tuple(level[i:i + 3]), off))
            off += 3
            nxt.append(k + len(nodes) - 1)
            i += 3
        if len(level) - i == 2 and not nxt:
            nodes.append(Node(tuple(level[i:i + 2]), off))
            off += 2
            nxt.append(k + len(nodes) - 1)
        else:
            nxt.extend(level[i:])
        level = nxt
    return nodes


def encoded_words(k: int) -> int:
    """Encoded words of one vector of K words (3 per ternary node, 2 for a binary one; 0 below 2 words, as
    tb_tree_words)."""
    return sum(n.size for n in tree(k)) if k >= 2 else 0


def encode(v: np.ndarray) -> np.ndarray:
    """[..., K] uint32 words -> [..., encoded_words(K)]: per node (a, a ^ b[, a ^ c]) of its items."""
    v = np.asarray(v, np.uint32)
    k = v.shape[-1]
    items = [v[..., i] for i in range(k)]
    out = []
    for n in tree(k):
        a = items[n.children[0]]
        out.append(a)
        s = a
        for c in n.children[1:]:
            out.append(a ^ items[c])
            s = s ^ items[c]
        items.append(s)
    return np.stack(out, axis=-1)


def pop_reference(xe: np.ndarray, we: np.ndarray, k: int) -> np.ndarray:
    """pop(x XOR w) from the two encodings, the way the kernels compute it (S + 2 * carries): a NumPy model
    of the arithmetic, used by the tests."""
    p = np.asarray(xe, np.uint32) ^ np.asarray(we, np.uint32)
    nodes = tree(k)
    pc = lambda a: np.unpackbits(np.ascontiguousarray(a).view(np.uint8).reshape(a.shape + (4,)),  # noqa: E731
                                 axis=-1).sum(axis=-1).astype(np.int64)
    total = 0
    for n in nodes:
        q = [p[..., n.offset + j] for j in range(n.size)]
        carry = q[0] & ~q[1] if n.size == 2 else q[0] ^ (q[1] & q[2])
        total = total + 2 * pc(carry)
    top = nodes[-1]
    q = [p[..., top.offset + j] for j in range(top.size)]
    s = q[1] if top.size == 2 else q[0] ^ q[1] ^ q[2]
    return total + pc(s)


# ------------------------------------------------------------------------------------- generator ---
_ORDER = {f"r{i}": i for i in range(13)} | {"lr": 14}
M_PAIRS = "#0xAAAAAAAA"  # the high bit of every 2-bit field
M_NIBS = "#0xCCCCCCCC"   # the high 2-bit field of every nibble
M_BYTES = "#0xF0F0F0F0"  # the high nibble of every byte


class _Asm:
    """Straight-line Thumb-2 with a pool of free data registers and stack slots for spilled words."""

    def __init__(self, regs):
        self.free = sorted(regs, key=_ORDER.get)
        self.lines: list = []
        self.count = 0
        self.slots: list = []  # stack slots: in use (True) or free again (False)

    def op(self, text: str, comment: str = "") -> None:
        self.lines.append((text, comment))
        self.count += 1

    def release(self, *rs: str) -> None:
        self.free.extend(rs)
        self.free.sort(key=_ORDER.get)

    def spill(self, r: str, what: str) -> tuple:
        """Store r in a free stack slot and free it; returns the slot's token ("sp", slot)."""
        slot = self.slots.index(False) if False in self.slots else len(self.slots)
        if slot == len(self.slots):
            self.slots.append(True)
        self.slots[slot] = True
        self.op(f"str     {r}, [sp, #{4 * slot}]", f"spill {what}")
        self.release(r)
        return ("sp", slot)

    def reg(self, v) -> str:
        """The register of a live word, reloading a spilled one."""
        if isinstance(v, str):
            return v
        r = self.alloc()
        self.op(f"ldr     {r}, [sp, #{4 * v[1]}]", "reload")
        self.slots[v[1]] = False
        return r


@dataclass
class _Body(_Asm):
    """One channel's count: loads, tree, carry-save adders, SWAR count, written as Thumb-2 lines."""
    k: int
    regs: list                 # data registers this body may use
    threshold: bool            # the weights of each channel end with its threshold word
    load_threshold: bool       # load it (bits) rather than skip it (pops)
    dsp: bool                  # USADA8 available (Cortex-M4/M7/M33/M55), else the M3 byte sum
    spare: int = 1             # registers a column load leaves free besides the node's weight words
    x_cap: int = 16            # most column words one LDM loads
    plan: tuple = ()           # the words of the first loads (decisions), overriding the policy

    def __post_init__(self):
        _Asm.__init__(self, self.regs)
        self.nodes = tree(self.k)
        self.xw = encoded_words(self.k)
        self.xpos = self.wpos = 0
        self.xreg: dict[int, str] = {}
        self.wreg: dict[int, str] = {}
        self.pending: dict[int, list] = {}  # weight -> live words: a register, or ("sp", slot) when spilled
        self.t_reg = None
        self.decisions: list = []            # (lowest, highest, chosen) words of each load

    # ---- registers and lines
    def alloc(self) -> str:
        if not self.free:
            self._spill()
        return self.free.pop(0)

    def _spill(self) -> None:
        """Free a register: store the live word of the highest weight on the stack."""
        for weight in sorted(self.pending, reverse=True):
            for i, r in enumerate(self.pending[weight]):
                if isinstance(r, str):
                    self.pending[weight][i] = self.spill(r, f"a word of weight {weight}")
                    return
        raise RuntimeError(f"tree kernel K={self.k}: out of registers")

    # ---- loads: LDM as many words as the free registers allow (ascending registers, ascending words)
    def _ldm(self, base: str, first: int, n: int, regmap: dict, what: str) -> None:
        regs = sorted((self.alloc() for _ in range(n)), key=_ORDER.get)
        for i, r in enumerate(regs):
            regmap[first + i] = r
        if n == 1:
            self.op(f"ldr     {regs[0]}, [{base}], #4", f"{what} word {first}")
        else:
            self.op(f"ldmia   {base}!, {{{', '.join(regs)}}}", f"{what} words {first}..{first + n - 1}")

    def _choose(self, lo: int, default: int, hi: int) -> int:
        """The words of the next load: the plan's choice for this decision, else the default policy."""
        i = len(self.decisions)
        n = self.plan[i] if i < len(self.plan) else default
        n = max(lo, min(hi, n))
        self.decisions.append((lo, hi, n))
        return n

    def _load_for(self, node: Node) -> None:
        end = node.offset + node.size
        if self.xpos < end:
            w_missing = max(0, end - self.wpos)
            room = min(len(self.free) - w_missing - self.spare, self.x_cap)
            lo, hi = end - self.xpos, max(end - self.xpos, min(self.xw - self.xpos, len(self.free) - w_missing))
            n = self._choose(lo, max(lo, min(self.xw - self.xpos, room)), hi)
            self._ldm("r0", self.xpos, n, self.xreg, "column")
            self.xpos += n
        if self.wpos < end:
            room = len(self.free) - 1  # one temporary for a carry-save adder
            top = self.xw + (1 if self.threshold and self.load_threshold else 0)
            limit = self.xpos + (1 if top > self.xw and self.xpos == self.xw else 0)
            lo, hi = end - self.wpos, max(end - self.wpos, min(top - self.wpos, len(self.free)))
            n = self._choose(lo, max(lo, min(limit - self.wpos, room)), hi)
            self._ldm("r1", self.wpos, n, self.wreg, "weight")
            self.wpos += n
            if self.threshold and self.xw in self.wreg:
                self.t_reg = self.wreg.pop(self.xw)

    # ---- tree
    def _node(self, j: int, node: Node) -> str | None:
        """Node j's carry onto the pending words; returns the root sum S for the top node."""
        self._load_for(node)
        x = [self.xreg.pop(node.offset + i) for i in range(node.size)]
        w = [self.wreg.pop(node.offset + i) for i in range(node.size)]
        top = j == len(self.nodes) - 1
        tag = f"node {j} ({'top, ' if top else ''}{node.size} words)"
        for i in range(node.size):
            self.op(f"eor     {x[i]}, {x[i]}, {w[i]}", tag if i == 0 else "")
        self.release(*w)
        s = None
        if node.size == 2:
            if top:
                s = x[1]  # a ^ b
            self.op(f"bic     {x[0]}, {x[0]}, {x[1]}", "carry a & b")
            if not top:
                self.release(x[1])
        else:
            if top:
                s = self.alloc()
                self.op(f"eor     {s}, {x[1]}, {x[2]}", "root sum S = a ^ b ^ c")
                self.op(f"eor     {s}, {s}, {x[0]}")
            self.op(f"and     {x[1]}, {x[1]}, {x[2]}", "carry maj(a, b, c)")
            self.op(f"eor     {x[0]}, {x[0]}, {x[1]}")
            self.release(x[1], x[2])
        self._push(2, x[0])
        return s

    def _push(self, weight: int, r: str) -> None:
        self.pending.setdefault(weight, []).append(r)
        while len(self.pending[weight]) == 3:
            live = self.pending[weight]
            self.pending[weight] = []  # not spillable while they are combined
            a, b, c = (self.reg(v) for v in live)
            t = self.alloc()
            self.op(f"eor     {t}, {a}, {b}", f"carry-save adder, weight {weight}")
            self.op(f"and     {a}, {a}, {b}")
            self.op(f"and     {b}, {t}, {c}")
            self.op(f"orr     {a}, {a}, {b}")
            self.op(f"eor     {t}, {t}, {c}")
            self.release(b, c)
            self.pending[weight] = [t]
            self.pending.setdefault(2 * weight, []).append(a)
            weight *= 2
            if len(self.pending[weight]) < 3:
                break

    # ---- the SWAR count of the words left
    def _pairs(self, x: str) -> None:
        t = self.alloc()
        self.op(f"and     {t}, {x}, {M_PAIRS}")
        self.op(f"sub     {x}, {x}, {t}, lsr #1", "2-bit counts")
        self.release(t)

    def _nibbles(self, group) -> str:
        """A nibble group [(reg, 1)] or [(reg, 1), (reg, 2 ** s)]: its per-nibble weighted count (<= 12)."""
        (x, _), *rest = group
        self._pairs(x)
        if not rest:
            t = self.alloc()
            self.op(f"and     {t}, {x}, {M_NIBS}")
            self.op(f"and     {x}, {x}, #0x33333333")
            self.op(f"add     {x}, {x}, {t}, lsr #2", "nibble counts")
            self.release(t)
            return x
        (y, r), = rest
        s = r.bit_length() - 1
        self._pairs(y)
        # N = u - 3 * (high fields) with u = x + r * y; V = (high fields) * 2 of x + r * y, computed without
        # leaving 32 bits (a high field of a 2-bit count is at most 2): N = u - V - V / 2
        u = self.alloc()
        self.op(f"add     {u}, {x}, {y}, lsl #{s}" if s else f"add     {u}, {x}, {y}")
        self.op(f"and     {x}, {x}, {M_NIBS}")
        self.op(f"and     {y}, {y}, {M_NIBS}")
        if s == 1:
            self.op(f"add     {x}, {y}, {x}, lsr #1")
        else:
            self.op(f"lsr     {x}, {x}, #1")
            self.op(f"add     {x}, {x}, {y}, lsr #1")
        self.op(f"sub     {u}, {u}, {x}")
        self.op(f"sub     {u}, {u}, {x}, lsr #1", "nibble counts")
        self.release(x, y)
        return u

    def _bytes(self, groups) -> str:
        """Nibble groups [(reg, coefficient)] -> one word of byte counts sum c * (lo + hi nibble)."""
        if len(groups) == 1:
            (n, c), = groups
            assert c == 1
            t = self.alloc()
            self.op(f"and     {t}, {n}, {M_BYTES}")
            self.op(f"sub     {n}, {n}, {t}")
            self.op(f"add     {n}, {n}, {t}, lsr #4", "byte counts")
            self.release(t)
            return n
        (n0, c0), *rest = groups
        assert c0 == 1
        # B = U - 15 * V with U = sum c * N and V = sum c * (high nibbles >> 4), each term of V shifted
        # right as it is added (the low nibbles of N & 0xF0F0F0F0 are zero, so nothing is lost)
        u = self.alloc()
        sh = lambda c: f", lsl #{c.bit_length() - 1}" if c > 1 else ""  # noqa: E731
        self.op(f"add     {u}, {n0}, {rest[0][0]}{sh(rest[0][1])}")
        for n, c in rest[1:]:
            self.op(f"add     {u}, {u}, {n}{sh(c)}")
        for n, _ in groups:
            self.op(f"and     {n}, {n}, {M_BYTES}")
        self.op(f"lsr     {n0}, {n0}, #4")
        for n, c in rest:
            s = c.bit_length() - 1
            self.op(f"add     {n0}, {n0}, {n}, lsr #{4 - s}" if s < 4 else
                    f"add     {n0}, {n0}, {n}" + (f", lsl #{s - 4}" if s > 4 else ""))
        self.op(f"sub     {u}, {u}, {n0}, lsl #4")
        self.op(f"add     {u}, {u}, {n0}", "byte counts")
        self.release(*(n for n, _ in groups))
        return u

    def _byte_sum(self, b: str, acc: str | None, shift: int) -> str:
        """Cores without USAD8 (Cortex-M3): the sum of the bytes of b, plus acc << shift (acc None: none)."""
        t = self.alloc()
        self.op(f"and     {t}, {b}, #0x00FF00FF")
        self.op(f"and     {b}, {b}, #0xFF00FF00")
        self.op(f"add     {b}, {t}, {b}, lsr #8")
        self.op(f"add     {b}, {b}, {b}, lsl #16")
        self.op(f"lsr     {b}, {b}, #16", "sum of the bytes")
        self.release(t)
        if acc is not None:
            self.op(f"add     {b}, {b}, {acc}, lsl #{shift}")
            self.release(acc)
        return b

    def _count(self, words) -> str:
        """words [(reg, weight)] -> a register holding sum weight * pop(word)."""
        words = sorted(words, key=lambda rw: rw[1])
        groups = []  # nibble groups: (base weight, [(reg, relative weight)])
        while words:
            r, b = words.pop(0)
            partner = next((i for i, (_, w) in enumerate(words) if w == 2 * b), None)
            if partner is None:
                partner = next((i for i, (_, w) in enumerate(words) if w == b), None)
            if partner is None:
                groups.append((b, [(r, 1)]))
            else:
                r2, w2 = words.pop(partner)
                groups.append((b, [(r, 1), (r2, w2 // b)]))
        if self.dsp:
            return self._count_dsp(groups)
        nib_max = lambda g: 4 * sum(rel for _, rel in g[1])  # noqa: E731
        # byte groups: consecutive nibble groups whose weighted byte counts stay <= 255
        bgroups, cur = [], []
        lane_bound = 8 * self.k  # no byte lane of the whole sum exceeds 8 bits x K words
        for g in groups:
            trial = cur + [g]
            base = trial[0][0]
            bound = sum((b // base) * 2 * nib_max((b, m)) for b, m in trial)
            if len(trial) == len(groups):
                bound = min(bound, lane_bound // base)
            if cur and bound > 255:
                bgroups.append(cur)
                cur = [g]
            else:
                cur = trial
        bgroups.append(cur)
        done = [(g[0][0], self._bytes([(self._nibbles(m), b // g[0][0]) for b, m in g])) for g in bgroups]
        acc, acc_base = None, None
        for base, breg in reversed(done):  # the highest weights first, shifted into place as we go down
            shift = 0 if acc is None else (acc_base // base).bit_length() - 1
            acc, acc_base = self._byte_sum(breg, acc, shift), base
        assert acc_base == 1
        return acc

    def _count_dsp(self, groups) -> str:
        """The nibble groups summed by USAD8 without a byte stage: for a byte lane X = lo + 16 hi of nibble
        counts, |X - 15 hi| = lo + hi, so USAD8(N, (N & 0xF0F0F0F0) - ((N & 0xF0F0F0F0) >> 4)) is the whole
        count of N. Groups of one base weight chain with USADA8; the bases are then combined with shifts."""
        acc, acc_base = None, None
        for base in sorted({b for b, _ in groups}, reverse=True):
            a = None
            for b, members in groups:
                if b != base:
                    continue
                n = self._nibbles(members)
                y = self.alloc()
                self.op(f"and     {y}, {n}, {M_BYTES}")
                self.op(f"sub     {y}, {y}, {y}, lsr #4", "15 x the high nibbles")
                if a is None:
                    self.op(f"usad8   {n}, {n}, {y}", f"sum of the nibbles (weight {base})")
                else:
                    self.op(f"usada8  {n}, {n}, {y}, {a}", f"sum of the nibbles (weight {base})")
                    self.release(a)
                self.release(y)
                a = n
            if acc is not None:
                shift = (acc_base // base).bit_length() - 1
                self.op(f"add     {a}, {a}, {acc}, lsl #{shift}")
                self.release(acc)
            acc, acc_base = a, base
        assert acc_base == 1
        return acc

    def build(self) -> str:
        s = None
        for j, node in enumerate(self.nodes):
            s = self._node(j, node) or s
        words = [(s, 1)] + [(r, w) for w, rs in self.pending.items() for r in rs]
        self.pending = {}
        words = [(self.reg(r), w) for r, w in words]
        if self.threshold and self.load_threshold and self.t_reg is None:
            self.t_reg = self.alloc()
            self.op(f"ldr     {self.t_reg}, [r1], #4", "threshold")
        acc = self._count(words)
        return acc


@functools.lru_cache(maxsize=None)
def _body(k: int, regs: tuple, threshold: bool, load_threshold: bool, dsp: bool) -> _Body:
    def make(spare, x_cap, plan=()):
        b = _Body(k, list(regs), threshold, load_threshold, dsp, spare=spare, x_cap=x_cap, plan=tuple(plan))
        b.acc = b.build()
        return b

    # the best default policy, then each load's size improved in turn (the rest following the policy)
    best = min((make(s, x) for s in (0, 1, 2) for x in (4, 5, 6, 8, 16)), key=lambda b: b.count)
    plan = [n for _, _, n in best.decisions]
    i = 0
    while i < len(best.decisions):
        lo, hi, _ = best.decisions[i]
        for n in range(lo, hi + 1):
            if n != plan[i]:
                b = make(best.spare, best.x_cap, plan[:i] + [n])
                if b.count < best.count:
                    best, plan = b, [m for _, _, m in b.decisions]
        i += 1
    return best


def body(k: int, regs: list, threshold: bool, load_threshold: bool, dsp: bool) -> _Body:
    """The shortest body found: over a few load policies, then over the size of each load."""
    return _body(k, tuple(regs), threshold, load_threshold, dsp)


BITS_REGS = ["r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "lr"]
POPS_REGS = ["r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "lr"]


def _fmt(lines) -> list[str]:
    out = []
    for text, comment in lines:
        out.append(f"    {text:<35} @ {comment}" if comment else f"    {text}")
    return out


def kernel_asm(k: int, threshold: bool) -> dict:
    """The template context (templates/model_kernels_armv7m.S.j2) of the tree kernel for K words: the
    bits function (only when the weights carry thresholds) and the pops function, each as two bodies, for
    cores with the DSP extension (USADA8) and without (Cortex-M3)."""
    name = f"tb_tree{k}{'t' if threshold else ''}"
    out = {"k": k, "name": name, "xe_bytes": 4 * encoded_words(k), "threshold": threshold,
           "words": encoded_words(k), "nodes": len(tree(k)), "fns": []}
    for kind in (["bits"] if threshold else []) + ["pops"]:
        fn = {"kind": kind, "fn": f"{name}_{kind}", "frame": 0,
              "skip": threshold and kind == "pops"}  # pops of a layer with thresholds steps over each one
        for dsp in (True, False):
            b = body(k, BITS_REGS if kind == "bits" else POPS_REGS, threshold, kind == "bits", dsp)
            fn["dsp" if dsp else "nodsp"] = {"lines": _fmt(b.lines), "acc": b.acc, "t": b.t_reg, "count": b.count}
            fn["frame"] = max(fn["frame"], 4 * len(b.slots))
        out["fns"].append(fn)
    return out


class _Encoder(_Asm):
    """The column encoder of K words in runs of `run` (tb_tree_encode), as Thumb-2 lines:
    void f(const uint32_t *src, int32_t stride, uint32_t *xe): r0 the source (advancing), r1 the gap between
    runs in bytes, r2 the encoded column (advancing); leaves loaded with LDM, nodes stored with STM."""

    def __init__(self, k: int, run: int):
        super().__init__(BITS_REGS)
        self.k, self.run = k, run
        self.value: dict[int, object] = {}  # item id -> register, or ("sp", slot)
        self.next_leaf = 0
        self.queue: list = []  # registers to store, in xe order

    def alloc(self) -> str:
        if not self.free:
            self.flush()
        if not self.free:
            self._spill()
        return self.free.pop(0)

    def _spill(self) -> None:
        for item in sorted(self.value, reverse=True):  # the sum needed last
            r = self.value[item]
            if isinstance(r, str) and item >= self.k:
                self.value[item] = self.spill(r, "a sum")
                return
        raise RuntimeError(f"column encoder K={self.k}: out of registers")

    def flush(self) -> None:
        if not self.queue:
            return
        if len(self.queue) == 1:
            self.op(f"str     {self.queue[0]}, [r2], #4")
        else:
            self.op(f"stmia   r2!, {{{', '.join(self.queue)}}}")
        self.release(*self.queue)
        self.queue = []

    def store(self, regs) -> None:
        for r in regs:
            if self.queue and _ORDER[r] <= _ORDER[self.queue[-1]]:
                self.flush()
            self.queue.append(r)

    def _load_leaves(self, upto: int) -> None:
        """Load leaves up to `upto` (and more of the same run while registers allow)."""
        while self.next_leaf <= upto:
            run_left = self.run - self.next_leaf % self.run
            n = max(1, min(run_left, len(self.free) - 2)) if len(self.free) > 2 else 1
            n = max(n, min(run_left, upto - self.next_leaf + 1))
            regs = sorted((self.alloc() for _ in range(n)), key=_ORDER.get)
            first = self.next_leaf
            for i, r in enumerate(regs):
                self.value[first + i] = r
            if n == 1:
                self.op(f"ldr     {regs[0]}, [r0], #4", f"leaf {first}")
            else:
                self.op(f"ldmia   r0!, {{{', '.join(regs)}}}", f"leaves {first}..{first + n - 1}")
            self.next_leaf += n
            if self.next_leaf % self.run == 0 and self.next_leaf < self.k:
                self.op("add     r0, r0, r1", "the next run")

    def get(self, item: int) -> str:
        if item < self.k and item not in self.value:
            self._load_leaves(item)
        return self.reg(self.value.pop(item))

    def build(self) -> None:
        nodes = tree(self.k)
        for j, n in enumerate(nodes):
            top = j == len(nodes) - 1
            leaves = [c for c in n.children if c < self.k and c not in self.value]
            if leaves:
                self._load_leaves(max(leaves))
            a, *rest = (self.get(c) for c in n.children)
            if n.size == 3 and not top:
                b, c = rest
                self.op(f"eor     {b}, {b}, {a}", f"node {j}: a ^ b")
                s = self.alloc()
                self.op(f"eor     {s}, {b}, {c}", "its sum a ^ b ^ c")
                self.op(f"eor     {c}, {c}, {a}", "a ^ c")
                self.value[self.k + j] = s
            else:
                for i, b in enumerate(rest):
                    self.op(f"eor     {b}, {b}, {a}", f"node {j} (top): a ^ {'bc'[i]}" if i == 0 else "")
            self.store([a] + rest)
        self.flush()


def encoder_asm(k: int, run: int) -> dict:
    """The template context of the Thumb-2 column encoder of K words in runs of `run`."""
    e = _Encoder(k, run)
    e.build()
    return {"fn": f"tb_tree{k}_r{run}_encode", "k": k, "run": run, "asm": _fmt(e.lines),
            "frame": 4 * len(e.slots), "gap": run < k, "run_bytes": 4 * run, "count": e.count}


def encoder_c(k: int, run: int) -> list[str]:
    """The statements of a column encoder for K words read as K / run runs of `run` contiguous words
    (``src`` + r * ``stride`` words): the leaves, then per node its encoded words and its sum, as
    tb_tree_encode computes them (templates/model_kernels_armv7m.c.j2)."""
    if k % run:
        raise ValueError(f"K = {k} is not a whole number of runs of {run} words")
    lines = [f"const uint32_t *const row{r} = src + {r} * stride;" for r in range(1, k // run)]
    lines += [f"const uint32_t v{i} = {'src' if i < run else f'row{i // run}'}[{i % run}];" for i in range(k)]
    names, off, nodes = [f"v{i}" for i in range(k)], 0, tree(k)
    for j, n in enumerate(nodes):
        a, *rest = (names[c] for c in n.children)
        top = j == len(nodes) - 1
        lines.append(f"/* node {j}: {', '.join(names[c] for c in n.children)} */")
        lines.append(f"xe[{off}] = {a};")
        for i, b in enumerate(rest):
            lines.append(f"xe[{off + 1 + i}] = {a} ^ {b};")
        if not top:
            lines.append(f"const uint32_t s{j} = {' ^ '.join([a] + rest)};")
        names.append(f"s{j}")
        off += n.size
    return lines


def code_bytes(k: int, threshold: bool) -> int:
    """An upper bound of the flash of a kernel of K words (bits, pops and an encoder; at most four bytes an
    instruction; the DSP body, the longer one is about the same)."""
    n = body(k, POPS_REGS, threshold, False, True).count + 20
    if threshold:
        n += body(k, BITS_REGS, True, True, True).count + 40
    e = _Encoder(k, k)
    e.build()
    return 4 * (n + e.count + 10)

