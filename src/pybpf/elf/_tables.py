"""Decoders for the tables inside sections: string tables, symbols, relocations.

Each takes section contents already bounds-checked by the caller and decodes whole records
with ``struct.Struct.iter_unpack`` (no per-byte Python work). Errors name the section and
the file offset of the offending record.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from itertools import accumulate

from pybpf.elf._layout import SHN, STB, STT, STV
from pybpf.elf.records import Relocation, Section, Symbol, new_relocation, new_symbol
from pybpf.errors import ELFError, Location

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    pass

__all__ = ["StringTable", "read_relocations", "read_symbols"]

_LORESERVE = int(SHN.LORESERVE)
_XINDEX = int(SHN.XINDEX)
_SHN = {int(m): m for m in SHN}
_STT = {int(m): m for m in STT}
_STB = {int(m): m for m in STB}
# st_info -> (type, bind), decoded once for all 256 values.
_INFO = tuple((_STT.get(i & 0xF, i & 0xF), _STB.get(i >> 4, i >> 4)) for i in range(256))
_STV = tuple(STV)


def where(sec: Section, offset: int = 0) -> Location:
    """The location of byte ``offset`` of ``sec``, for an error."""
    return Location(sec.name or f"section {sec.index}", offset=sec.offset + offset)


class StringTable:
    """An ELF string table: NUL-terminated UTF-8 strings addressed by byte offset."""

    __slots__ = ("_index", "data", "section")

    def __init__(self, data: bytes, section: Section) -> None:
        self.data = data
        self.section = section
        self._index: dict[int, str] | None = None

    @property
    def index(self) -> dict[int, str]:
        """Offset -> string for every string that starts right after a NUL (or at 0).

        Decoded in one pass (C-level split and accumulate) when first asked; names that
        point into the middle of a string (suffix sharing) are not in it: use :meth:`at`.
        Empty for a non-ASCII table, so that every lookup goes through :meth:`at`'s checks.
        """
        if self._index is None:
            data = self.data
            pieces = data.decode("ascii").split("\0")[:-1] if data.isascii() else []
            starts = accumulate(map((1).__add__, map(len, pieces)), initial=0)
            self._index = dict(zip(starts, pieces, strict=False))
        return self._index

    def at(self, offset: int) -> str:
        """The string at ``offset``.

        Raises:
            ELFError: ``offset`` is outside the table (offset 0 of an empty table is the
                empty string, as the gABI allows), or the string is unterminated or not UTF-8.
        """
        data = self.data
        end = data.find(b"\0", offset) if offset >= 0 else -1
        if end < 0:
            if offset == 0 and not data:
                return ""
            what = "unterminated" if 0 <= offset < len(data) else "outside the table"
            raise ELFError(f"string at {offset:#x} is {what}", where(self.section, offset))
        try:
            return data[offset:end].decode()
        except UnicodeDecodeError as exc:
            raise ELFError(
                f"string at {offset:#x} is not UTF-8", where(self.section, offset)
            ) from exc

    def names(self, offsets: list[int]) -> list[str]:
        """The strings at ``offsets``, in order (the fast path for whole tables)."""
        get = self.index.get
        found = list(map(get, offsets))
        if None in found:
            at = self.at
            pairs = zip(offsets, found, strict=True)
            found = [at(off) if name is None else name for off, name in pairs]
        return found  # type: ignore[return-value]  # (no None left)


def read_symbols(
    data: memoryview,
    layout: struct.Struct,
    strings: StringTable,
    sec: Section,
    xindex: Callable[[Section], Sequence[int]],
) -> list[Symbol]:
    """Decode the ``Elf64_Sym`` records of ``sec`` (contents ``data``).

    ``xindex(sec)`` gives the ``SHT_SYMTAB_SHNDX`` words; it is called only when a symbol's
    ``st_shndx`` is ``SHN_XINDEX``.
    """
    rows = list(layout.iter_unpack(data))
    names = strings.names([row[0] for row in rows])
    out: list[Symbol] = []
    append = out.append
    extended: Sequence[int] | None = None
    for i, (_, info, other, raw_shndx, value, size) in enumerate(rows):
        shndx = raw_shndx
        if shndx >= _LORESERVE:
            if shndx == _XINDEX:
                extended = extended if extended is not None else xindex(sec)
                shndx = _extended_index(extended, i, sec, layout.size)
            else:
                shndx = _SHN.get(shndx, shndx)
        typ, bind = _INFO[info]
        append(new_symbol(names[i], value, size, typ, bind, _STV[other & 3], shndx, i))
    return out


def _extended_index(extended: Sequence[int], i: int, sec: Section, size: int) -> int:
    if i >= len(extended):
        raise ELFError(
            f"symbol {i} uses SHN_XINDEX but SHT_SYMTAB_SHNDX has no entry for it",
            where(sec, i * size),
        )
    return extended[i]


def read_relocations(
    data: memoryview,
    layout: struct.Struct,
    *,
    rela: bool,
    symbols: list[Symbol],
    types: dict[int, int],
    sec: Section,
) -> list[Relocation]:
    """Decode the ``Elf64_Rel`` (or, if ``rela``, ``Elf64_Rela``) records of ``sec``.

    ``types`` maps known relocation type numbers to their enum members.

    Raises:
        ELFError: a record's symbol index is outside ``symbols``.
    """
    out: list[Relocation] = []
    append = out.append
    count = len(symbols)
    rows = layout.iter_unpack(data)
    if rela:
        for off, info, addend in rows:
            sym = info >> 32
            if sym >= count:
                raise _bad_symbol(sec, len(out), layout.size, sym, count)
            kind = info & 0xFFFFFFFF
            append(new_relocation(off, types.get(kind, kind), sym, symbols[sym], addend))
    else:
        for off, info in rows:
            sym = info >> 32
            if sym >= count:
                raise _bad_symbol(sec, len(out), layout.size, sym, count)
            kind = info & 0xFFFFFFFF
            append(new_relocation(off, types.get(kind, kind), sym, symbols[sym]))
    return out


def _bad_symbol(sec: Section, entry: int, size: int, sym: int, count: int) -> ELFError:
    return ELFError(
        f"relocation {entry} names symbol {sym}, but the symbol table has {count}",
        where(sec, entry * size),
    )
