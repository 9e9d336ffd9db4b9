"""MFCC front end for keyword spotting, NumPy only (scipy.fft.dct is used when scipy is importable).

Defaults follow the TinyML / "Hello Edge" DS-CNN set-up: 16 kHz audio, 1 s clips, 40 ms Hann windows
every 20 ms (49 frames), 1024-point FFT power spectrum, 40 mel filters from 20 Hz to 7.6 kHz (TFLM micro_speech uses 7.5 kHz), natural
log, DCT-II (orthonormal), first 10 coefficients -> features of shape (49, 10) = (frames, coefficients).

    from mfcc import mfcc, model_layout
    feats = mfcc(samples)            # samples: int16 or float array at 16 kHz -> (49, 10) float32
    x = model_layout(feats[None])    # (N, 10, 49, 1) float32: coefficients as channels (the KWS model's input)

Deterministic and dependency-light on purpose: the tinybnn demo runs it on the host with only numpy.
"""
from __future__ import annotations

import numpy as np

try:  # optional: identical result, a little faster
    from scipy.fft import dct as _scipy_dct
except Exception:  # pragma: no cover - numpy-only hosts
    _scipy_dct = None

SAMPLE_RATE = 16000
CLIP_SAMPLES = 16000      # 1 s
FRAME_LEN = 640           # 40 ms
FRAME_STEP = 320          # 20 ms  -> 1 + (16000 - 640) // 320 = 49 frames
N_FFT = 1024
N_MELS = 40
N_MFCC = 10
F_MIN, F_MAX = 20.0, 7600.0
LOG_FLOOR = 1e-6          # added to the mel energies before the log (audio scaled to [-1, 1])


def hz_to_mel(f):
    return 2595.0 * np.log10(1.0 + np.asarray(f, np.float64) / 700.0)


def mel_to_hz(m):
    return 700.0 * (10.0 ** (np.asarray(m, np.float64) / 2595.0) - 1.0)


def mel_edges(n_mels=N_MELS, fmin=F_MIN, fmax=F_MAX) -> np.ndarray:
    """(n_mels + 2,) Hz: the filters' edges, evenly spaced on the HTK mel scale; [1:-1] are their centres."""
    return mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))


def mel_filterbank(n_mels=N_MELS, n_fft=N_FFT, sr=SAMPLE_RATE, fmin=F_MIN, fmax=F_MAX) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) triangular filters on the HTK mel scale, peak 1 (no area normalisation)."""
    freqs = np.arange(n_fft // 2 + 1) * sr / n_fft
    edges = mel_edges(n_mels, fmin, fmax)
    lo, ce, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (freqs[None, :] - lo) / (ce - lo)
    down = (hi - freqs[None, :]) / (hi - ce)
    return np.maximum(0.0, np.minimum(up, down))


def dct2_ortho(x: np.ndarray, n_out: int) -> np.ndarray:
    """DCT-II with orthonormal scaling along the last axis, first n_out coefficients."""
    if _scipy_dct is not None:
        return _scipy_dct(x, type=2, norm="ortho", axis=-1)[..., :n_out]
    n = x.shape[-1]
    k = np.arange(n_out)[:, None]
    basis = np.cos(np.pi * k * (2 * np.arange(n)[None, :] + 1) / (2 * n))
    basis *= np.where(k == 0, np.sqrt(1.0 / n), np.sqrt(2.0 / n))
    return x @ basis.T


_FB = None
_WIN = None


def _tables():
    global _FB, _WIN
    if _FB is None:
        _FB = mel_filterbank()
        # periodic Hann window (like scipy.signal.get_window('hann') / TF's hann_window)
        _WIN = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(FRAME_LEN) / FRAME_LEN)
    return _FB, _WIN


def to_float(samples) -> np.ndarray:
    """int16 PCM -> float64 in [-1, 1); float input is taken as already scaled."""
    a = np.asarray(samples)
    if a.dtype == np.int16:
        return a.astype(np.float64) / 32768.0
    return a.astype(np.float64)


def fit_clip(a: np.ndarray, n=CLIP_SAMPLES) -> np.ndarray:
    """Zero-pad or crop (centred) the last axis to exactly n samples."""
    L = a.shape[-1]
    if L == n:
        return a
    if L > n:
        s = (L - n) // 2
        return a[..., s:s + n]
    pad = [(0, 0)] * (a.ndim - 1) + [(0, n - L)]
    return np.pad(a, pad)


def mfcc(samples, n_mfcc=N_MFCC) -> np.ndarray:
    """One clip (L,) or a batch (N, L) of 16 kHz audio -> (49, n_mfcc) or (N, 49, n_mfcc) float32.

    Clips that are not 1 s long are zero-padded / centre-cropped to 16000 samples first.
    """
    x = fit_clip(to_float(samples))
    single = x.ndim == 1
    if single:
        x = x[None]
    fb, win = _tables()
    n_frames = 1 + (x.shape[1] - FRAME_LEN) // FRAME_STEP
    idx = np.arange(FRAME_LEN)[None, :] + FRAME_STEP * np.arange(n_frames)[:, None]
    frames = x[:, idx] * win                                # (N, 49, 640)
    spec = np.fft.rfft(frames, n=N_FFT, axis=-1)            # (N, 49, 513)
    power = spec.real ** 2 + spec.imag ** 2
    logmel = np.log(power @ fb.T + LOG_FLOOR)               # (N, 49, 40)
    out = dct2_ortho(logmel, n_mfcc).astype(np.float32)     # (N, 49, n_mfcc)
    return out[0] if single else out


def model_layout(feats: np.ndarray) -> np.ndarray:
    """(N, frames, coeffs) -> (N, coeffs, frames, 1) float32: the KWS BNN's NCHW input (coefficients are
    channels, so a per-coefficient normalisation is a per-channel Mul/Add the int8 input quantizer absorbs)."""
    f = np.asarray(feats, np.float32)
    return np.ascontiguousarray(f.transpose(0, 2, 1)[..., None])


def read_wav(path) -> tuple[np.ndarray, int]:
    """16-bit PCM WAV (mono, or the first channel) -> (int16 samples, sample rate). Standard library only."""
    import wave

    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2:
            raise ValueError(f"{path}: only 16-bit PCM WAV is supported")
        ch, sr, n = w.getnchannels(), w.getframerate(), w.getnframes()
        a = np.frombuffer(w.readframes(n), dtype="<i2").astype(np.int16)
    return a.reshape(-1, ch)[:, 0].copy(), sr


def resample(a: np.ndarray, sr_in: int, sr_out: int = SAMPLE_RATE) -> np.ndarray:
    """Band-limited resampling (scipy.signal.resample_poly when available, else FFT resampling). float64 out."""
    x = to_float(a)
    if sr_in == sr_out:
        return x
    from math import gcd

    try:
        from scipy.signal import resample_poly

        g = gcd(sr_in, sr_out)
        return resample_poly(x, sr_out // g, sr_in // g)
    except ImportError:
        n_out = int(round(len(x) * sr_out / sr_in))
        X = np.fft.rfft(x)
        m = n_out // 2 + 1
        Y = np.zeros(m, complex)
        k = min(m, len(X))
        Y[:k] = X[:k]
        return np.fft.irfft(Y, n_out) * (n_out / len(x))


def wav_features(path) -> np.ndarray:
    """A WAV file -> (49, 10) MFCC features (resampled to 16 kHz, padded/cropped to 1 s)."""
    a, sr = read_wav(path)
    return mfcc(resample(a, sr))
