"""Train a small convolutional BNN on sklearn's bundled 8x8 digits and export it for tinybnn
(run in .venv-fixtures-torch; no download).

    .venv-fixtures-torch/bin/python examples/vision/train.py --out examples/vision/model/ --seed 0

Data: X = images / 16 (0..16 levels -> k/16 in [0, 1], which tinybnn quantizes to int8 losslessly),
80/20 stratified split with random_state=0 (1437 train / 360 test), as tests/fixtures use.
Model (input N x 1 x 8 x 8):

    conv 3x3 1->32, pad 1, binarized weights on the real (int8 on the device) pixels, BN, sign
    conv 3x3 32->64, pad 1, BN, maxpool 2, sign     8x8 -> 4x4
    conv 3x3 64->64, pad 1, BN, maxpool 2, sign     4x4 -> 2x2
    flatten 256, binary dense -> 10, BN               (logits)

Sign straight-through estimators (weights: identity gradient, latent weights clipped to [-1, 1];
activations: where(x >= 0, +1, -1) with a hard-tanh gradient), Adam with a cosine schedule, random
+-1 pixel shifts while training, fixed seed, one thread.

Your own images: --data FILE.npz (arrays x: (N, H, W) or (N, H, W, C), uint8 0..255 or float in [0, 1],
y: int labels; optional x_test / y_test, otherwise an 80/20 stratified split) or --image-dir DIR (one
sub-folder per class holding .pgm/.ppm/.npy images, or .png when Pillow is installed; all the same size).

Writes to --out: digits_bnn.onnx (legacy exporter, dynamo=False, do_constant_folding=True),
digits_bnn_test.npz (x: test split N x C x H x W float32, labels int64), labels.txt, metrics.json.
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

for _v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


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
        return self._conv_forward(x, self.weight if self.frozen else WeightSTE.apply(self.weight), None)


class BinLinear(nn.Linear):
    def __init__(self, i, o):
        super().__init__(i, o, bias=False)
        self.frozen = False

    def forward(self, x):
        return F.linear(x, self.weight if self.frozen else WeightSTE.apply(self.weight))


def build_model(in_shape, n_classes, widths=(32, 64, 64)) -> nn.Sequential:
    C, H, W = in_shape
    c = widths
    layers = [BinConv2d(C, c[0], 3, padding=1), nn.BatchNorm2d(c[0]), Sign()]
    for i in range(1, len(c)):
        layers += [BinConv2d(c[i - 1], c[i], 3, padding=1), nn.BatchNorm2d(c[i]), nn.MaxPool2d(2), Sign()]
        H, W = H // 2, W // 2
    layers += [nn.Flatten(), BinLinear(c[-1] * H * W, n_classes), nn.BatchNorm1d(n_classes)]
    return nn.Sequential(*layers)


def binary_modules(model):
    return [m for m in model.modules() if isinstance(m, (BinConv2d, BinLinear))]


def clip_weights(model):
    with torch.no_grad():
        for m in binary_modules(model):
            m.weight.clamp_(-1, 1)


def freeze(model):
    with torch.no_grad():
        for m in binary_modules(model):
            m.weight.copy_(torch.where(m.weight >= 0, 1.0, -1.0))
            m.frozen = True


# ---------------------------------------------------------------------------------------- data ----
def digits_split():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    X = (d.images / 16.0).astype(np.float32)[:, None]
    y = d.target.astype(np.int64)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, random_state=0, stratify=y)
    return Xtr, ytr, Xte, yte, [str(i) for i in range(10)], "sklearn load_digits (8x8, 0..16 -> /16)"


def _nchw(x):
    x = np.asarray(x)
    if x.dtype == np.uint8:
        x = x.astype(np.float32) / 255.0  # k/255 grid: quantized losslessly by tinybnn
    x = x.astype(np.float32)
    return x[:, None] if x.ndim == 3 else np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def _split(X, y, seed):
    from sklearn.model_selection import train_test_split

    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, random_state=seed, stratify=y)
    return Xtr, ytr, Xte, yte


def npz_split(path, seed):
    with np.load(path, allow_pickle=False) as f:
        X, y = _nchw(f["x"]), f["y"].astype(np.int64)
        if "x_test" in f:
            Xtr, ytr, Xte, yte = X, y, _nchw(f["x_test"]), f["y_test"].astype(np.int64)
        else:
            Xtr, ytr, Xte, yte = _split(X, y, seed)
    return Xtr, ytr, Xte, yte, [str(i) for i in range(int(y.max()) + 1)], f"local arrays {path}"


def read_image(p: Path) -> np.ndarray:
    """.npy, binary/ASCII PGM/PPM (P2/P3/P5/P6), or (with Pillow installed) anything Pillow reads."""
    if p.suffix == ".npy":
        return np.load(p, allow_pickle=False)
    if p.suffix in (".pgm", ".ppm", ".pnm"):
        data = p.read_bytes()
        toks, pos = [], 0
        while len(toks) < 4:  # magic, width, height, maxval (comments start with '#')
            while data[pos:pos + 1].isspace():
                pos += 1
            if data[pos:pos + 1] == b"#":
                pos = data.index(b"\n", pos)
                continue
            end = pos
            while not data[end:end + 1].isspace():
                end += 1
            toks.append(data[pos:end])
            pos = end
        magic, w, h, mx = toks[0], int(toks[1]), int(toks[2]), int(toks[3])
        ch = 3 if magic in (b"P3", b"P6") else 1
        if magic in (b"P5", b"P6"):
            a = np.frombuffer(data[pos + 1:], np.uint8 if mx < 256 else ">u2")[:w * h * ch]
        else:
            a = np.array(data[pos:].split()[:w * h * ch], dtype=np.int64)
        a = a.reshape(h, w, ch) if ch == 3 else a.reshape(h, w)
        return (a.astype(np.float32) / mx) if mx != 255 else a.astype(np.uint8)
    from PIL import Image  # optional

    return np.asarray(Image.open(p))


def dir_split(root, seed):
    root = Path(root)
    classes = sorted(d.name for d in root.iterdir() if d.is_dir())
    xs, ys = [], []
    for k, c in enumerate(classes):
        for f in sorted((root / c).iterdir()):
            if f.is_file():
                xs.append(read_image(f))
                ys.append(k)
    X = np.stack(xs)
    Xtr, ytr, Xte, yte = _split(_nchw(X), np.array(ys, np.int64), seed)
    return Xtr, ytr, Xte, yte, classes, f"image folders {root}"


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
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key in sorted(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arrays[key]), allow_pickle=False)
            info = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue())


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


def random_shift(xb, g, max_shift=1):
    """Shift each image by up to max_shift pixels in x and y (zero fill), deterministic via g."""
    n, _, H, W = xb.shape
    s = torch.randint(-max_shift, max_shift + 1, (n, 2), generator=g)
    p = max_shift
    padded = F.pad(xb, (p, p, p, p))
    out = torch.empty_like(xb)
    for i in range(n):
        dy, dx = int(s[i, 0]), int(s[i, 1])
        out[i] = padded[i, :, p + dy:p + dy + H, p + dx:p + dx + W]
    return out


def train(model, Xtr, ytr, epochs, lr, batch, seed, shift=1):
    g = torch.Generator().manual_seed(seed)
    X, y = torch.from_numpy(Xtr), torch.from_numpy(ytr)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs * ((len(X) + batch - 1) // batch))
    lossf = nn.CrossEntropyLoss()
    for ep in range(epochs):
        model.train()
        perm = torch.randperm(len(X), generator=g)
        tot = 0.0
        for i in range(0, len(X), batch):
            idx = perm[i:i + batch]
            if len(idx) < 2:
                continue
            xb = random_shift(X[idx], g, shift) if shift else X[idx]
            opt.zero_grad()
            loss = lossf(model(xb), y[idx])
            loss.backward()
            opt.step()
            sched.step()
            clip_weights(model)
            tot += loss.item() * len(idx)
        if (ep + 1) % 10 == 0 or ep == 0:
            print(f"epoch {ep + 1:3d}/{epochs}  loss {tot / len(X):.4f}", flush=True)
    model.eval()
    return model


def export(model, path, dummy, metadata):
    import onnx

    freeze(model)
    model.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
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


def versions():
    import importlib.metadata as md

    v = {"python": platform.python_version()}
    for p in ("torch", "numpy", "onnx", "onnxruntime", "scikit-learn"):
        try:
            v[p] = md.version(p)
        except md.PackageNotFoundError:
            pass
    return v


# --------------------------------------------------------------------------------------- main ----
def main(argv=None):
    p = argparse.ArgumentParser(description="Train a conv BNN on images and export it for tinybnn.")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--name", default=None, help="file stem (default digits_bnn, or image_bnn for own data)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--data", type=Path, metavar="FILE.npz", help="local arrays x, y [, x_test, y_test]")
    src.add_argument("--image-dir", type=Path, metavar="DIR", help="one sub-folder of images per class")
    a = p.parse_args(argv)
    t0 = time.time()
    setup(a.seed)
    a.out.mkdir(parents=True, exist_ok=True)
    if a.data:
        Xtr, ytr, Xte, yte, labels, source = npz_split(a.data, a.seed)
    elif a.image_dir:
        Xtr, ytr, Xte, yte, labels, source = dir_split(a.image_dir, a.seed)
    else:
        Xtr, ytr, Xte, yte, labels, source = digits_split()
    name = a.name or ("digits_bnn" if not (a.data or a.image_dir) else "image_bnn")
    print(f"{source}: train {len(Xtr)}  test {len(Xte)}  input {list(Xtr.shape[1:])}", flush=True)

    model = build_model(Xtr.shape[1:], len(labels))
    t1 = time.time()
    train(model, Xtr, ytr, a.epochs, a.lr, a.batch, a.seed)
    train_s = time.time() - t1
    torch_acc = accuracy(torch_predict(model, Xte), yte)

    onnx_path = a.out / f"{name}.onnx"
    ops = export(model, onnx_path, torch.zeros((1,) + tuple(Xtr.shape[1:])), {"tinybnn.labels": ",".join(labels)})
    savez_reproducible(a.out / f"{name}_test.npz", x=Xte.astype(np.float32), labels=yte.astype(np.int64))
    (a.out / "labels.txt").write_text("\n".join(labels) + "\n")

    try:
        import tinybnn
    except ImportError:
        sys.path.insert(0, str(ROOT))
        import tinybnn
    y_ort = ort_predict(onnx_path, Xte)
    gm = tinybnn.load(str(onnx_path), calibration=Xtr)  # the TRAIN split fixes the int8 input grid
    y_gold = gm.predict(Xte).reshape(len(Xte), -1)
    rows = gm.layer_table()
    conf = np.zeros((len(labels), len(labels)), int)
    np.add.at(conf, (yte, np.argmax(y_gold, 1)), 1)
    n_bin = sum(int(m.weight.numel()) for m in binary_modules(model))
    n_bn = sum(int(m.weight.numel() + m.bias.numel()) for m in model.modules()
               if isinstance(m, nn.modules.batchnorm._BatchNorm))
    q = gm.input_quantization
    metrics = {
        "model": onnx_path.name, "data": source, "labels": labels,
        "input": {"layout": "NCHW " + "x".join(map(str, Xtr.shape[1:])),
                  "int8": {"scale": q["scale"], "zero_point": q["zero_point"],
                           "how": "tinybnn calibration on the TRAIN split (values on a k/16 grid: lossless)"}},
        "accuracy": {"float_onnxruntime_test": accuracy(y_ort, yte),
                     "golden_tinybnn_test": accuracy(y_gold, yte),
                     "golden_argmax_agreement_with_onnxruntime":
                         float(np.mean(np.argmax(y_gold, 1) == np.argmax(y_ort, 1))),
                     "torch_test": torch_acc},
        "train_samples": int(len(ytr)), "test_samples": int(len(yte)),
        "test_per_class": {labels[c]: int(np.sum(yte == c)) for c in range(len(labels))},
        "golden_per_class_accuracy": {labels[c]: round(float(conf[c, c] / max(1, conf[c].sum())), 4)
                                      for c in range(len(labels))},
        "golden_confusion_matrix": conf.tolist(),
        "params": {"binary_weights": n_bin, "batchnorm": n_bn, "total_trainable": n_bin + n_bn},
        "tinybnn": {"packed_bytes": int(sum(r["bytes"] for r in rows)),
                    "binary_macs": int(sum(r["binary_macs"] for r in rows)),
                    "int_macs": int(sum(r["int_macs"] for r in rows)),
                    "layers": [{k: r[k] for k in ("name", "kind", "in", "out", "K", "params", "bytes",
                                                  "binary_macs", "int_macs")} for r in rows]},
        "onnx_ops": ops,
        "training": {"seed": a.seed, "epochs": a.epochs, "lr": a.lr, "batch": a.batch, "optimizer": "Adam",
                     "schedule": "cosine", "augmentation": "random +-1 pixel shift",
                     "train_seconds": round(train_s, 1), "total_seconds": round(time.time() - t0, 1), "threads": 1},
        "versions": versions(),
    }
    (a.out / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    acc = metrics["accuracy"]
    print(f"test: float (onnxruntime) {100 * acc['float_onnxruntime_test']:.2f}%  golden "
          f"{100 * acc['golden_tinybnn_test']:.2f}%  agreement {100 * acc['golden_argmax_agreement_with_onnxruntime']:.2f}%")
    print(f"packed {metrics['tinybnn']['packed_bytes']:,} B, {metrics['tinybnn']['binary_macs']:,} binary MACs, "
          f"{metrics['tinybnn']['int_macs']:,} int MACs; train {train_s:.0f} s")


if __name__ == "__main__":
    main()
