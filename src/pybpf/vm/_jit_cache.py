"""The JIT's persistent code cache: machine code by (LLVM IR, target, options), on disk.

A compiled program's object file is kept under ``~/.cache/pybpf/jit/`` (``$XDG_CACHE_HOME``
is honoured; ``PYBPF_JIT_CACHE=DIR`` moves it, ``PYBPF_JIT_CACHE=0`` turns it off), named by
the SHA-256 of everything the code depends on: the IR text (which holds the program, its
entry kind and the code generator's choices), llvmlite's and LLVM's versions, the host CPU
and its features, and the optimisation level. The cache is safe to lose or to share between
processes: each file carries a checksum of its contents and is written to a temporary name
first, then renamed into place (atomic on POSIX); a file that fails its check is ignored
and rewritten. Every I/O failure means "not cached", never an error.

File layout::

    0  magic b"PYBPFJIT1\\n"   10  sha256 of the object (32 bytes)   42  the object file
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

__all__ = ["cache_dir", "cache_key", "load", "store"]

_MAGIC = b"PYBPFJIT1\n"
_DIGEST = 32


def cache_dir() -> Path | None:
    """Where compiled code is kept, or ``None`` when caching is off."""
    setting = os.environ.get("PYBPF_JIT_CACHE", "")
    if setting in ("0", "off", "no"):
        return None
    if setting:
        return Path(setting)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "pybpf" / "jit"


def cache_key(ir: str, target: str) -> str:
    """The name of the code of ``ir`` compiled for ``target`` (a description of the target
    machine, the options and the compiler's version)."""
    h = hashlib.sha256()
    h.update(target.encode())
    h.update(b"\0")
    h.update(ir.encode())
    return h.hexdigest()


def load(key: str) -> bytes | None:
    """The cached object of ``key``, or ``None`` (absent, unreadable or damaged)."""
    where = cache_dir()
    if where is None:
        return None
    try:
        data = (where / key[:2] / key).read_bytes()
    except OSError:
        return None
    head, digest, obj = (
        data[: len(_MAGIC)],
        data[len(_MAGIC) : len(_MAGIC) + _DIGEST],
        data[len(_MAGIC) + _DIGEST :],
    )
    if head != _MAGIC or hashlib.sha256(obj).digest() != digest or not obj:
        return None
    return obj


def store(key: str, obj: bytes) -> None:
    """Keep ``obj`` as the code of ``key`` (silently skipped when the disk refuses)."""
    where = cache_dir()
    if where is None or not obj:
        return
    folder = where / key[:2]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(_MAGIC + hashlib.sha256(obj).digest() + obj)
            os.replace(tmp, folder / key)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        return
