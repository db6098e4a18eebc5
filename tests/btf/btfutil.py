"""Test support for pybpf.btf: fixture paths, a brute-force reference, libbpf through ctypes.

- :data:`BTFDATA` holds this package's own fixtures (tests/testdata/btf: layout objects, the
  synthetic blobs, libbpf-built split BTF, each with its bpftool goldens ``NAME.txt``/``NAME.h``).
- :func:`touch_everything` walks every access path of a :class:`BTF` (and formats it),
  swallowing only :class:`BTFError`, for the fuzz tests.
- :class:`Libbpf` calls ``btf__parse``, ``btf__resolve_size`` and ``btf__align_of`` of the
  system's libbpf, the reference for sizes and alignments.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
from pathlib import Path

import pytest

from pybpf.btf import BTF, format_c, format_raw
from pybpf.errors import BTFError
from tests.conftest import TESTDATA

BTFDATA = TESTDATA / "btf"
VMLINUX = Path("/sys/kernel/btf/vmlinux")


def read_text(path: Path) -> str:
    """A golden as bytes decoded the way pybpf keeps odd bytes (surrogateescape)."""
    return path.read_bytes().decode("utf-8", "surrogateescape")


def vmlinux() -> Path:
    if not VMLINUX.exists():
        pytest.skip(f"{VMLINUX} is absent (kernel without CONFIG_DEBUG_INFO_BTF)")
    return VMLINUX


def touch_everything(btf: BTF) -> None:
    """Decode, look up, lay out and format everything; only BTFError may escape."""
    try:
        btf.validate()
        for type_id in range(1, len(btf)):
            btf.name_of(type_id)
            btf.kind_of(type_id)
            for fn in (btf.sizeof, btf.alignof, btf.skip_mods_and_typedefs):
                with contextlib.suppress(BTFError):
                    fn(type_id)
        btf.find("int")
        format_raw(btf)
        format_c(btf)
        btf.encode()
    except BTFError:
        pass


class Libbpf:
    """The system's libbpf (ctypes), or a skip when it cannot be loaded."""

    def __init__(self) -> None:
        name = ctypes.util.find_library("bpf") or "libbpf.so.1"
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            pytest.skip("libbpf.so.1 is not installed (apt-get install libbpf1)")
        lib.btf__parse.restype = ctypes.c_void_p
        lib.btf__parse.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
        lib.btf__free.argtypes = [ctypes.c_void_p]
        lib.btf__type_cnt.argtypes = [ctypes.c_void_p]
        lib.btf__type_cnt.restype = ctypes.c_uint32
        lib.btf__resolve_size.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
        lib.btf__resolve_size.restype = ctypes.c_int64
        lib.btf__align_of.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
        lib.btf__align_of.restype = ctypes.c_int
        lib.libbpf_set_print.argtypes = [ctypes.c_void_p]
        lib.libbpf_set_print(None)  # align_of warns about every FUNC on stderr otherwise
        self.lib = lib

    def sizes_and_alignments(self, path: Path) -> list[tuple[int, int]]:
        """``(resolve_size, align_of)`` of every type id from 1 (negative or 0 on error)."""
        btf = self.lib.btf__parse(str(path).encode(), None)
        if not btf:
            raise RuntimeError(f"libbpf cannot parse {path}")
        try:
            count = self.lib.btf__type_cnt(btf)
            return [
                (self.lib.btf__resolve_size(btf, i), self.lib.btf__align_of(btf, i))
                for i in range(1, count)
            ]
        finally:
            self.lib.btf__free(btf)
