"""A tiny BTF writer for CO-RE tests: build local and target BTF by hand, get raw bytes.

Independent of pybpf's own encoder on purpose: the tests check the relocation engine against
BTF whose every word is written here, following the kernel's include/uapi/linux/btf.h.

    b = BTFBuilder()
    u32 = b.int("unsigned int", 4)
    s = b.struct("s", 8, [("a", u32, 0), ("b", u32, 32)])
    btf = b.build()
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from pybpf.btf._btf import BTF

_KIND = {
    "int": 1,
    "ptr": 2,
    "array": 3,
    "struct": 4,
    "union": 5,
    "enum": 6,
    "fwd": 7,
    "typedef": 8,
    "volatile": 9,
    "const": 10,
    "restrict": 11,
    "func": 12,
    "func_proto": 13,
    "float": 16,
    "type_tag": 18,
    "enum64": 19,
}

Member = tuple[str, int, int] | tuple[str, int, int, int]
"""(name, type id, bit offset[, bitfield size])."""


class BTFBuilder:
    """Appends types (ids from 1, or after ``base`` for split BTF) and encodes them."""

    def __init__(self, byteorder: str = "little", base: BTF | None = None) -> None:
        self.order = "<" if byteorder == "little" else ">"
        self.byteorder = byteorder
        self.base = base
        self.first_id = len(base) if base is not None else 1
        self.records: list[list[int]] = []
        self.strings = bytearray(b"\0") if base is None else bytearray()
        self.str_base = base.strings_end if base is not None else 0
        self._offsets: dict[str, int] = {"": 0}

    # -- strings and records ---------------------------------------------------------------
    def name(self, text: str) -> int:
        if text not in self._offsets:
            self._offsets[text] = self.str_base + len(self.strings)
            self.strings += text.encode() + b"\0"
        return self._offsets[text]

    def _add(self, words: list[int]) -> int:
        self.records.append(words)
        return self.first_id + len(self.records) - 1

    def _info(self, kind: str, vlen: int = 0, kflag: bool = False) -> int:
        return (int(kflag) << 31) | (_KIND[kind] << 24) | vlen

    # -- kinds -----------------------------------------------------------------------------
    def int(
        self,
        name: str,
        size: int,
        *,
        signed: bool = False,
        encoding: int | None = None,
        bits_offset: int = 0,
        nr_bits: int | None = None,
    ) -> int:
        enc = encoding if encoding is not None else int(signed)
        bits = nr_bits if nr_bits is not None else size * 8
        extra = (enc << 24) | (bits_offset << 16) | bits
        return self._add([self.name(name), self._info("int"), size, extra])

    def float(self, name: str, size: int) -> int:
        return self._add([self.name(name), self._info("float"), size])

    def ptr(self, to: int) -> int:
        return self._add([0, self._info("ptr"), to])

    def ref(self, kind: str, to: int, name: str = "") -> int:
        """typedef, const, volatile, restrict or type_tag of ``to``."""
        return self._add([self.name(name), self._info(kind), to])

    def typedef(self, name: str, to: int) -> int:
        return self.ref("typedef", to, name)

    def const(self, to: int) -> int:
        return self.ref("const", to)

    def array(self, elem: int, nelems: int, index: int | None = None) -> int:
        idx = index if index is not None else elem
        return self._add([0, self._info("array"), 0, elem, idx, nelems])

    def struct(
        self, name: str, size: int, members: Sequence[Member] = (), *, union: bool = False
    ) -> int:
        words = self._composite(name, size, members, union)
        return self._add(words)

    def union(self, name: str, size: int, members: Sequence[Member] = ()) -> int:
        return self.struct(name, size, members, union=True)

    def set_members(self, type_id: int, members: Sequence[Member]) -> None:
        """Fill a struct/union added earlier (for types that refer to themselves)."""
        old = self.records[type_id - self.first_id]
        union = (old[1] >> 24) & 0x1F == _KIND["union"]
        name = next((k for k, v in self._offsets.items() if v == old[0]), "")
        self.records[type_id - self.first_id] = self._composite(name, old[2], members, union)

    def _composite(self, name: str, size: int, members: Sequence[Member], union: bool) -> list[int]:
        kflag = any(len(m) == 4 and m[3] for m in members)
        words = [self.name(name), self._info("union" if union else "struct", len(members), kflag)]
        words.append(size)
        for m in members:
            bits = m[3] if len(m) == 4 else 0
            off = (bits << 24) | m[2] if kflag else m[2]
            words += [self.name(m[0]), m[1], off]
        return words

    def enum(
        self, name: str, size: int, values: Sequence[tuple[str, int]], *, signed: bool = False
    ) -> int:
        words = [self.name(name), self._info("enum", len(values), signed), size]
        for vname, value in values:
            words += [self.name(vname), value & 0xFFFFFFFF]
        return self._add(words)

    def enum64(
        self, name: str, size: int, values: Sequence[tuple[str, int]], *, signed: bool = False
    ) -> int:
        words = [self.name(name), self._info("enum64", len(values), signed), size]
        for vname, value in values:
            v = value & 0xFFFFFFFFFFFFFFFF
            words += [self.name(vname), v & 0xFFFFFFFF, v >> 32]
        return self._add(words)

    def fwd(self, name: str, *, union: bool = False) -> int:
        return self._add([self.name(name), self._info("fwd", 0, union), 0])

    def func_proto(self, ret: int, params: Sequence[int]) -> int:
        words = [0, self._info("func_proto", len(params)), ret]
        for p in params:
            words += [0, p]
        return self._add(words)

    def func(self, name: str, proto: int) -> int:
        return self._add([self.name(name), self._info("func", 1), proto])

    # -- output ----------------------------------------------------------------------------
    def encode(self) -> bytes:
        words = [w for rec in self.records for w in rec]
        types = struct.pack(f"{self.order}{len(words)}I", *words)
        strings = bytes(self.strings)
        header = struct.pack(
            f"{self.order}HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(strings)
        )
        return header + types + strings

    def build(self, name: str = "test.BTF") -> BTF:
        return BTF(self.encode(), base=self.base, name=name, pointer_size=8)


def program(
    btf: BTF,
    insns: Sequence[object],
    relos: Sequence[object],
    *,
    name: str = "prog",
    byte_order: str = "little",
) -> object:
    """A ProgramSpec with these instructions and CO-RE relocations on ``btf``."""
    from pybpf._uapi import ProgType
    from pybpf.spec.specs import ProgramSpec

    return ProgramSpec(
        name=name,
        type=ProgType.RAW_TRACEPOINT,
        instructions=list(insns),  # type: ignore[arg-type]
        btf=btf,
        core_relos=list(relos),  # type: ignore[arg-type]
        byte_order=byte_order,  # type: ignore[arg-type]
    )


# -- a small "kernel" and a program's local view of it -------------------------------------
#
# Target (kernel) layout, in bytes:            Local (program) layout:
#   task_struct (64)                            task_struct (56)
#     0  flags        u32                         0  pid        int
#     4  { pid int; tgid int }   anonymous        4  tgid       int
#    16  { __state u64 | stamp u64 } anonymous    8  flags      u32
#    24  mm           struct mm_struct *         16  mm         struct mm_struct *
#    32  comm         char[16]                   24  comm       char[16]
#    48  in_execve:1  u32 (bit 384)              40  in_execve:1 u32 (bit 320)
#        in_iowait:1  u32 (bit 389)                  in_iowait:1 u32 (bit 321)
#        prio:7       int (bit 390)                  prio:7      int (bit 322)
#    52  small        u16                        44  small      u32
#    54  nice         s16                        48  nice       int
#    56  tail         u32                        52  tail       u32
#   mm_struct (16): 0 pad u64, 8 start_code u64  mm_struct (8): 0 start_code u64


def kernel_btf(byteorder: str = "little") -> tuple[BTF, dict[str, int]]:
    """The target BTF above, plus enums; returns it with its ids by name."""
    k = BTFBuilder(byteorder)
    ids: dict[str, int] = {}
    s32 = ids["int"] = k.int("int", 4, signed=True)
    u32 = ids["u32"] = k.int("unsigned int", 4)
    u64 = ids["u64"] = k.int("long long unsigned int", 8)
    u16 = k.int("short unsigned int", 2)
    s16 = k.int("short int", 2, signed=True)
    char = k.int("char", 1, signed=True)
    mm = ids["mm_struct"] = k.struct("mm_struct", 16, [("pad", u64, 0), ("start_code", u64, 64)])
    comm = k.array(char, 16)
    anon_ids = k.struct("", 8, [("pid", s32, 0), ("tgid", s32, 32)])
    anon_state = k.union("", 8, [("__state", u64, 0), ("stamp", u64, 0)])
    ids["task_struct"] = k.struct(
        "task_struct",
        64,
        [
            ("flags", u32, 0),
            ("", anon_ids, 32),
            ("", anon_state, 128),
            ("mm", k.ptr(mm), 192),
            ("comm", comm, 256),
            ("in_execve", u32, 384, 1),
            ("in_iowait", u32, 389, 1),
            ("prio", s32, 390, 7),
            ("small", u16, 416),
            ("nice", s16, 432),
            ("tail", u32, 448),
        ],
    )
    ids["pid_type"] = k.enum(
        "pid_type", 4, [("PIDTYPE_PID", 0), ("PIDTYPE_TGID", 1), ("PIDTYPE_SID", 3)]
    )
    ids["neg_enum"] = k.enum("neg_enum", 4, [("NEG_ONE", -1), ("NEG_TWO", -2)], signed=True)
    ids["high_enum"] = k.enum("high_enum", 4, [("HIGH", 0x80000000)])
    ids["big_enum"] = k.enum64("big_enum", 8, [("BIG_A", 1 << 40), ("BIG_B", 5)])
    return k.build("vmlinux"), ids


def local_btf(byteorder: str = "little") -> tuple[BTF, dict[str, int]]:
    """The program's BTF above (with flavors, enums and a few types the kernel lacks)."""
    b = BTFBuilder(byteorder)
    ids: dict[str, int] = {}
    s32 = ids["int"] = b.int("int", 4, signed=True)
    u32 = b.int("unsigned int", 4)
    u64 = b.int("long long unsigned int", 8)
    char = b.int("char", 1, signed=True)
    mm = ids["mm_struct"] = b.struct("mm_struct", 8, [("start_code", u64, 0)])
    ids["task_struct"] = b.struct(
        "task_struct",
        56,
        [
            ("pid", s32, 0),
            ("tgid", s32, 32),
            ("flags", u32, 64),
            ("mm", b.ptr(mm), 128),
            ("comm", b.array(char, 16), 192),
            ("in_execve", u32, 320, 1),
            ("in_iowait", u32, 321, 1),
            ("prio", s32, 322, 7),
            ("small", u32, 352),
            ("nice", s32, 384),
            ("tail", u32, 416),
        ],
    )
    ids["task_struct___old"] = b.struct("task_struct___old", 8, [("state", u64, 0)])
    ids["task_struct___new"] = b.struct("task_struct___new", 8, [("__state", u64, 0)])
    ids["task_t"] = b.typedef("task_t", ids["task_struct"])
    ids["nothing_here"] = b.struct("nothing_here", 4, [("x", s32, 0)])
    ids["mm_struct___match"] = b.struct("mm_struct___match", 8, [("start_code", u64, 0)])
    ids["mm_struct___nomatch"] = b.struct("mm_struct___nomatch", 4, [("start_code", u32, 0)])
    ids["pid_type___local"] = b.enum(
        "pid_type___local",
        4,
        [("PIDTYPE_TGID___local", 101), ("PIDTYPE_SID___local", 103), ("PIDTYPE_MISSING", 104)],
    )
    ids["neg_enum"] = b.enum("neg_enum", 4, [("NEG_ONE", 7)])
    ids["high_enum"] = b.enum("high_enum", 4, [("HIGH", 1)])
    ids["big_enum"] = b.enum64("big_enum", 8, [("BIG_A", 2)])
    ids["big_enum___32"] = b.enum("big_enum___32", 4, [("BIG_B", 9)])
    return b.build("prog.BTF"), ids
