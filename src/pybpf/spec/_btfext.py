"""``.BTF.ext`` records re-based on linked programs, read lazily.

``.BTF.ext`` keeps func_info, line_info and CO-RE records per ELF section, each naming the
byte offset of its instruction in that section (see :mod:`pybpf.btf.ext` for the layout). A
linked program is its functions laid end to end (:mod:`pybpf.spec._linker`), so the records
of a function move with it, as libbpf's ``adjust_prog_btf_ext_info`` moves them::

    record of section S at byte b, inside function f (slots f.start .. f.start+f.count)
    f appended to the program at slot base   ->   record at slot b // 8 - f.start + base

Opening an object only indexes the blocks of each subsection (a few per section, checked
for bounds); the records of a section are decoded when a program's records are first read.
A 650 KB object has 4,000 line records: decoding them all would cost more than the rest of
the object together.
"""

from __future__ import annotations

import struct
from bisect import bisect_left
from collections.abc import Callable

from pybpf.btf._btf import BTF
from pybpf.btf.kinds import BTF_MAGIC, BTF_VERSION
from pybpf.errors import BTFError, Location
from pybpf.spec._programs import INSN, Function
from pybpf.spec.specs import CoreRelo, CoreReloKind, FuncInfo, LineInfo

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from typing import TypeVar

    _R = TypeVar("_R")

__all__ = ["ExtIndex"]


# subsection -> (u32 fields of a record that are read, smallest record size)
_FIELDS = {"func_info": 2, "line_info": 4, "core_relo": 4}
_KINDS = {k.value: k for k in CoreReloKind}

Row = tuple[int, ...]  # the byte offset of the record in .BTF.ext, then its fields


class ExtIndex:
    """The block table of a ``.BTF.ext`` section: per subsection, per ELF section, where the
    records are.

    Raises:
        BTFError: bad magic, version or header; a subsection or block out of bounds; a bad
            record size or count; a block naming a string outside ``.BTF``.
    """

    def __init__(self, data: memoryview, btf: BTF, source: str) -> None:
        self.data = data
        self.btf = btf
        self.source = source
        if len(data) < 8:
            raise self._error(f"truncated header ({len(data)} bytes)", 0)
        magic = bytes(data[:2])
        little = magic == BTF_MAGIC.to_bytes(2, "little")
        if not little and magic != BTF_MAGIC.to_bytes(2, "big"):
            raise self._error(f"bad magic {magic.hex()} (want eb9f)", 0)
        self.order = "<" if little else ">"
        self.blocks: dict[str, dict[str, list[tuple[int, int]]]] = {}
        self.rec_size: dict[str, int] = {}
        self._rows: dict[tuple[str, str], tuple[list[int], list[Row]]] = {}
        for what, off, length in self._header():
            self.blocks[what] = self._subsection(what, off, length)

    def _error(self, reason: str, offset: int) -> BTFError:
        return BTFError(reason, Location(self.source, offset=offset))

    def _u32s(self, at: int, count: int) -> tuple[int, ...]:
        return struct.unpack_from(f"{self.order}{count}I", self.data, at)

    def _header(self) -> list[tuple[str, int, int]]:
        version, flags = self.data[2], self.data[3]
        if version != BTF_VERSION or flags:
            raise self._error(f"unsupported version {version} or flags {flags:#x}", 2)
        (hdr_len,) = self._u32s(4, 1)
        if hdr_len < 24 or hdr_len > len(self.data):
            raise self._error(f"header length {hdr_len} outside 24..{len(self.data)}", 4)
        self.hdr_len = hdr_len
        fields = self._u32s(8, 6 if hdr_len >= 32 else 4)
        names = ("func_info", "line_info", "core_relo")
        return [(names[i], fields[2 * i], fields[2 * i + 1]) for i in range(len(fields) // 2)]

    def _subsection(self, what: str, off: int, length: int) -> dict[str, list[tuple[int, int]]]:
        found: dict[str, list[tuple[int, int]]] = {}
        if length == 0:
            return found
        start = self.hdr_len + off
        if off % 4 or length < 4 or start + length > len(self.data):
            raise self._error(f"{what} subsection ({off:#x}+{length:#x}) out of bounds", start)
        (rec_size,) = self._u32s(start, 1)
        if rec_size < 4 * _FIELDS[what] or rec_size % 4:
            raise self._error(f"{what} record size {rec_size} is invalid", start)
        self.rec_size[what] = rec_size
        at, end = start + 4, start + length
        while at < end:
            if end - at < 8:
                raise self._error(f"{what} block header truncated", at)
            name_off, count = self._u32s(at, 2)
            if count == 0 or count * rec_size > end - at - 8:
                raise self._error(f"{what} block has a bad record count {count}", at + 4)
            found.setdefault(self._string(name_off, at), []).append((at + 8, count))
            at += 8 + count * rec_size
        return found

    def _string(self, offset: int, at: int) -> str:
        try:
            return self.btf.string(offset)
        except KeyError:
            raise self._error(f"string offset {offset:#x} is outside .BTF's strings", at) from None

    # -- records ---------------------------------------------------------------------------
    def _section_rows(self, what: str, section: str) -> tuple[list[int], list[Row]]:
        """The records of one ELF section, sorted by instruction offset, with the offsets."""
        key = (what, section)
        found = self._rows.get(key)
        if found is None:
            rows: list[Row] = []
            size, nfields = self.rec_size.get(what, 0), _FIELDS[what]
            unpack = struct.Struct(f"{self.order}{nfields}I").unpack_from
            for first, count in self.blocks.get(what, {}).get(section, ()):
                for at in range(first, first + count * size, size):
                    rows.append((at, *unpack(self.data, at)))
            rows.sort(key=lambda row: row[1])
            found = self._rows[key] = ([row[1] for row in rows], rows)
        return found

    def _rebased(
        self,
        what: str,
        order: tuple[tuple[Function, int], ...],
        make: Callable[[Row, int], _R],
    ) -> list[_R]:
        out: list[_R] = []
        for func, base in order:
            offs, rows = self._section_rows(what, func.section.name)
            lo = bisect_left(offs, func.start * INSN)
            hi = bisect_left(offs, (func.start + func.count) * INSN)
            for row in rows[lo:hi]:
                if row[1] % INSN:
                    raise self._error(f"{what} record at byte {row[1]} of an instruction", row[0])
                out.append(make(row, row[1] // INSN - func.start + base))
        return out

    def none_in(self, what: str, order: tuple[tuple[Function, int], ...]) -> bool:
        """Whether no function of ``order`` lies in a section with ``what`` records (so the
        linked program has none), known without decoding any."""
        by_section = self.blocks.get(what, {})
        return all(func.section.name not in by_section for func, _ in order)

    def func_info(self, order: tuple[tuple[Function, int], ...]) -> list[FuncInfo]:
        """The func_info of a linked program.

        Raises:
            BTFError: a record off an instruction boundary or naming a type not in ``.BTF``.
        """
        return self._rebased("func_info", order, self._func_info)

    def _func_info(self, row: Row, slot: int) -> FuncInfo:
        if row[2] >= len(self.btf):
            raise self._error(f"func_info refers to type {row[2]}, beyond the last", row[0] + 4)
        return FuncInfo(slot, row[2])

    def line_info(self, order: tuple[tuple[Function, int], ...]) -> list[LineInfo]:
        """The line_info of a linked program.

        Raises:
            BTFError: a record off an instruction boundary or naming a string not in ``.BTF``.
        """
        return self._rebased("line_info", order, self._line_info)

    def _line_info(self, row: Row, slot: int) -> LineInfo:
        at, _, file_off, line_off, line_col = row
        end = self.btf.strings_end
        if file_off >= end or line_off >= end:
            raise self._error("line_info names a string outside .BTF's strings", at + 4)
        return LineInfo(slot, file_off, line_off, line_col >> 10, line_col & 0x3FF)

    def core_relos(self, order: tuple[tuple[Function, int], ...]) -> list[CoreRelo]:
        """The CO-RE relocation records of a linked program.

        Raises:
            BTFError: a record off an instruction boundary, of an unknown kind, naming a
                type or string not in ``.BTF``.
        """
        return self._rebased("core_relo", order, self._core_relo)

    def _core_relo(self, row: Row, slot: int) -> CoreRelo:
        at, _, type_id, access_off, kind = row
        if type_id >= len(self.btf):
            raise self._error(f"CO-RE record refers to type {type_id}, beyond the last", at + 4)
        if kind not in _KINDS:
            raise self._error(f"CO-RE record of unknown kind {kind}", at + 12)
        return CoreRelo(slot, type_id, self._string(access_off, at + 8), _KINDS[kind])

    def counts(self) -> dict[str, int]:
        """How many records each subsection holds (without decoding them)."""
        return {
            what: sum(count for blocks in by_sec.values() for _, count in blocks)
            for what, by_sec in self.blocks.items()
        }
