"""Spot keywords in WAV files with tinybnn's integer golden model (system Python: numpy + tinybnn only).

    python examples/kws/predict.py clip.wav [more.wav ...]
    python examples/kws/predict.py --audio build/kws_data/test_audio.npz      # accuracy on stored clips
    python examples/kws/predict.py --model examples/kws/model/kws_resnet.onnx \
        --calibration examples/kws/model/kws_resnet_calibration.npz clip.wav    # the residual model

WAV: 16-bit PCM, any rate (resampled to 16 kHz), padded / centre-cropped to 1 s. The int8 input
quantization comes from the model's metadata (tinybnn.input_scale / tinybnn.input_zero_point), i.e. it
was fixed on the TRAIN split; nothing is calibrated on the clips themselves. A residual model's
real-valued stream is quantized from data: --calibration FILE.npz (x in the model layout) gives it.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import mfcc as fe  # noqa: E402


def load_model(path, calibration=None):
    try:
        import tinybnn
    except ImportError:
        sys.path.insert(0, str(HERE.parents[1]))
        import tinybnn
    m = tinybnn.load(str(path))
    if m.streams_need_calibration:  # the stream from the data, the input step still from the metadata
        if calibration is None:
            sys.exit(f"{path}: its real-valued stream is quantized from data: give --calibration FILE.npz "
                     "(x in the model layout, e.g. examples/kws/model/kws_resnet_calibration.npz)")
        with np.load(calibration) as f:
            x = f["x"]
        iq = m.input_quantization
        m = tinybnn.load(str(path), calibration=x, input_scale=iq["scale"], input_zero_point=iq["zero_point"])
    return m


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("wavs", nargs="*", type=Path)
    p.add_argument("--model", type=Path, default=HERE / "model" / "kws_bnn.onnx")
    p.add_argument("--audio", type=Path, help=".npz with 'audio' (N, 16000) int16 and optional 'y'")
    p.add_argument("--calibration", type=Path, help=".npz with 'x' (N, 10, 49, 1): data for a residual model's stream")
    a = p.parse_args(argv)
    labels = (a.model.parent / "labels.txt").read_text().split()
    m = load_model(a.model, a.calibration)
    if a.audio:
        with np.load(a.audio) as f:
            audio, y = f["audio"], (f["y"] if "y" in f else None)
        names = [f"clip {i}" for i in range(len(audio))]
    else:
        if not a.wavs:
            p.error("give WAV files or --audio FILE.npz")
        audio = np.stack([fe.fit_clip(fe.resample(*fe.read_wav(w))) for w in a.wavs])
        y, names = None, [str(w) for w in a.wavs]
    x = fe.model_layout(fe.mfcc(audio))
    pred = np.argmax(m.predict(x).reshape(len(x), -1), axis=1)
    if y is None or len(names) <= 20:
        for n, k in zip(names, pred):
            print(f"{n}: {labels[k]}")
    if y is not None:
        print(f"accuracy: {100 * np.mean(pred == y):.2f}% on {len(y)} clips")


if __name__ == "__main__":
    main()
