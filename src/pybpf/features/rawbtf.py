"""Just enough raw BTF to probe the kernel and to type maps that demand BTF.

Feature probes load tiny hand-built BTF blobs (as libbpf's probes do); local-storage maps
(sk/inode/task/cgrp storage) are refused without BTF key and value types, so a map spec
without BTF gets a synthesized ``int`` key and ``unsigned char[value_size]`` value. The full
BTF reader and writer is :mod:`pybpf.btf`; this module only encodes the few kinds it needs.

Layout (include/uapi/linux/btf.h, https://docs.kernel.org/bpf/btf.html), host byte order::

    header  | magic 0xeB9F (u16) | version 1 (u8) | flags (u8) | hdr_len 24 (u32)
            | type_off (u32) | type_len (u32) | str_off (u32) | str_len (u32) |
    type    | name_off (u32) | info: vlen:16 .. kind:5 @24 .. kind_flag @31 | size|type (u32) |
            + kind-specific trailing data
"""

from __future__ import annotations

import struct

from pybpf.btf.kinds import Kind  # (pybpf.btf's enum: this module only encodes records)

__all__ = ["Kind", "blob", "int_type", "storage_btf", "type_record"]

_MAGIC = 0xEB9F
_HEADER = struct.Struct("=HBBIIIII")
_U32 = struct.Struct("=I")
_TYPE = struct.Struct("=III")


def type_record(name_off: int, kind: Kind, vlen: int, size_or_type: int, kflag: int = 0) -> bytes:
    """One ``struct btf_type`` (without its trailing data)."""
    info = (kflag << 31) | (int(kind) << 24) | vlen
    return _TYPE.pack(name_off, info, size_or_type)


def int_type(name_off: int, size: int, *, signed: bool = True) -> bytes:
    """A ``BTF_KIND_INT`` of ``size`` bytes with its encoding word."""
    encoding = (1 if signed else 0) << 24 | (size * 8)
    return type_record(name_off, Kind.INT, 0, size) + _U32.pack(encoding)


def u32s(*values: int) -> bytes:
    """Trailing words (array info, params, members …), signed values wrapped to u32."""
    return b"".join(_U32.pack(v & 0xFFFFFFFF) for v in values)


def blob(types: bytes, strings: bytes) -> bytes:
    """A loadable BTF blob from encoded types and a string section (starting with NUL)."""
    header = _HEADER.pack(_MAGIC, 1, 0, _HEADER.size, 0, len(types), len(types), len(strings))
    return header + types + strings


def storage_btf(value_size: int) -> tuple[bytes, int, int]:
    """BTF for a map with an ``int`` key and a ``value_size``-byte value.

    Returns ``(blob, key type id, value type id)``: [1] int, [2] unsigned char,
    [3] unsigned char[value_size].
    """
    strings = b"\0int\0unsigned char\0"
    types = (
        int_type(1, 4)
        + int_type(5, 1, signed=False)
        + type_record(0, Kind.ARRAY, 0, 0)
        + u32s(2, 1, value_size)
    )
    return blob(types, strings), 1, 3
