"""BTF kinds, flags and record layouts, declared once as data.

See the kernel's ``include/uapi/linux/btf.h`` and ``Documentation/bpf/btf.rst``
(https://docs.kernel.org/bpf/btf.html). A BTF blob is a header, a type section and a string
section; offsets in the header count from the end of the header::

    +--------------------+  0
    | btf_header (24 B)  |  magic 0xeB9F (its byte order is the blob's), version 1, flags,
    |                    |  hdr_len, type_off, type_len, str_off, str_len
    +--------------------+  hdr_len
    | types ...          |  type_off .. type_off + type_len   (4-byte aligned)
    +--------------------+
    | strings ...        |  str_off .. str_off + str_len      ("\\0name\\0name\\0")
    +--------------------+

Every type record starts with the same three u32 words, then kind-specific words::

    word 0   name_off                    offset into the string section (0: anonymous)
    word 1   info   | kflag:1 | -:2 | kind:5 | -:8 | vlen:16 |
    word 2   size or type                (by kind: a byte size or a referenced type id)
    word 3+  kind-specific               see RECORD below

``RECORD[kind] = (fixed, per_item)``: a record of that kind is ``3 + fixed + per_item * vlen``
words long; the parser's offset index, the decoder and the encoder all read this table.
"""

from __future__ import annotations

import struct
from enum import IntEnum, IntFlag

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from typing import Literal

    ByteOrder = Literal["little", "big"]
else:
    ByteOrder = str  # (a Literal of str for type checkers)

__all__ = [
    "BTF_MAGIC",
    "BTF_VERSION",
    "HEADER",
    "MAX_TYPE_ID",
    "MAX_VLEN",
    "RECORD",
    "ByteOrder",
    "CoreReloKind",
    "FuncLinkage",
    "IntEncoding",
    "Kind",
    "VarLinkage",
    "record_words",
]


BTF_MAGIC = 0xEB9F
BTF_VERSION = 1
MAX_TYPE_ID = 0x000FFFFF
"""The kernel's ``BTF_MAX_TYPE``: the highest type id it accepts."""
MAX_VLEN = 0xFFFF
"""The most members, enumerators, parameters or variables one record can list."""

HEADER = {"little": struct.Struct("<HBBIIIII"), "big": struct.Struct(">HBBIIIII")}
"""``struct btf_header``: magic, version, flags, hdr_len, type_off, type_len, str_off,
str_len (24 bytes)."""


class Kind(IntEnum):
    """``BTF_KIND_*``: what a type record describes."""

    UNKN = 0
    INT = 1
    PTR = 2
    ARRAY = 3
    STRUCT = 4
    UNION = 5
    ENUM = 6
    FWD = 7
    TYPEDEF = 8
    VOLATILE = 9
    CONST = 10
    RESTRICT = 11
    FUNC = 12
    FUNC_PROTO = 13
    VAR = 14
    DATASEC = 15
    FLOAT = 16
    DECL_TAG = 17
    TYPE_TAG = 18
    ENUM64 = 19


class IntEncoding(IntFlag):
    """``BTF_INT_*``: the encoding bits of an INT (none of them: unsigned)."""

    SIGNED = 1 << 0
    CHAR = 1 << 1
    BOOL = 1 << 2


class FuncLinkage(IntEnum):
    """``enum btf_func_linkage``: the linkage of a FUNC (kept in its ``vlen`` bits)."""

    STATIC = 0
    GLOBAL = 1
    EXTERN = 2


class VarLinkage(IntEnum):
    """``BTF_VAR_*``: the linkage of a VAR (``struct btf_var``)."""

    STATIC = 0
    GLOBAL_ALLOCATED = 1
    GLOBAL_EXTERN = 2


# Kind-specific words after the 3-word common header: (fixed words, words per vlen item).
#   INT         u32 encoding:4 | offset:8 | bits:8 (at bits 24, 16 and 0)
#   ARRAY       u32 type, u32 index_type, u32 nelems
#   STRUCT/UNION  vlen x { u32 name_off, u32 type, u32 offset }
#               (offset with kflag set: bitfield_size:8 | bit_offset:24)
#   ENUM        vlen x { u32 name_off, s32 val }
#   FUNC_PROTO  vlen x { u32 name_off, u32 type }
#   VAR         u32 linkage
#   DATASEC     vlen x { u32 type, u32 offset, u32 size }
#   DECL_TAG    s32 component_idx   (-1: the type itself; else the member/parameter index)
#   ENUM64      vlen x { u32 name_off, u32 val_lo32, u32 val_hi32 }
RECORD: dict[int, tuple[int, int]] = {
    Kind.INT: (1, 0),
    Kind.PTR: (0, 0),
    Kind.ARRAY: (3, 0),
    Kind.STRUCT: (0, 3),
    Kind.UNION: (0, 3),
    Kind.ENUM: (0, 2),
    Kind.FWD: (0, 0),
    Kind.TYPEDEF: (0, 0),
    Kind.VOLATILE: (0, 0),
    Kind.CONST: (0, 0),
    Kind.RESTRICT: (0, 0),
    Kind.FUNC: (0, 0),
    Kind.FUNC_PROTO: (0, 2),
    Kind.VAR: (1, 0),
    Kind.DATASEC: (0, 3),
    Kind.FLOAT: (0, 0),
    Kind.DECL_TAG: (1, 0),
    Kind.TYPE_TAG: (0, 0),
    Kind.ENUM64: (0, 3),
}


def record_words(info: int) -> int:
    """The length in u32 words of a type record whose ``info`` word is ``info``.

    Raises:
        KeyError: the kind is not a known BTF kind (the caller names the offset).
    """
    fixed, per_item = RECORD[(info >> 24) & 0x1F]
    return 3 + fixed + per_item * (info & 0xFFFF)


class CoreReloKind(IntEnum):
    """``enum bpf_core_relo_kind`` (uapi ``bpf.h``): what a CO-RE relocation adjusts."""

    FIELD_BYTE_OFFSET = 0
    FIELD_BYTE_SIZE = 1
    FIELD_EXISTS = 2
    FIELD_SIGNED = 3
    FIELD_LSHIFT_U64 = 4
    FIELD_RSHIFT_U64 = 5
    TYPE_ID_LOCAL = 6
    TYPE_ID_TARGET = 7
    TYPE_EXISTS = 8
    TYPE_SIZE = 9
    ENUMVAL_EXISTS = 10
    ENUMVAL_VALUE = 11
    TYPE_MATCHES = 12
