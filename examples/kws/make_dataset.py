"""Synthetic keyword-spotting data set, generated offline with espeak-ng (no download).

    python examples/kws/make_dataset.py --out build/kws_data --seed 0

12 classes: silence, unknown and 10 keywords (yes no up down left right on off stop go). Each espeak-ng
voice is an accent (8 English ones) combined with a voice variant (en-us+f3, en-gb+klatt2, ...). The
train / val / test split is BY VARIANT: the test (and val) variants are never heard in training, in any
accent. Speaking rate (-s) and pitch (-p) are drawn at random per utterance batch, then every clip gets
a random gain, a random position in the 1 s window (time shift) and synthetic background noise (white,
pink or brown at a random SNR; 10 % of the clips stay clean). "silence" clips are noise only (10 %:
digital silence).

Written to --out:
  cache/<split>/*.npz   espeak-ng output cut into words, 16 kHz int16 (re-used on the next run)
  train.npz val.npz test.npz   x: MFCC (N, 49, 10) float32 (frames, coefficients), y: int64 labels,
                               voice: '<accent>+<variant>', word: the spoken word ('' for silence)
  test_audio.npz        audio: the test clips, (N, 16000) int16 at 16 kHz (for demos), y
  meta.json             labels, split variants, counts, settings

Deterministic given --seed (espeak-ng itself is deterministic). About 2 minutes on one core.

Your own data: --speech-commands DIR reads a local copy of Google Speech Commands (one folder of 16 kHz
WAVs per word, validation_list.txt / testing_list.txt, _background_noise_/) into the same files.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mfcc as fe  # noqa: E402

KEYWORDS = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"]
LABELS = ["silence", "unknown"] + KEYWORDS
# Speech Commands' auxiliary words plus a few more; homophones of keywords ("know", "write") left out.
UNKNOWN_WORDS = ["bed", "bird", "cat", "dog", "happy", "house", "marvin", "sheila", "tree", "wow",
                 "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                 "learn", "follow", "forward", "backward", "visual", "yellow", "open", "hello",
                 "water", "music", "light", "dawn", "top", "gone", "lift", "start", "yet", "nod"]
ACCENTS = ["en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd",
           "en-029", "en-us-nyc"]
# espeak-ng 1.51 voice variants (espeak-ng --voices=variant). 'caleb' and 'klatt6' produce exactly the
# same audio as 'klatt' and are left out. Numbered families (iven..iven4, steph..steph3, ...) stay in one
# split; f1..f5 and m1..m8 are distinct voices.
TEST_VARIANTS = ["f2", "f4", "m3", "m6", "Annie", "Andrea", "david", "grandma", "Storm", "travis",
                 "norbert", "quincy", "steph", "steph2", "steph3"]
VAL_VARIANTS = ["f5", "m7", "Alex", "benjamin", "linda", "pablo", "Jacky", "croak",
                "RicishayMax", "RicishayMax2", "RicishayMax3"]
TRAIN_VARIANTS = [
    "Alicia", "Andy", "AnxiousAndy", "Demonic", "Denis", "Diogo", "Gene", "Gene2", "Henrique", "Hugo",
    "Lee", "Marco", "Mario", "Michael", "Mike", "Mr serious", "Nguyen", "Tweaky", "UniRobot", "adam",
    "anika", "anikaRobot", "announcer", "antonio", "aunty", "belinda", "boris", "ed", "edward", "edward2",
    "f1", "f3", "fast", "grandpa", "gustave", "iven", "iven2", "iven3", "iven4", "john", "kaukovalta",
    "klatt", "klatt2", "klatt3", "klatt4", "klatt5", "m1", "m2", "m4", "m5", "m8", "marcelo", "max",
    "michel", "miguel", "paul", "pedro", "rob", "robert", "robosoft", "robosoft2", "robosoft3", "robosoft4",
    "robosoft5", "robosoft6", "robosoft7", "robosoft8", "sandro", "shelby", "victor", "whisper",
    "whisperf", "zac"]
SPLITS = {"train": TRAIN_VARIANTS, "val": VAL_VARIANTS, "test": TEST_VARIANTS}
SPLIT_ID = {"train": 0, "val": 1, "test": 2}
CALLS_PER_VOICE = {"train": 3, "val": 1, "test": 1}   # espeak-ng runs per voice (each: all keywords)
UNKNOWN_PER_CALL = 2
TEST_PER_CLASS = 50                                    # test split: 12 x 50 = 600 clips

SPEED = (110, 230)         # espeak-ng -s, words per minute
PITCH = (20, 80)           # espeak-ng -p, 0..99
WORD_GAP = 30              # espeak-ng -g (x10 ms) between the sentences "word." of one run
GAIN_DBFS = (-30.0, -1.0)  # speech peak level
SNR_DB = (5.0, 35.0)
SILENCE_DBFS = (-70.0, -20.0)  # RMS of noise-only clips
CLEAN_FRACTION = 0.1       # clips without added noise (speech: clean; silence: digital zeros), like raw TTS output
CACHE_VERSION = 1
SR_ESPEAK = 22050


# ------------------------------------------------------------------------------- synthesis ----
def espeak(voice: str, speed: int, pitch: int, text: str) -> np.ndarray:
    out = subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-g", str(WORD_GAP),
                          "--stdout", text], capture_output=True, check=True).stdout
    with wave.open(io.BytesIO(out)) as w:
        assert w.getframerate() == SR_ESPEAK and w.getsampwidth() == 2, voice
        return np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.int16)


def split_words(a: np.ndarray, sr: int, n_expected: int, min_gap_s=0.16, margin_s=0.03):
    """Cut a run of sentence-separated words at silences >= min_gap_s; None if the count differs."""
    hop = int(sr * 0.005)
    n = len(a) // hop
    env = np.abs(a[:n * hop].astype(np.int32)).reshape(n, hop).max(1)
    thr = max(40, 0.01 * env.max())
    act = env > thr
    idx = np.flatnonzero(act)
    if idx.size == 0:
        return None
    gaps = np.flatnonzero(np.diff(idx) * hop >= min_gap_s * sr)
    starts = np.r_[idx[0], idx[gaps + 1]]
    ends = np.r_[idx[gaps], idx[-1]] + 1
    if len(starts) != n_expected:
        return None
    m = int(margin_s * sr)
    return [a[max(0, s * hop - m):min(len(a), e * hop + m)] for s, e in zip(starts, ends)]


def to_16k_int16(seg: np.ndarray) -> np.ndarray:
    y = fe.resample(seg, SR_ESPEAK, fe.SAMPLE_RATE)
    return np.clip(np.round(y * 32768.0), -32768, 32767).astype(np.int16)


def synth_call(cache: Path, voice: str, speed: int, pitch: int, words: list[str]) -> list[np.ndarray]:
    """One espeak-ng run saying every word as its own sentence -> list of 16 kHz int16 words (cached)."""
    key = json.dumps([CACHE_VERSION, voice, speed, pitch, WORD_GAP, words])
    name = voice.replace(" ", "_") + "__" + hashlib.sha1(key.encode()).hexdigest()[:12] + ".npz"
    path = cache / name
    if path.exists():
        with np.load(path) as f:
            return np.split(f["audio"], np.cumsum(f["lens"])[:-1])
    a = espeak(voice, speed, pitch, " ".join(w + "." for w in words))
    segs = split_words(a, SR_ESPEAK, len(words))
    if segs is None:  # fall back to one run per word
        segs = []
        for w in words:
            b = espeak(voice, speed, pitch, w + ".")
            s = split_words(b, SR_ESPEAK, 1, min_gap_s=10.0)
            segs.append(s[0] if s else b)
    segs = [to_16k_int16(s) for s in segs]
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, audio=np.concatenate(segs), lens=np.array([len(s) for s in segs]))
    os.replace(tmp, path)
    return segs


# ------------------------------------------------------------------------------ augmentation ----
def colored_noise(rng, n: int, kind: str) -> np.ndarray:
    """Unit-RMS white / pink (1/f) / brown (1/f^2) noise by spectral shaping of white noise."""
    w = rng.standard_normal(n)
    if kind != "white":
        alpha = {"pink": 1.0, "brown": 2.0}[kind]
        W = np.fft.rfft(w)
        f = np.maximum(np.fft.rfftfreq(n, 1.0 / fe.SAMPLE_RATE), 20.0)
        w = np.fft.irfft(W * f ** (-alpha / 2.0), n)
    return w / np.sqrt(np.mean(w ** 2))


NOISE_KINDS = ("white", "pink", "brown")


def make_clip(rng, speech: np.ndarray | None) -> tuple[np.ndarray, dict]:
    """A 1 s 16 kHz int16 clip: speech at a random gain and position plus noise at a random SNR, or (speech
    None) noise only."""
    n = fe.CLIP_SAMPLES
    kind = NOISE_KINDS[rng.integers(3)]
    noise = colored_noise(rng, n, kind)
    if rng.random() < CLEAN_FRACTION:
        kind, noise = "none", np.zeros(n)
    info = {"noise": kind}
    if speech is None:
        lvl = rng.uniform(*SILENCE_DBFS)
        y = noise * 10 ** (lvl / 20)
        info["level_dbfs"] = lvl
    else:
        s = speech.astype(np.float64) / 32768.0
        if len(s) > n:  # very slow speech: keep the middle second
            st = (len(s) - n) // 2
            s = s[st:st + n]
        peak = np.abs(s).max()
        gain = rng.uniform(*GAIN_DBFS)
        s = s / max(peak, 1e-9) * 10 ** (gain / 20)
        off = int(rng.integers(0, n - len(s) + 1))
        y = np.zeros(n)
        y[off:off + len(s)] = s
        loud = np.abs(s) > 0.05 * np.abs(s).max()
        srms = np.sqrt(np.mean(s[loud] ** 2))
        snr = rng.uniform(*SNR_DB)
        y += noise * srms * 10 ** (-snr / 20)
        info.update(gain_dbfs=gain, offset=off, snr_db=snr)
    return np.clip(np.round(y * 32768.0), -32768, 32767).astype(np.int16), info


# ------------------------------------------------------------------------------- the splits ----
def espeak_split(out: Path, split: str, seed: int):
    cache = out / "cache" / split
    cache.mkdir(parents=True, exist_ok=True)
    sid = SPLIT_ID[split]
    utts = []  # (label, word, voice, audio)
    k = 0
    for variant in SPLITS[split]:
        for accent in ACCENTS:
            voice = f"{accent}+{variant}"
            for c in range(CALLS_PER_VOICE[split]):
                rng = np.random.default_rng([seed, sid, k])
                k += 1
                unk = list(rng.choice(UNKNOWN_WORDS, UNKNOWN_PER_CALL, replace=False))
                words = KEYWORDS + unk
                words = [words[i] for i in rng.permutation(len(words))]
                speed = int(rng.integers(SPEED[0], SPEED[1] + 1))
                pitch = int(rng.integers(PITCH[0], PITCH[1] + 1))
                for w, a in zip(words, synth_call(cache, voice, speed, pitch, words)):
                    utts.append((LABELS.index(w) if w in KEYWORDS else 1, w, voice, a))
    return utts


def build_clips(utts, split: str, seed: int, n_silence: int, per_class: int | None):
    """Augment utterances into clips; add noise-only 'silence'; optionally keep per_class clips per class."""
    sid = SPLIT_ID[split]
    order = np.arange(len(utts))
    if per_class is not None:
        rng = np.random.default_rng([seed, sid, 10 ** 6])
        keep = []
        for c in range(1, len(LABELS)):
            idx = [i for i, u in enumerate(utts) if u[0] == c]
            keep += list(rng.choice(idx, min(per_class, len(idx)), replace=False))
        order = np.sort(np.array(keep))
        n_silence = per_class
    clips, ys, voices, words = [], [], [], []
    for j, i in enumerate(order):
        lab, w, voice, a = utts[i]
        clip, _ = make_clip(np.random.default_rng([seed, sid, 2 * 10 ** 6 + int(i)]), a)
        clips.append(clip), ys.append(lab), voices.append(voice), words.append(w)
    voice_list = sorted({u[2] for u in utts})
    for j in range(n_silence):
        rng = np.random.default_rng([seed, sid, 3 * 10 ** 6 + j])
        clip, _ = make_clip(rng, None)
        clips.append(clip), ys.append(0), voices.append(""), words.append("")
    return np.stack(clips), np.array(ys, np.int64), np.array(voices), np.array(words), voice_list


def features(audio: np.ndarray, batch=512) -> np.ndarray:
    return np.concatenate([fe.mfcc(audio[i:i + batch]) for i in range(0, len(audio), batch)])


def save_split(out: Path, split: str, audio, y, voice, word):
    x = features(audio)
    np.savez_compressed(out / f"{split}.npz", x=x, y=y, voice=voice, word=word)
    if split == "test":
        np.savez_compressed(out / "test_audio.npz", audio=audio, y=y)
    return x


def counts(y):
    return {LABELS[c]: int(np.sum(y == c)) for c in range(len(LABELS))}


def run_espeak(out: Path, seed: int):
    meta = {"source": "espeak-ng", "labels": LABELS, "seed": seed, "accents": ACCENTS,
            "variants": SPLITS, "unknown_words": UNKNOWN_WORDS,
            "settings": {"speed_wpm": SPEED, "pitch": PITCH, "gain_dbfs": GAIN_DBFS, "snr_db": SNR_DB,
                         "silence_dbfs": SILENCE_DBFS, "noise": NOISE_KINDS, "clean_fraction": CLEAN_FRACTION, "calls_per_voice": CALLS_PER_VOICE,
                         "unknown_per_call": UNKNOWN_PER_CALL, "test_per_class": TEST_PER_CLASS},
            "frontend": {"sample_rate": fe.SAMPLE_RATE, "frame_len": fe.FRAME_LEN, "frame_step": fe.FRAME_STEP,
                         "n_fft": fe.N_FFT, "n_mels": fe.N_MELS, "n_mfcc": fe.N_MFCC, "fmin": fe.F_MIN,
                         "fmax": fe.F_MAX},
            "espeak_ng": subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True).stdout.strip(),
            "splits": {}}
    for split in ("train", "val", "test"):
        t = time.time()
        utts = espeak_split(out, split, seed)
        n_kw = int(np.mean([sum(u[0] == c for u in utts) for c in range(2, len(LABELS))]))
        per_class = TEST_PER_CLASS if split == "test" else None
        audio, y, voice, word, voices = build_clips(utts, split, seed, n_kw, per_class)
        save_split(out, split, audio, y, voice, word)
        meta["splits"][split] = {"clips": int(len(y)), "voices": len(voices), "variants": len(SPLITS[split]),
                                 "per_class": counts(y)}
        print(f"{split}: {len(y)} clips, {len(voices)} voices ({len(SPLITS[split])} variants x "
              f"{len(ACCENTS)} accents), {time.time() - t:.1f} s", flush=True)
    return meta


# ------------------------------------------------------------------- your own Speech Commands ----
def run_speech_commands(src: Path, out: Path, seed: int, keywords=KEYWORDS, max_unknown_ratio=1.0):
    """Local Google Speech Commands (v0.01/v0.02 layout) -> the same train/val/test files.

    Split by the official validation_list.txt / testing_list.txt (speaker-hashed, so speakers do not
    cross splits). Words outside `keywords` become 'unknown' (subsampled to max_unknown_ratio x the mean
    keyword count); 'silence' clips are random 1 s crops of _background_noise_/*.wav at a random gain."""
    src = Path(src)
    lists = {}
    for split, fn in (("val", "validation_list.txt"), ("test", "testing_list.txt")):
        p = src / fn
        lists[split] = set(p.read_text().split()) if p.exists() else set()
    files = {"train": [], "val": [], "test": []}
    for d in sorted(p for p in src.iterdir() if p.is_dir() and not p.name.startswith("_")):
        for f in sorted(d.glob("*.wav")):
            rel = f"{d.name}/{f.name}"
            split = "val" if rel in lists["val"] else "test" if rel in lists["test"] else "train"
            lab = LABELS.index(d.name) if d.name in keywords else 1
            files[split].append((lab, d.name, f.name.split("_nohash_")[0], f))
    noise = [fe.resample(*fe.read_wav(f)) for f in sorted((src / "_background_noise_").glob("*.wav"))]
    meta = {"source": f"speech_commands:{src}", "labels": LABELS, "seed": seed, "splits": {}}
    for split, items in files.items():
        if not items:
            continue
        rng = np.random.default_rng([seed, SPLIT_ID[split], 7])
        n_kw = max(1, int(np.mean([sum(i[0] == c for i in items) for c in range(2, len(LABELS))])))
        unk = [i for i in items if i[0] == 1]
        keep_unk = set(rng.permutation(len(unk))[:int(max_unknown_ratio * n_kw)].tolist())
        items = [i for i in items if i[0] != 1] + [u for k, u in enumerate(unk) if k in keep_unk]
        clips = [fe.fit_clip(fe.resample(*fe.read_wav(i[3]))) for i in items]
        ys, voices, words = [i[0] for i in items], [i[2] for i in items], [i[1] for i in items]
        for _ in range(n_kw if noise else 0):
            nz = noise[rng.integers(len(noise))]
            st = int(rng.integers(0, max(1, len(nz) - fe.CLIP_SAMPLES)))
            clips.append(fe.fit_clip(nz[st:st + fe.CLIP_SAMPLES]) * rng.uniform(0.0, 1.0))
            ys.append(0), voices.append(""), words.append("")
        audio = np.clip(np.round(np.stack(clips) * 32768), -32768, 32767).astype(np.int16)
        y = np.array(ys, np.int64)
        save_split(out, split, audio, y, np.array(voices), np.array(words))
        meta["splits"][split] = {"clips": int(len(y)), "voices": len(set(voices) - {""}), "per_class": counts(y)}
        print(f"{split}: {len(y)} clips", flush=True)
    return meta


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, type=Path, help="output directory (cache kept there)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--speech-commands", type=Path, metavar="DIR",
                   help="build from a local Google Speech Commands folder instead of espeak-ng")
    a = p.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    t = time.time()
    meta = run_speech_commands(a.speech_commands, a.out, a.seed) if a.speech_commands else run_espeak(a.out, a.seed)
    meta["seconds"] = round(time.time() - t, 1)
    (a.out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"wrote {a.out} in {meta['seconds']} s")


if __name__ == "__main__":
    main()
