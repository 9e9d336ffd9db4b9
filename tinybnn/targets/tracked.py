"""Folders tinybnn writes into but the user owns: never delete or overwrite a file tinybnn did not write.

:func:`write_tracked` records the sha256 of every file it writes in a JSON file in the folder. On the next
write it refuses, in one line, to overwrite a file the user changed since (or a file tinybnn did not write)
unless ``force``; files it wrote before and no longer writes are removed only when unchanged; every other
file stays. ``tracked_part`` names files of which only a part is tinybnn's (platformio.ini: the part above
its user section): only that part is compared.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable, Dict, Optional

from .._version import __version__
from ..errors import TinyBnnError


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_record(out: Path, manifest_name: str) -> Optional[dict]:
    """The recorded files (relative path -> sha256) of ``out``, or None when it has no record."""
    man_path = out / manifest_name
    if not man_path.is_file():
        return None
    try:
        files = json.loads(man_path.read_text())["files"]
        if not isinstance(files, dict):
            raise ValueError
        return files
    except Exception:
        raise TinyBnnError(f"{man_path}: damaged (not tinybnn's JSON record of the files it wrote); remove it "
                           "and the files tinybnn wrote to start the folder afresh") from None


def rewrite_tracked(out_dir, manifest_name: str, rel: str, data: bytes) -> None:
    """Replace one file tinybnn wrote into ``out_dir`` by a later step of its own (the stack reserve a build
    derives after compiling) and record its new digest, so that the next write does not take it for a user's
    edit. A folder without a record just gets the file."""
    from ..plumbing import deferred_signals, write_atomic

    out = Path(out_dir)
    old = read_record(out, manifest_name)
    with deferred_signals():
        write_atomic(out / rel, data)
        if old is not None:
            rec = json.loads((out / manifest_name).read_text())
            rec["files"][rel] = _sha(data)
            write_atomic(out / manifest_name, json.dumps(rec, indent=2, sort_keys=True) + "\n")


def _user_changes(out: Path, files: Dict[str, bytes], old: dict, digest) -> list[str]:
    """The files about to be written that the user changed (or that tinybnn never wrote), one line each."""
    problems = []
    for rel, data in sorted(files.items()):
        p = out / rel
        if not p.exists():
            continue
        if not p.is_file():
            problems.append(f"{p} is not a file")
            continue
        cur = digest(rel, p.read_bytes())
        if cur == digest(rel, data):
            continue
        if rel not in old:
            problems.append(f"{p} is not tinybnn's")
        elif cur != old[rel]:
            problems.append(f"{p} was changed")
    return problems


def _remove_stale(out: Path, stale: list[str], old: dict, digest) -> None:
    """Remove the files an earlier write made that this one does not, unless the user changed them, and the
    folders they leave empty."""
    for rel in stale:
        p = out / rel
        if p.is_file() and digest(rel, p.read_bytes()) == old[rel]:
            p.unlink()
            for d in p.parents:  # folders tinybnn's files leave empty
                if d == out or out not in d.parents:
                    break
                try:
                    d.rmdir()
                except OSError:
                    break


def write_tracked(files: Dict[str, bytes], out_dir, manifest_name: str, force: bool = False,
                  extra: Optional[dict] = None, what: str = "folder", claim: bool = False,
                  tracked_part: Optional[Dict[str, Callable[[bytes], bytes]]] = None) -> Path:
    """Write ``files`` (relative path -> bytes) into ``out_dir``; check everything before writing anything.

    ``claim``: the caller has checked that a folder without a record may be written into."""
    from ..plumbing import deferred_signals, write_atomic

    part = tracked_part or {}

    def digest(rel: str, data: bytes) -> str:
        return _sha(part[rel](data) if rel in part else data)

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise TinyBnnError(f"{out}: exists and is not a directory")
    old = read_record(out, manifest_name)
    if old is None:
        if out.is_dir() and any(out.iterdir()) and not (force or claim):
            raise TinyBnnError(f"{out}: {what} is not empty and was not written by tinybnn (no {manifest_name}); "
                               "choose an empty folder, or --force to write into it")
        old = {}
    problems = _user_changes(out, files, old, digest)
    if problems and not force:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise TinyBnnError(f"{problems[0]}{more}; tinybnn keeps your edits: move them aside, or use --force to "
                           "overwrite")
    stale = [rel for rel in sorted(old) if rel not in files]
    with deferred_signals():
        for rel, data in sorted(files.items()):
            p = out / rel
            if p.is_file() and p.read_bytes() == data:
                continue
            p.parent.mkdir(parents=True, exist_ok=True)
            if p.is_dir():  # --force over a folder where a file goes
                import shutil

                shutil.rmtree(p)
            write_atomic(p, data)
        _remove_stale(out, stale, old, digest)
        rec = {"format": "tinybnn-files", "tinybnn_version": __version__,
               "comment": "the files tinybnn wrote here (sha256); it never overwrites one you changed",
               "files": {rel: digest(rel, data) for rel, data in sorted(files.items())}, **(extra or {})}
        write_atomic(out / manifest_name, json.dumps(rec, indent=2, sort_keys=True) + "\n")
    return out
