"""Train a residual (Bi-Real / ReActNet-style) keyword-spotting BNN and export it for tinybnn
(run in .venv-fixtures-torch).

    python examples/kws/make_dataset.py --out build/kws_data --seed 0        # system Python is enough
    T=.venv-fixtures-torch/bin/python
    $T examples/kws/train_residual.py --data build/kws_data --out build/kws_teacher/ \
        --k1 1 --layout bbdbdb --seed 1 --real                              # its float version, then
    $T examples/kws/train_residual.py --data build/kws_data --out examples/kws/model/ \
        --k1 1 --layout bbdbdb --seed 1 --keep-best \
        --init build/kws_teacher/kws_resnet_teacher.pt                      # the shipped model

Same data, input layout (N, 10, 49, 1), normalisation, int8 input step, straight-through estimators,
optimizer, schedule, augmentation and export as train.py (imported from it). The model carries a
real-valued stream between the binary convolutions (1-D over time, Conv2d with (k, 1) kernels):

    Mul/Add per coefficient (fixed z-score normalisation from the TRAIN split, in the ONNX graph)
    stem: conv k1x1 10->C + BN                                                 -> the real stream s
          --stem float: full-precision weights (int8/int16 on the device)
          --stem binary: +-1 weights on the int8 input, like train.py's first layer
    --layout, one token per stage:
      b  block:      s = s + BN(binconv kx1(rsign(s)))                         (same length)
      d  down block: s = avgpool 2x1(s) + BN(binconv kx1 stride 2(rsign(s)))   (half the length)
      p  pool:       s = avgpool 2x1(s)                                        (half the length)
    --head gap:     global average over time -> Linear C->12 (float, bias)     (logits)
    --head flatten: rsign(s), flatten (time x C), binary Linear -> 12, BatchNorm1d, like train.py's head

Binary convs have XNOR-Net / Bi-Real scaled weights sign(W) * mean|W| per output channel (gradient
through the scale too), frozen to those +-alpha constants before export. rsign(x) = where(x + b_c >= 0,
+1, -1) with a learnable per-channel shift b_c (ReActNet's RSign; --no-rsign: plain where(x >= 0)); it
exports as Add + GreaterOrEqual + Where. Legacy exporter, constant folding, TrainingMode.PRESERVE (BN kept
as a node). tinybnn quantizes the streams from calibration data: --cal-clips seeded TRAIN clips (on the
int8 input grid) are written beside the model as kws_resnet_calibration.npz and give the golden accuracy
of the metrics, with the input step of the metadata (`tinybnn check MODEL --data kws_bnn_test.npz
--calibration kws_resnet_calibration.npz --input-scale STEP` reproduces it); "..._calibrated_on_test_data"
is what `tinybnn check --data` alone does.

Other options (none by default): --rprelu (ReActNet's RPReLU after every block's add; 2,048 B per block
on the device at 64 channels), --label-smoothing, --noise (Gaussian noise on the training features), --vtlp
(vocal tract length perturbation: each training clip's formants moved by a random factor within +-VTLP,
a 10 x 10 linear map of its MFCCs through the 40 mel bands; speakers that sound shorter or taller), and
distillation: --real trains the float version of the same net (float weights, hardtanh in place of the
signs) and writes NAME_teacher.pt without exporting; --real-weights does the same with the binary
activations kept (ReActNet's first training step: the signs binary, the block convs' weights real);
--teacher FILE (that .pt, or an ONNX model such as kws_bnn.onnx, run by onnxruntime) trains on
(1 - kd_alpha) CE + kd_alpha T^2 KL(teacher || student) at temperature --kd-temp, the teacher's logits
taken on the same augmented batch (ReActNet's distributional loss: kd_alpha 1, T 1). --init FILE (a
--real run's .pt with the same options) starts the binary net from its float version's weights instead
of a random initialization (Bi-Real Net's recipe), or from a --real-weights run (ReActNet's second
step). --keep-best exports the epoch of best accuracy on the validation clips (early stopping; never the
test clips) instead of the last one. Without these options the loop is train.py's train() itself.

Writes to --out: kws_resnet.onnx, kws_resnet_calibration.npz, kws_resnet_metrics.json (metrics.json's
structure), labels.txt. The test clips are train.py's kws_bnn_test.npz when that file in --out holds the
same clips (its name goes into the metrics); otherwise they are written to kws_resnet_test.npz.
"""
from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
# first: train.py sets the one-thread environment before numpy and torch are imported
from train import (N_FRAMES, N_MFCC, ActSTE, BinConv2d, BinLinear, InputNorm, WeightSTE, accuracy, evaluate,  # noqa: E402
                   clip_weights, export, load_data, savez_reproducible, setup, snap_to_input_grid,
                   time_shift, torch_predict, train)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402


class ScaledBinConv2d(BinConv2d):
    """Binary conv with weights sign(W) * alpha_o, alpha_o = mean |W_o| per output channel (latent W
    clipped to [-1, 1] by train.clip_weights). freeze_scaled() stores the +-alpha_o values themselves."""

    def alpha(self):
        return self.weight.abs().mean(dim=(1, 2, 3), keepdim=True)

    def forward(self, x):
        w = self.weight if self.frozen else WeightSTE.apply(self.weight) * self.alpha()
        return self._conv_forward(x, w, None)

    @torch.no_grad()
    def freeze_scaled(self):
        assert (self.weight != 0).all()  # where(W >= 0) == sign(W): the frozen forward is the trained one
        self.weight.copy_(torch.where(self.weight >= 0, 1.0, -1.0) * self.alpha())
        self.frozen = True


class RSign(nn.Module):
    """where(x + b_c >= 0, +1, -1), hard-tanh straight-through; b_c learnable (ReActNet) or absent.
    real=True (the float teacher of --teacher): hardtanh(x + b_c) instead of the sign."""

    def __init__(self, c, learn_shift=True, real=False):
        super().__init__()
        self.shift = nn.Parameter(torch.zeros(1, c, 1, 1)) if learn_shift else None
        self.real = real

    def forward(self, x):
        x = x if self.shift is None else x + self.shift
        return torch.clamp(x, -1, 1) if self.real else ActSTE.apply(x)


class RPReLU(nn.Module):
    """ReActNet's RPReLU per channel: PReLU(x - gamma_c; slope beta_c) + zeta_c (exports as Sub/Add + PRelu + Add)."""

    def __init__(self, c):
        super().__init__()
        self.gamma = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.prelu = nn.PReLU(c, init=0.25)
        self.zeta = nn.Parameter(torch.zeros(1, c, 1, 1))

    def forward(self, x):
        return self.prelu(x - self.gamma) + self.zeta


class Block(nn.Module):
    """s = shortcut(s) + BN(binconv(rsign(s))); stride 2: AvgPool 2x1 shortcut, the conv's padding chosen so
    that both halve the length (an odd length loses its last frame in both)."""

    def __init__(self, c, k, stride, t, rsign, real=False, rprelu=False, real_weights=False):
        super().__init__()
        pad = k // 2 if (stride == 1 or t % 2 == 0) else k // 2 - 1
        self.sign = RSign(c, rsign, real)
        fp = real or real_weights
        conv = nn.Conv2d if fp else ScaledBinConv2d
        self.conv = conv(c, c, (k, 1), stride=(stride, 1), padding=(pad, 0), **({"bias": False} if fp else {}))
        self.bn = nn.BatchNorm2d(c)
        self.pool = nn.AvgPool2d((2, 1)) if stride == 2 else None
        self.act = RPReLU(c) if rprelu else None
        self.t_out = (t + 2 * pad - k) // stride + 1
        assert self.t_out == (t if stride == 1 else t // 2)

    def forward(self, s):
        r = self.bn(self.conv(self.sign(s)))
        s = (s if self.pool is None else self.pool(s)) + r
        return s if self.act is None else self.act(s)


class ResKWS(nn.Module):
    """layout: one token per stage, b = residual block (same length), d = down block (stride-2 conv, AvgPool
    shortcut), p = AvgPool 2x1 of the stream (the chain model's max-pool after every conv, on real values).
    stem "binary": +-1 weights on the int8 input like train.py's first layer, "float": full precision.
    head "flatten": rsign, flatten (time x channels), binary Linear, BatchNorm1d like train.py's;
    "gap": global average, float Linear."""

    def __init__(self, norm: InputNorm, n_classes: int, c=64, k1=3, k=3, layout="bdbdb", rsign=True,
                 stem="float", head="gap", real=False, rprelu=False, real_weights=False):
        super().__init__()
        self.norm = norm
        conv = BinConv2d if stem == "binary" and not real else nn.Conv2d
        self.stem = conv(N_MFCC, c, (k1, 1), padding=(k1 // 2, 0), **({} if conv is BinConv2d else {"bias": False}))
        self.stem_bn = nn.BatchNorm2d(c)
        t, blocks = N_FRAMES, []
        for tok in layout:
            if tok == "p":
                blocks.append(nn.AvgPool2d((2, 1)))
                t //= 2
            elif tok in "bd":
                blocks.append(Block(c, k, 2 if tok == "d" else 1, t, rsign, real, rprelu, real_weights))
                t = blocks[-1].t_out
            else:
                raise ValueError(f"layout token {tok!r}: b, d or p")
        self.blocks = nn.Sequential(*blocks)
        self.head = head
        if head == "flatten":
            self.head_sign = RSign(c, rsign, real)
            self.fc = nn.Linear(c * t, n_classes, bias=False) if real else BinLinear(c * t, n_classes)
            self.head_bn = nn.BatchNorm1d(n_classes)
        else:
            self.gap = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(c, n_classes)

    def forward(self, x):
        s = self.stem_bn(self.stem(self.norm(x)))
        s = self.blocks(s)
        if self.head == "flatten":
            return self.head_bn(self.fc(torch.flatten(self.head_sign(s), 1)))
        return self.fc(torch.flatten(self.gap(s), 1))


def vtlp_matrices(max_warp: float, n: int = 33) -> np.ndarray:
    """(n, N_MFCC, N_MFCC) float32: vocal tract length perturbation (Jaitly & Hinton 2013) as linear maps of
    the MFCCs, for n warp factors alpha evenly spaced in [1 - max_warp, 1 + max_warp]. Each map inverts the
    orthonormal DCT onto mfcc.py's 40 mel bands (the smooth envelope the N_MFCC coefficients keep), reads the
    envelope at f / alpha for every band centre f (linear interpolation in Hz, edge bands held) and applies
    the DCT again: a speaker whose formants sit alpha times higher."""
    import mfcc
    n_mels = mfcc.N_MELS
    centres = mfcc.mel_edges()[1:-1]
    dct = mfcc.dct2_ortho(np.eye(n_mels), n_mels).T[:N_MFCC]          # (N_MFCC, n_mels): c = dct @ logmel
    mats = []
    for alpha in np.linspace(1 - max_warp, 1 + max_warp, n):
        src = np.clip(centres / alpha, centres[0], centres[-1])
        j = np.clip(np.searchsorted(centres, src, side="right") - 1, 0, n_mels - 2)
        t = (src - centres[j]) / (centres[j + 1] - centres[j])
        warp = np.zeros((n_mels, n_mels))
        warp[np.arange(n_mels), j] = 1 - t
        warp[np.arange(n_mels), j + 1] += t
        mats.append(dct @ warp @ dct.T)
    return np.asarray(mats, np.float32)


def vtlp(xb, mats, g):
    """Warp each clip (n, N_MFCC, T, 1) with one of mats, drawn from g."""
    k = torch.randint(0, len(mats), (xb.shape[0],), generator=g)
    return torch.einsum("nij,njtw->nitw", mats[k], xb)


def train_kd(model, d, a, teacher=None, log=print):
    """train.train's loop (Adam, cosine, time shift, latent weights clipped; the same generator draws) with
    label smoothing, Gaussian feature noise and distillation from a teacher's logits on the same augmented
    batch: loss = (1 - alpha) CE(y) + alpha T^2 KL(softmax(teacher / T) || softmax(student / T))."""
    g = torch.Generator().manual_seed(a.seed)
    X, y = torch.from_numpy(d.Xtr), torch.from_numpy(d.ytr)
    std = torch.tensor(d.std, dtype=torch.float32).view(1, -1, 1, 1)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, a.epochs * ((len(X) + a.batch - 1) // a.batch))
    ce = nn.CrossEntropyLoss(label_smoothing=a.label_smoothing)
    if teacher is not None:
        teacher.eval()
    warps = torch.from_numpy(vtlp_matrices(a.vtlp)) if a.vtlp else None
    best = (-1.0, 0, None)  # validation accuracy, epoch, state (--keep-best)
    for ep in range(a.epochs):
        t = time.time()
        model.train()
        perm = torch.randperm(len(X), generator=g)
        tot, n = 0.0, 0
        for i in range(0, len(X), a.batch):
            idx = perm[i:i + a.batch]
            if len(idx) < 2:
                continue
            xb = time_shift(X[idx], g, a.shift) if a.shift else X[idx]
            if warps is not None:
                xb = vtlp(xb, warps, g)
            if a.noise:
                xb = xb + a.noise * std * torch.randn(xb.shape, generator=g)
            opt.zero_grad()
            out = model(xb)
            loss = ce(out, y[idx]) if a.kd_alpha < 1 or teacher is None else 0.0
            if teacher is not None:
                with torch.no_grad():
                    tl = teacher(xb)
                kd = nn.functional.kl_div(nn.functional.log_softmax(out / a.kd_temp, 1),
                                          nn.functional.log_softmax(tl / a.kd_temp, 1),
                                          reduction="batchmean", log_target=True) * a.kd_temp ** 2
                loss = (1 - a.kd_alpha) * loss + a.kd_alpha * kd
            loss.backward()
            opt.step()
            sched.step()
            clip_weights(model)
            tot += loss.item() * len(idx)
            n += len(idx)
        msg = f"epoch {ep + 1:3d}/{a.epochs}  loss {tot / n:.4f}  {time.time() - t:.1f} s"
        if d.Xval is not None:
            val = accuracy(torch_predict(model, d.Xval), d.yval)
            msg += f"  val {100 * val:.2f}%"
            if a.keep_best and val >= best[0]:  # ties: the later epoch (further down the schedule)
                best = (val, ep + 1, copy.deepcopy(model.state_dict()))
        log(msg)
    if a.keep_best and best[2] is not None:
        model.load_state_dict(best[2])
        log(f"kept epoch {best[1]} (val {100 * best[0]:.2f}%, the best validation accuracy of the run)")
    a.best_epoch = best[1] if a.keep_best else a.epochs
    model.eval()
    return model


def load_teacher(path: Path, d):
    """A float residual net written by --real (its state and options), or any ONNX model on the same input
    (e.g. train.py's kws_bnn.onnx), run by onnxruntime."""
    if path.suffix == ".onnx":
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = so.inter_op_num_threads = 1
        sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])  # one session, every batch
        name = sess.get_inputs()[0].name

        def onnx_teacher(xb):
            return torch.from_numpy(sess.run(None, {name: xb.numpy().astype(np.float32)})[0])
        onnx_teacher.eval = lambda: None
        return onnx_teacher
    ck = torch.load(path, weights_only=True)
    o = ck["options"]
    t = ResKWS(InputNorm(d.scale, d.bias, d.step), len(d.labels), c=o["width"], k1=o["k1"], k=o["k"],
               layout=o["layout"], rsign=o["rsign"], stem="float", head=o["head"], real=True, rprelu=o["rprelu"])
    t.load_state_dict(ck["state"])
    return t


def init_from_real(model, path: Path, a):
    """Bi-Real Net's initialization: the binary net starts from the weights of its float version (a --real
    run of the same options, hardtanh activations); the latent weights are then clipped to [-1, 1] as in
    every training step. Refused when the file's options differ from this run's."""
    ck = torch.load(path, weights_only=True)
    mine = {k: getattr(a, k) for k in ck["options"]}
    if mine != ck["options"] or a.stem != "float":
        raise SystemExit(f"--init {path}: trained with {ck['options']} (stem float), this run has {mine} "
                         f"(stem {a.stem}); the options must match")
    model.load_state_dict(ck["state"])  # the same parameter names: a binary conv is a Conv2d without bias
    clip_weights(model)


def freeze_scaled(model):
    for m in model.modules():
        if isinstance(m, ScaledBinConv2d):
            m.freeze_scaled()


def same_test_file(out: Path, d):
    """'kws_bnn_test.npz' when train.py's test file in ``out`` holds exactly these test clips, else None."""
    f = out / "kws_bnn_test.npz"
    if not f.exists():
        return None
    with np.load(f) as z:
        same = np.array_equal(z["x"], d.Xte.astype(np.float32)) and np.array_equal(z["labels"], d.yte)
    return f.name if same else None


def main(argv=None):
    p = argparse.ArgumentParser(description="Train the residual KWS BNN and export it for tinybnn.")
    p.add_argument("--data", required=True, type=Path, help="output directory of make_dataset.py")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--shift", type=int, default=4, help="random time shift of the features while training, frames")
    p.add_argument("--width", type=int, default=64, help="channels of the stream")
    p.add_argument("--layout", default="bdbdb",
                   help="one token per stage: b residual block, d down block (stride 2), p AvgPool 2x1 of the stream")
    p.add_argument("--stem", choices=("binary", "float"), default="float", help="weights of the stem conv")
    p.add_argument("--head", choices=("flatten", "gap"), default="gap",
                   help="flatten: rsign, flatten, binary Linear, BatchNorm1d; gap: global average, float Linear")
    p.add_argument("--k1", type=int, default=3, help="temporal kernel of the full-precision stem conv")
    p.add_argument("--k", type=int, default=3, help="temporal kernel of the binary convs")
    p.add_argument("--no-rsign", dest="rsign", action="store_false", help="plain where(x >= 0) binarizers")
    p.add_argument("--name", default="kws_resnet", help="output file stem")
    p.add_argument("--cal-clips", type=int, default=256, help="TRAIN clips calibrating the real-valued streams")
    p.add_argument("--rprelu", action="store_true", help="ReActNet's RPReLU after every block's add")
    real = p.add_mutually_exclusive_group()
    real.add_argument("--real", action="store_true",
                      help="train the float version of the net (float weights, hardtanh for the signs) and write "
                           "NAME_teacher.pt for --teacher; no export")
    real.add_argument("--real-weights", action="store_true",
                      help="ReActNet's first step: binary activations, real-valued conv weights; writes "
                           "NAME_teacher.pt like --real, for --init")
    p.add_argument("--teacher", type=Path, help="distill from this teacher: a --real .pt or an ONNX model")
    p.add_argument("--kd-alpha", type=float, default=1.0, help="weight of the distillation loss (1: teacher only)")
    p.add_argument("--kd-temp", type=float, default=1.0, help="distillation temperature")
    p.add_argument("--label-smoothing", type=float, default=0.0)
    p.add_argument("--keep-best", action="store_true",
                   help="export the epoch with the best validation accuracy (early stopping on the validation "
                        "clips, never the test clips) instead of the last one")
    p.add_argument("--init", type=Path,
                   help="start from the weights of a --real (or --real-weights) run of the same options (Bi-Real "
                        "Net's initialization from its float version) instead of a random initialization")
    p.add_argument("--vtlp", type=float, default=0.0,
                   help="vocal tract length perturbation while training: formants warped by up to this fraction")
    p.add_argument("--noise", type=float, default=0.0,
                   help="Gaussian noise on the training features, in standard deviations per coefficient")
    a = p.parse_args(argv)
    t0 = time.time()
    setup(a.seed)
    a.out.mkdir(parents=True, exist_ok=True)
    d = load_data(a.data, a.seed)
    model = ResKWS(InputNorm(d.scale, d.bias, d.step), len(d.labels), c=a.width, k1=a.k1, k=a.k,
                   layout=a.layout, rsign=a.rsign, stem=a.stem, head=a.head, real=a.real, rprelu=a.rprelu,
                   real_weights=a.real_weights)
    if a.init:
        init_from_real(model, a.init, a)
    t1 = time.time()
    log = lambda s: print(s, flush=True)  # noqa: E731
    if a.keep_best and d.Xval is None:
        p.error("--keep-best needs the validation split (val.npz in --data)")
    if a.teacher or a.label_smoothing or a.noise or a.keep_best or a.vtlp:  # train.py's loop with these additions
        train_kd(model, d, a, load_teacher(a.teacher, d) if a.teacher else None, log=log)
    else:  # train.py's loop itself
        train(model, d.Xtr, d.ytr, a.epochs, a.lr, a.batch, a.seed, log=log, Xval=d.Xval, yval=d.yval,
              shift=a.shift)
    train_s = time.time() - t1
    if a.real or a.real_weights:
        val = accuracy(torch_predict(model, d.Xval), d.yval) if d.Xval is not None else float("nan")
        what = "binary activations, real weights" if a.real_weights else "float teacher"
        print(f"{what}: val {100 * val:.2f}%  test {100 * accuracy(torch_predict(model, d.Xte), d.yte):.2f}%  "
              f"train {train_s:.0f} s")
        opts = {k: getattr(a, k) for k in ("width", "k1", "k", "layout", "rsign", "head", "rprelu")}
        torch.save({"options": opts, "state": model.state_dict()}, a.out / f"{a.name}_teacher.pt")
        return
    y_trained = torch_predict(model, d.Xte)
    freeze_scaled(model)
    y_frozen = torch_predict(model, d.Xte)
    assert np.array_equal(y_frozen.argmax(1), y_trained.argmax(1)), "freezing the binary weights changed decisions"
    torch_acc = {"test": accuracy(y_frozen, d.yte)}
    if d.Xval is not None:
        torch_acc["val"] = accuracy(torch_predict(model, d.Xval), d.yval)

    onnx_path = a.out / f"{a.name}.onnx"
    md = {"tinybnn.input_scale": repr(d.step), "tinybnn.input_zero_point": "0",
          "tinybnn.labels": ",".join(d.labels), "tinybnn.frontend": "examples/kws/mfcc.py (49x10 MFCC, NCHW 1x10x49x1)"}
    model.norm.fake_quant = False  # the exported graph is float: Mul + Add, then the stem conv
    ops = export(model, onnx_path, torch.zeros(1, N_MFCC, N_FRAMES, 1), md)
    test_file = same_test_file(a.out, d)
    if test_file is None:  # no chain model's test file with these clips beside it: write one
        test_file = f"{a.name}_test.npz"
        savez_reproducible(a.out / test_file, x=d.Xte.astype(np.float32), labels=d.yte.astype(np.int64))
    (a.out / "labels.txt").write_text("\n".join(d.labels) + "\n")

    # the streams' calibration: a fixed, seeded subset of the TRAIN split on the int8 input grid, shipped
    # beside the model so that `tinybnn check --calibration` reproduces the golden accuracy of the metrics
    cal = np.sort(np.random.default_rng(a.seed).permutation(len(d.Xtr))[:a.cal_clips])
    Xcal = snap_to_input_grid(d.Xtr[cal], d.scale, d.bias, d.step)
    savez_reproducible(a.out / f"{a.name}_calibration.npz", x=Xcal)
    metrics = evaluate(
        model, onnx_path, d, ops, torch_acc, onnx_path.name, test_file,
        lambda: {"seed": a.seed, "epochs": a.epochs, "lr": a.lr, "batch": a.batch,
                 "time_shift_frames": a.shift, "width": a.width, "layout": a.layout, "stem": a.stem, "head": a.head, "k1": a.k1, "k": a.k,
                 "rsign": a.rsign, "rprelu": a.rprelu,
                 "teacher": None if a.teacher is None else a.teacher.name, "kd_alpha": a.kd_alpha,
                 "init": None if a.init is None else a.init.name,
                 "kd_temp": a.kd_temp, "label_smoothing": a.label_smoothing, "noise": a.noise, "vtlp": a.vtlp,
                 "exported_epoch": getattr(a, "best_epoch", a.epochs),
                 "epoch_selection": "best validation accuracy" if a.keep_best else "last",
                 "stream_calibration": f"{a.name}_calibration.npz: {a.cal_clips} TRAIN clips (seeded)",
                 "optimizer": "Adam", "schedule": "cosine", "train_seconds": round(train_s, 1),
                 "total_seconds": round(time.time() - t0, 1), "threads": 1},
        "python examples/kws/train_residual.py " + " ".join(sys.argv[1:] if argv is None else argv),
        calibration=Xcal)
    (a.out / f"{a.name}_metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    acc = metrics["accuracy"]
    print(f"test: torch {100 * torch_acc['test']:.2f}%  float (onnxruntime) {100 * acc['float_onnxruntime_test']:.2f}%  "
          f"golden {100 * acc['golden_tinybnn_test']:.2f}%  agreement "
          f"{100 * acc['golden_argmax_agreement_with_onnxruntime']:.2f}%  (golden calibrated on test data "
          f"{100 * acc['golden_tinybnn_test_calibrated_on_test_data']:.2f}%)")
    print(f"packed {metrics['tinybnn']['packed_bytes']:,} B, {metrics['tinybnn']['binary_macs']:,} binary MACs, "
          f"{metrics['tinybnn']['int_macs']:,} int MACs; train {train_s:.0f} s")


if __name__ == "__main__":
    main()
