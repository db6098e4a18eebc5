"""``.BTF.ext``: per-instruction BTF information (func_info, line_info, CO-RE relocations).

Layout (libbpf's ``struct btf_ext_header`` in ``tools/lib/bpf/libbpf_internal.h``; offsets
count from the end of the header)::

    +------------------------+  0
    | magic 0xeB9F (u16)     |  its byte order is the section's
    | version 1, flags 0     |
    | hdr_len                |  24, or 32 with the CO-RE relocation part
    | func_info_off/_len     |
    | line_info_off/_len     |
    | core_relo_off/_len     |  (only when hdr_len >= 32)
    +------------------------+  hdr_len
    | subsection:            |  u32 rec_size, then blocks until its _len:
    |   sec_name_off (u32)   |    the ELF section the records are about
    |   num_info (u32)       |
    |   num_info records     |    rec_size bytes each (extra bytes past the known fields
    +------------------------+    are allowed and ignored, as libbpf does)

    func_info  { insn_off, type_id }                          (a FUNC of .BTF)
    line_info  { insn_off, file_name_off, line_off, line_col } (line_col = line << 10 | col)
    core_relo  { insn_off, type_id, access_str_off, kind }    (struct bpf_core_relo, uapi bpf.h)

``insn_off`` is a byte offset into the section named by the block (libbpf divides it by 8).
Strings are in the ``.BTF`` string section.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Mapping

from pybpf._records import immutable
from pybpf.btf._btf import BTF
from pybpf.btf.encode import StringTable
from pybpf.btf.kinds import BTF_MAGIC, BTF_VERSION, ByteOrder, CoreReloKind
from pybpf.errors import BTFError, Location

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from typing import TypeVar

    R = TypeVar("R")

__all__ = ["BTFExt", "CoreRelo", "CoreReloKind", "FuncInfo", "LineInfo", "encode_ext"]


@immutable
class FuncInfo:
    """A function starting at byte ``insn_off`` of its section, of BTF type ``type_id``."""

    insn_off: int
    type_id: int

    @property
    def insn(self) -> int:
        """The instruction index (``insn_off // 8``)."""
        return self.insn_off // 8


@immutable
class LineInfo:
    """The source position of the instruction at byte ``insn_off``.

    ``file_name`` and ``line_text`` (the source line itself) are the strings at
    ``file_name_off`` and ``line_off``.
    """

    insn_off: int
    file_name_off: int
    line_off: int
    line_col: int
    file_name: str
    line_text: str

    @property
    def insn(self) -> int:
        return self.insn_off // 8

    @property
    def line_num(self) -> int:
        """The 1-based source line number (``line_col >> 10``)."""
        return self.line_col >> 10

    @property
    def column(self) -> int:
        """The source column (``line_col & 0x3ff``)."""
        return self.line_col & 0x3FF


@immutable
class CoreRelo:
    """``struct bpf_core_relo``: relocate the instruction at byte ``insn_off`` for the access
    ``access_str`` (``"0:1:2"``: indexes into ``type_id``), as ``kind`` says."""

    insn_off: int
    type_id: int
    access_str_off: int
    kind: CoreReloKind | int
    access_str: str

    @property
    def insn(self) -> int:
        return self.insn_off // 8


_KINDS = {k.value: k for k in CoreReloKind}
_MIN_REC = {"func_info": 8, "line_info": 16, "core_relo": 16}


class BTFExt:
    """A parsed ``.BTF.ext`` section; names resolve through ``btf`` (the ``.BTF`` section).

    ``func_info``, ``line_info`` and ``core_relos`` map each ELF section name to its records,
    in file order. Both byte orders are read (the magic tells which).

    Raises:
        BTFError: truncated or inconsistent data (libbpf's checks: alignment, record sizes,
            empty blocks, bounds), or string offsets outside ``btf``'s strings; it names the
            section and the byte offset.
    """

    def __init__(
        self, data: bytes | bytearray | memoryview, btf: BTF, *, name: str = ".BTF.ext"
    ) -> None:
        self._data = memoryview(data).cast("B").toreadonly()
        self.source = name
        self.btf = btf
        self.byteorder: ByteOrder = self._magic()
        fields = self._header()
        self.hdr_len = fields[0]
        self.rec_sizes: dict[str, int] = {}
        self.func_info = self._section("func_info", fields[1], fields[2], _func_info)
        self.line_info = self._section("line_info", fields[3], fields[4], _line_info)
        self.core_relos: dict[str, tuple[CoreRelo, ...]] = {}
        if self.hdr_len >= 32:
            self.core_relos = self._section("core_relo", fields[5], fields[6], _core_relo)

    def __repr__(self) -> str:
        counts = (sum(map(len, s.values())) for s in (self.func_info, self.line_info))
        funcs, lines = counts
        relos = sum(map(len, self.core_relos.values()))
        return f"<BTFExt {self.source}: {funcs} funcs, {lines} lines, {relos} CO-RE relos>"

    def _error(self, reason: str, offset: int) -> BTFError:
        return BTFError(reason, Location(self.source, offset=offset))

    def _magic(self) -> ByteOrder:
        if len(self._data) < 8:
            raise self._error(f"truncated header ({len(self._data)} bytes)", 0)
        head = bytes(self._data[:2])
        if head == BTF_MAGIC.to_bytes(2, "little"):
            return "little"
        if head == BTF_MAGIC.to_bytes(2, "big"):
            return "big"
        raise self._error(f"bad magic {head.hex()} (want eb9f)", 0)

    def _u32s(self, offset: int, count: int) -> tuple[int, ...]:
        fmt = ("<" if self.byteorder == "little" else ">") + f"{count}I"
        return struct.unpack_from(fmt, self._data, offset)

    def _header(self) -> tuple[int, ...]:
        version, flags = self._data[2], self._data[3]
        (hdr_len,) = self._u32s(4, 1)
        if version != BTF_VERSION or flags:
            raise self._error(f"unsupported version {version} or flags {flags:#x}", 2)
        if hdr_len < 24 or hdr_len > len(self._data):
            raise self._error(f"header length {hdr_len} outside 24..{len(self._data)}", 4)
        if hdr_len == len(self._data):
            raise self._error("no data after the header", hdr_len)
        count = 6 if hdr_len >= 32 else 4
        return (hdr_len, *self._u32s(8, count))

    def _section(
        self, what: str, off: int, length: int, make: Callable[[BTFExt, tuple[int, ...], int], R]
    ) -> dict[str, tuple[R, ...]]:
        """Parse one subsection into ``{section name: records}``."""
        if length == 0:
            return {}
        start = self.hdr_len + off
        if off % 4:
            raise self._error(f"{what} subsection is not 4-byte aligned", start)
        if start + length > len(self._data) or length < 4:
            raise self._error(f"{what} subsection ({off:#x}+{length:#x}) out of bounds", start)
        (rec_size,) = self._u32s(start, 1)
        if rec_size < _MIN_REC[what] or rec_size % 4:
            raise self._error(f"{what} record size {rec_size} is invalid", start)
        if length == 4:
            raise self._error(f"{what} subsection has no records", start)
        self.rec_sizes[what] = rec_size
        out: dict[str, tuple[R, ...]] = {}
        at, end = start + 4, start + length
        while at < end:
            name, records, at = self._block(what, at, end, rec_size, make)
            out[name] = out.get(name, ()) + records
        return out

    def _block(
        self,
        what: str,
        at: int,
        end: int,
        rec_size: int,
        make: Callable[[BTFExt, tuple[int, ...], int], R],
    ) -> tuple[str, tuple[R, ...], int]:
        if end - at < 8:
            raise self._error(f"{what} block header truncated", at)
        name_off, count = self._u32s(at, 2)
        if count == 0 or 8 + count * rec_size > end - at:
            raise self._error(f"{what} block has a bad record count {count}", at + 4)
        name = self.string(name_off, at)
        nfields = _MIN_REC[what] // 4
        records = tuple(
            make(self, self._u32s(rec, nfields), rec)
            for rec in range(at + 8, at + 8 + count * rec_size, rec_size)
        )
        return name, records, at + 8 + count * rec_size

    def string(self, offset: int, at: int) -> str:
        """The ``.BTF`` string at ``offset``, for the field at byte ``at`` of this section."""
        try:
            return self.btf.string(offset)
        except KeyError:
            raise self._error(f"string offset {offset:#x} is outside .BTF's strings", at) from None

    def encode(self, strings: StringTable | None = None) -> bytes:
        """This section re-encoded (see :func:`encode_ext`); strings must already be in
        ``btf``'s string section unless a ``strings`` table to add them to is given."""
        table = strings or StringTable(self.btf.strings, base=self.btf.base)
        return encode_ext(
            self.func_info, self.line_info, self.core_relos, table, byteorder=self.byteorder
        )


def _func_info(ext: BTFExt, f: tuple[int, ...], at: int) -> FuncInfo:
    if f[1] >= len(ext.btf):
        raise ext._error(f"func_info refers to type {f[1]}, beyond the last", at + 4)
    return FuncInfo(f[0], f[1])


def _line_info(ext: BTFExt, f: tuple[int, ...], at: int) -> LineInfo:
    file_name = ext.string(f[1], at + 4)
    return LineInfo(f[0], f[1], f[2], f[3], file_name, ext.string(f[2], at + 8))


def _core_relo(ext: BTFExt, f: tuple[int, ...], at: int) -> CoreRelo:
    if f[1] >= len(ext.btf):
        raise ext._error(f"CO-RE relocation refers to type {f[1]}, beyond the last", at + 4)
    access = ext.string(f[2], at + 8)
    return CoreRelo(f[0], f[1], f[2], _KINDS.get(f[3], f[3]), access)


def encode_ext(
    func_info: Mapping[str, Iterable[FuncInfo]],
    line_info: Mapping[str, Iterable[LineInfo]],
    core_relos: Mapping[str, Iterable[CoreRelo]],
    strings: StringTable,
    *,
    byteorder: ByteOrder = "little",
) -> bytes:
    """Encode ``.BTF.ext`` (header of 32 bytes, then the three subsections).

    Section names, file names, source lines and access strings are added to ``strings``
    (the ``.BTF`` string table being built), so write ``.BTF`` after this.
    """
    e = "<" if byteorder == "little" else ">"
    blobs = [
        _subsection(func_info, 8, lambda r: (r.insn_off, r.type_id), strings, e),
        _subsection(
            line_info,
            16,
            lambda r: (r.insn_off, strings.add(r.file_name), strings.add(r.line_text), r.line_col),
            strings,
            e,
        ),
        _subsection(
            core_relos,
            16,
            lambda r: (r.insn_off, r.type_id, strings.add(r.access_str), int(r.kind)),
            strings,
            e,
        ),
    ]
    offsets: list[int] = []
    off = 0
    for blob in blobs:
        offsets += (off, len(blob))
        off += len(blob)
    header = struct.pack(e + "HBBI6I", BTF_MAGIC, BTF_VERSION, 0, 32, *offsets)
    return header + b"".join(blobs)


def _subsection(
    sections: Mapping[str, Iterable[R]],
    rec_size: int,
    fields: Callable[[R], tuple[int, ...]],
    strings: StringTable,
    e: str,
) -> bytes:
    blocks = []
    for name, records in sections.items():
        rows = [fields(r) for r in records]
        if rows:
            packed = b"".join(struct.pack(f"{e}{rec_size // 4}I", *row) for row in rows)
            blocks.append(struct.pack(e + "2I", strings.add(name), len(rows)) + packed)
    return struct.pack(e + "I", rec_size) + b"".join(blocks) if blocks else b""
