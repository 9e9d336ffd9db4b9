"""Train the keyword-spotting BNN and export it for tinybnn (run in .venv-fixtures-torch).

    python examples/kws/make_dataset.py --out build/kws_data --seed 0        # system Python is enough
    .venv-fixtures-torch/bin/python examples/kws/train.py --data build/kws_data --out examples/kws/model/ --seed 0

Input: MFCC features in the layout (N, 10, 49, 1) NCHW - the 10 coefficients are channels, time is H.
Model (1-D convolutions over time, like TC-ResNet, as Conv2d with (k, 1) kernels):

    Mul/Add per coefficient (fixed z-score normalisation from the TRAIN split, part of the ONNX graph)
    conv 5x1 10->128, binarized weights on the real (int8 on the device) input, BN, maxpool 2x1, sign  49 -> 24 frames
    conv 3x1 128->128, BN, maxpool 2x1, sign                                                        24 -> 12
    conv 3x1 128->128, BN, maxpool 2x1, sign                                                        12 -> 6
    conv 3x1 128->128, BN, maxpool 2x1, sign                                                         6 -> 3
    flatten 384, binary dense -> 12, BN                                                             (logits)

Weights are binarized with sign (straight-through, latent weights clipped to [-1, 1]); activations with
where(x >= 0, +1, -1) (hard-tanh straight-through), which exports as GreaterOrEqual + Where. The device's
int8 input quantization (after the normalisation; symmetric, zero point 0, step from the 99.9th
percentile of |x| on the TRAIN split) is simulated during training and written into the ONNX metadata
(tinybnn.input_scale / tinybnn.input_zero_point); the exported graph itself is float. Adam, cosine
schedule, random time shifts of up to +-4 frames while training, 40 epochs, fixed seed, one thread,
deterministic algorithms (the same seed gives the same bytes).

Writes to --out: kws_bnn.onnx (legacy exporter, dynamo=False, do_constant_folding=True),
kws_bnn_test.npz (x: test split in the model layout, float32; labels int64), labels.txt, metrics.json.
The stored test features are rounded to the int8 input grid (see snap_to_input_grid), so onnxruntime's
float model and tinybnn's integer model see the same input; metrics.json also gives the float accuracy on
the unrounded features.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import platform
import random
import sys
import time
import warnings
import zipfile
from pathlib import Path
from types import SimpleNamespace

for _v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
import mfcc as fe  # noqa: E402

N_MFCC, N_FRAMES = fe.N_MFCC, 1 + (fe.CLIP_SAMPLES - fe.FRAME_LEN) // fe.FRAME_STEP


# ------------------------------------------------------------------------ straight-through ----
class ActSTE(torch.autograd.Function):
    """where(x >= 0, +1, -1); gradient passed where |x| <= 1 (hard tanh)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.where(x >= 0, 1.0, -1.0)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (x.abs() <= 1).to(g.dtype)


class WeightSTE(torch.autograd.Function):
    """Weights: where(w >= 0, +1, -1); identity gradient (latent weights clipped after each step)."""

    @staticmethod
    def forward(ctx, w):
        return torch.where(w >= 0, 1.0, -1.0)

    @staticmethod
    def backward(ctx, g):
        return g


class Sign(nn.Module):
    def forward(self, x):
        return ActSTE.apply(x)


class BinConv2d(nn.Conv2d):
    def __init__(self, *a, **k):
        super().__init__(*a, bias=False, **k)
        self.frozen = False

    def forward(self, x):
        w = self.weight if self.frozen else WeightSTE.apply(self.weight)
        return self._conv_forward(x, w, None)


class BinLinear(nn.Linear):
    def __init__(self, i, o):
        super().__init__(i, o, bias=False)
        self.frozen = False

    def forward(self, x):
        return F.linear(x, self.weight if self.frozen else WeightSTE.apply(self.weight))


class InputNorm(nn.Module):
    """y = x * scale[c] + bias[c] (exported as Mul + Add), then - in training/eval in torch only - the
    device's int8 input rounding: clamp(round(y / step), -128, 127) * step. Not exported."""

    def __init__(self, scale, bias, step):
        super().__init__()
        self.register_buffer("scale", torch.tensor(scale, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("bias", torch.tensor(bias, dtype=torch.float32).view(1, -1, 1, 1))
        self.step = float(step)
        self.fake_quant = True

    def forward(self, x):
        y = x * self.scale + self.bias
        if self.fake_quant:
            y = torch.clamp(torch.round(y / self.step), -128, 127) * self.step
        return y


def build_model(norm: InputNorm, n_classes: int, widths=(128, 128, 128, 128), pools=(1, 1, 1, 1),
                k1=5) -> nn.Sequential:
    """conv k1x1 (first, on the normalized input) then 3x1 convs; BN; a 2x1 max-pool where pools[i]; sign."""
    layers = [norm]
    t, cin = N_FRAMES, N_MFCC
    for i, (c, pl) in enumerate(zip(widths, pools)):
        k = k1 if i == 0 else 3
        layers += [BinConv2d(cin, c, (k, 1), padding=(k // 2, 0)), nn.BatchNorm2d(c)]
        if pl:
            layers.append(nn.MaxPool2d((2, 1)))
            t //= 2
        layers.append(Sign())
        cin = c
    layers += [nn.Flatten(), BinLinear(cin * t, n_classes), nn.BatchNorm1d(n_classes)]
    return nn.Sequential(*layers)


def binary_modules(model):
    return [m for m in model.modules() if isinstance(m, (BinConv2d, BinLinear))]


def clip_weights(model):
    with torch.no_grad():
        for m in binary_modules(model):
            m.weight.clamp_(-1, 1)


def freeze(model):
    """Deploy: store the +-1 weights themselves (the legacy exporter does not fold Sign/Where)."""
    with torch.no_grad():
        for m in binary_modules(model):
            if m.frozen:  # already in deploy form (train_residual.py's +-alpha weights)
                continue
            m.weight.copy_(torch.where(m.weight >= 0, 1.0, -1.0))
            m.frozen = True


# ------------------------------------------------------------------------------------ helpers ----
def setup(seed):
    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    torch.use_deterministic_algorithms(True)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def savez_reproducible(path, **arrays):
    """np.savez_compressed with fixed zip timestamps: same arrays -> same bytes."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key in sorted(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arrays[key]), allow_pickle=False)
            info = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue())


def snap_to_input_grid(X, scale, bias, step):
    """MFCC features -> the same features rounded to the device's int8 input grid (in MFCC units).

    The int8 code of every value, q = clamp(round((x * scale + bias) / step), -128, 127), is what the
    device receives; storing (q * step - bias) / scale lets onnxruntime's float model see exactly the
    input the integer model sees (a binary network amplifies even sub-step input differences).
    Checked: the float32 graph arithmetic maps every stored value back to its code."""
    cs = (1, -1, 1, 1)
    sc, b = scale.astype(np.float64).reshape(cs), bias.astype(np.float64).reshape(cs)
    q = np.clip(np.round((X.astype(np.float64) * sc + b) / step), -128, 127)
    Xs = ((q * step - b) / sc).astype(np.float32)
    y32 = Xs * scale.astype(np.float32).reshape(cs) + bias.astype(np.float32).reshape(cs)
    assert np.array_equal(np.round(y32.astype(np.float64) / step), q), "grid snapping is not exact in float32"
    assert np.abs(y32 / step - q).max() < 1e-3
    return Xs


def load_split(data: Path, split: str):
    with np.load(data / f"{split}.npz") as f:
        return fe.model_layout(f["x"]), f["y"].astype(np.int64)


@torch.no_grad()
def torch_predict(model, X, batch=1024):
    model.eval()
    return np.concatenate([model(torch.from_numpy(X[i:i + batch])).numpy() for i in range(0, len(X), batch)])


def ort_predict(path, X):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = so.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: X})[0]


def accuracy(logits, y):
    return float(np.mean(np.argmax(logits, 1) == y))


def time_shift(xb, g, max_shift):
    """Shift each clip by up to max_shift frames along time (edge frames repeated), deterministic via g."""
    n, _, T, _ = xb.shape
    s = torch.randint(-max_shift, max_shift + 1, (n, 1), generator=g)
    idx = (torch.arange(T)[None, :] - s).clamp(0, T - 1)             # (n, T)
    return torch.gather(xb, 2, idx[:, None, :, None].expand(-1, xb.shape[1], -1, xb.shape[3]))


def train(model, Xtr, ytr, epochs, lr, batch, seed, log=print, Xval=None, yval=None, shift=0):
    g = torch.Generator().manual_seed(seed)
    X, y = torch.from_numpy(Xtr), torch.from_numpy(ytr)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps_per_epoch = (len(X) + batch - 1) // batch
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs * steps_per_epoch)
    lossf = nn.CrossEntropyLoss()
    for ep in range(epochs):
        t = time.time()
        model.train()
        perm = torch.randperm(len(X), generator=g)
        tot, n = 0.0, 0
        for i in range(0, len(X), batch):
            idx = perm[i:i + batch]
            if len(idx) < 2:
                continue
            xb = time_shift(X[idx], g, shift) if shift else X[idx]
            opt.zero_grad()
            loss = lossf(model(xb), y[idx])
            loss.backward()
            opt.step()
            sched.step()
            clip_weights(model)
            tot += loss.item() * len(idx)
            n += len(idx)
        msg = f"epoch {ep + 1:3d}/{epochs}  loss {tot / n:.4f}  {time.time() - t:.1f} s"
        if Xval is not None:
            msg += f"  val {100 * accuracy(torch_predict(model, Xval), yval):.2f}%"
        log(msg)
    model.eval()
    return model


def export(model, path, dummy, metadata: dict):
    import onnx

    freeze(model)
    model.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # TrainingMode.PRESERVE (model in eval mode -> BN exported in inference form, kept separate):
        # with the default EVAL the folding pass fuses Conv+BN and the +-1 weights become floats.
        torch.onnx.export(model, (dummy,), str(path), dynamo=False, do_constant_folding=True,
                          input_names=["input"], output_names=["logits"], opset_version=17,
                          dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
                          training=torch.onnx.TrainingMode.PRESERVE)
    m = onnx.load(str(path))
    for k, v in metadata.items():
        p = m.metadata_props.add()
        p.key, p.value = k, str(v)
    onnx.checker.check_model(m)
    onnx.save(m, str(path))
    return sorted({n.op_type for n in m.graph.node})


def load_data(data: Path, seed: int) -> SimpleNamespace:
    """The splits written by make_dataset.py in the model layout, the class-balanced test subset (at most
    600 clips), the fixed input normalisation and int8 step (TRAIN split only) and the test features
    snapped to that grid (Xte; Xte_raw unrounded)."""
    meta = json.loads((data / "meta.json").read_text())
    labels = meta["labels"]
    Xtr, ytr = load_split(data, "train")
    Xval, yval = load_split(data, "val") if (data / "val.npz").exists() else (None, None)
    Xte_raw, yte = load_split(data, "test")
    Xte = Xte_raw
    if len(Xte) > 600:  # keep the shipped test file small: a class-balanced, seeded subset
        rng = np.random.default_rng(seed)
        per = 600 // len(labels)
        keep = np.sort(np.concatenate([rng.permutation(np.flatnonzero(yte == c))[:per] for c in range(len(labels))]))
        Xte_raw, yte = Xte_raw[keep], yte[keep]

    # fixed input normalisation and int8 step, from the TRAIN split only
    mean = Xtr.mean(axis=(0, 2, 3), dtype=np.float64)
    std = Xtr.std(axis=(0, 2, 3), dtype=np.float64)
    scale, bias = (1.0 / std).astype(np.float32), (-mean / std).astype(np.float32)
    z = Xtr * scale.reshape(1, -1, 1, 1) + bias.reshape(1, -1, 1, 1)
    step = float(np.float32(np.quantile(np.abs(z), 0.999) / 127.0))
    del z
    Xte = snap_to_input_grid(Xte_raw, scale, bias, step)
    print(f"train {len(Xtr)}  val {0 if Xval is None else len(Xval)}  test {len(Xte)}  "
          f"input step {step:.5f} (int8, zero point 0)", flush=True)
    return SimpleNamespace(meta=meta, labels=labels, Xtr=Xtr, ytr=ytr, Xval=Xval, yval=yval, Xte_raw=Xte_raw,
                           Xte=Xte, yte=yte, mean=mean, std=std, scale=scale, bias=bias, step=step)


def evaluate(model, onnx_path, d, ops, torch_acc, name, test_file, training, command, calibration=None):
    """metrics.json's content: onnxruntime and tinybnn's golden model on the test split, layer table.
    training() gives the "training" entry (called last: it holds the total time). calibration: data for
    the golden model's real-valued streams (input scale from the metadata either way)."""
    labels, meta, mean, std, step, Xte, Xte_raw, yte = (d.labels, d.meta, d.mean, d.std, d.step, d.Xte,
                                                        d.Xte_raw, d.yte)
    y_ort = ort_predict(onnx_path, Xte)
    y_ort_raw = ort_predict(onnx_path, Xte_raw)
    gm, y_gold = golden_eval(onnx_path, Xte, yte, calibration=calibration,
                             input_scale=None if calibration is None else step)
    _, y_gold_cal = golden_eval(onnx_path, Xte, yte, calibration=Xte)  # what `tinybnn check --data` does
    rows = gm.layer_table()
    pred = np.argmax(y_gold, 1)
    conf = np.zeros((len(labels), len(labels)), int)
    np.add.at(conf, (yte, pred), 1)
    n_bin = sum(int(m.weight.numel()) for m in binary_modules(model))
    n_bn = sum(int(m.weight.numel() + m.bias.numel()) for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm))
    metrics = {
        "model": name,
        "task": "keyword spotting, 12 classes (silence, unknown, 10 keywords), espeak-ng voices unseen in training",
        "labels": labels,
        "input": {"layout": "NCHW (N, 10 MFCC coefficients, 49 frames, 1)", "frontend": meta.get("frontend"),
                  "normalization": "fixed per-coefficient Mul/Add in the graph, mean/std of the TRAIN split",
                  "norm_mean": [round(float(v), 6) for v in mean], "norm_std": [round(float(v), 6) for v in std],
                  "int8": {"scale": step, "zero_point": 0,
                           "how": "ONNX metadata tinybnn.input_scale/zero_point; symmetric, 99.9th percentile of "
                                  "|normalized x| on the TRAIN split / 127; simulated in training"}},
        "accuracy": {
            "float_onnxruntime_test": accuracy(y_ort, yte),
            "golden_tinybnn_test": accuracy(y_gold, yte),
            "golden_argmax_agreement_with_onnxruntime": float(np.mean(np.argmax(y_gold, 1) == np.argmax(y_ort, 1))),
            "golden_tinybnn_test_calibrated_on_test_data": accuracy(y_gold_cal, yte),
            "float_onnxruntime_test_unrounded_mfcc": accuracy(y_ort_raw, yte),
            "torch_with_input_rounding": torch_acc,
        },
        "test_data": f"{test_file}: the class-balanced TEST split (voices never seen in training); x = MFCC "
                     "features rounded to the int8 input grid (the device's input quantization, in MFCC units)",
        "test_samples": int(len(yte)),
        "test_per_class": {labels[c]: int(np.sum(yte == c)) for c in range(len(labels))},
        "golden_per_class_accuracy": {labels[c]: round(float(conf[c, c] / max(1, conf[c].sum())), 4)
                                      for c in range(len(labels))},
        "golden_confusion_matrix": conf.tolist(),
        "dataset": {"source": meta.get("source"), "seed": meta.get("seed"), "splits": meta.get("splits")},
        "params": {"binary_weights": n_bin, "batchnorm": n_bn},
        "tinybnn": {"packed_bytes": int(sum(r["bytes"] for r in rows)),
                    "binary_macs": int(sum(r["binary_macs"] for r in rows)),
                    "int_macs": int(sum(r["int_macs"] for r in rows)),
                    "layers": [{k: r[k] for k in ("name", "kind", "in", "out", "K", "params", "bytes",
                                                  "binary_macs", "int_macs")} for r in rows]},
        "onnx_ops": ops,
        "training": None,
        "command": command,
        "versions": versions(),
    }
    n_all = sum(int(p.numel()) for p in model.parameters())
    if n_all > n_bin + n_bn:  # full-precision layers (stem, head, shifts)
        metrics["params"]["full_precision"] = n_all - n_bin - n_bn
    metrics["params"]["total_trainable"] = n_all
    metrics["training"] = training()
    return metrics


def golden_eval(onnx_path, X, y, calibration=None, input_scale=None):
    """tinybnn's integer golden model on X (metadata input scale unless calibration data or input_scale is
    given; a model with real-valued streams needs calibration data for them)."""
    try:
        import tinybnn
    except ImportError:
        sys.path.insert(0, str(ROOT))
        import tinybnn
    m = tinybnn.load(str(onnx_path), calibration=calibration, input_scale=input_scale)
    out = m.predict(X).reshape(len(X), -1)
    return m, out


def versions():
    import importlib.metadata as md

    v = {"python": platform.python_version()}
    for p in ("torch", "numpy", "onnx", "onnxruntime", "scipy"):
        try:
            v[p] = md.version(p)
        except md.PackageNotFoundError:
            pass
    return v


# --------------------------------------------------------------------------------------- main ----
def main(argv=None):
    p = argparse.ArgumentParser(description="Train the KWS BNN and export it for tinybnn.")
    p.add_argument("--data", required=True, type=Path, help="output directory of make_dataset.py")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--shift", type=int, default=4, help="random time shift of the features while training, frames")
    p.add_argument("--widths", default="128,128,128,128", help="channels of the conv layers")
    p.add_argument("--pools", default="1,1,1,1", help="1 = 2x1 max-pool after that conv")
    p.add_argument("--k1", type=int, default=5, help="temporal kernel of the first conv")
    a = p.parse_args(argv)
    t0 = time.time()
    setup(a.seed)
    a.out.mkdir(parents=True, exist_ok=True)
    d = load_data(a.data, a.seed)
    labels, Xtr, ytr, Xval, yval, Xte, yte = d.labels, d.Xtr, d.ytr, d.Xval, d.yval, d.Xte, d.yte
    scale, bias, step = d.scale, d.bias, d.step

    widths = tuple(int(v) for v in a.widths.split(","))
    pools = tuple(int(v) for v in a.pools.split(","))
    model = build_model(InputNorm(scale, bias, step), len(labels), widths=widths, pools=pools, k1=a.k1)
    t1 = time.time()
    train(model, Xtr, ytr, a.epochs, a.lr, a.batch, a.seed, log=lambda s: print(s, flush=True),
          Xval=Xval, yval=yval, shift=a.shift)
    train_s = time.time() - t1
    torch_acc = {"test": accuracy(torch_predict(model, Xte), yte)}
    if Xval is not None:
        torch_acc["val"] = accuracy(torch_predict(model, Xval), yval)

    onnx_path = a.out / "kws_bnn.onnx"
    md = {"tinybnn.input_scale": repr(step), "tinybnn.input_zero_point": "0",
          "tinybnn.labels": ",".join(labels), "tinybnn.frontend": "examples/kws/mfcc.py (49x10 MFCC, NCHW 1x10x49x1)"}
    model[0].fake_quant = False  # the exported graph is float: Mul + Add, then the first conv
    ops = export(model, onnx_path, torch.zeros(1, N_MFCC, N_FRAMES, 1), md)
    savez_reproducible(a.out / "kws_bnn_test.npz", x=Xte.astype(np.float32), labels=yte.astype(np.int64))
    (a.out / "labels.txt").write_text("\n".join(labels) + "\n")

    metrics = evaluate(
        model, onnx_path, d, ops, torch_acc, "kws_bnn.onnx", "kws_bnn_test.npz",
        lambda: {"seed": a.seed, "epochs": a.epochs, "lr": a.lr, "batch": a.batch,
                 "time_shift_frames": a.shift, "widths": list(widths), "pools": list(pools), "k1": a.k1,
                 "optimizer": "Adam", "schedule": "cosine", "train_seconds": round(train_s, 1),
                 "total_seconds": round(time.time() - t0, 1), "threads": 1},
        "python examples/kws/train.py " + " ".join(sys.argv[1:] if argv is None else argv))
    (a.out / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    acc = metrics["accuracy"]
    print(f"test: float (onnxruntime) {100 * acc['float_onnxruntime_test']:.2f}%  golden "
          f"{100 * acc['golden_tinybnn_test']:.2f}%  agreement {100 * acc['golden_argmax_agreement_with_onnxruntime']:.2f}%"
          f"  (golden calibrated on test data {100 * acc['golden_tinybnn_test_calibrated_on_test_data']:.2f}%)")
    print(f"packed {metrics['tinybnn']['packed_bytes']:,} B, {metrics['tinybnn']['binary_macs']:,} binary MACs, "
          f"{metrics['tinybnn']['int_macs']:,} int MACs; train {train_s:.0f} s")


if __name__ == "__main__":
    main()
