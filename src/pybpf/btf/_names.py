"""Finding a BTF's types by name offset, without building a dictionary up front.

Three arrays, each made on first need (or handed over by :mod:`pybpf.btf.cache`):

- the **name column**: every record's ``name_off``, packed as native u32 in id order, searched
  with C-speed ``bytes.find`` for one offset at a time;
- the **referenced** offsets: the same values sorted, so that a string offset no type uses
  (a name found as the tail of a longer string, say) is ruled out by bisection;
- after :data:`SCANS_BEFORE_DICT` lookups, a dictionary of every name offset, which makes
  later lookups O(1) once its one-time cost (~15 ms for vmlinux) is paid.

And one index that answers a name without searching the strings at all, built on request
(:meth:`NameIndex.build_hashed`, ~0.1 s for vmlinux) and kept by the cache: the **hashed**
index, the CRC-32 of every named type's CO-RE essential name (``task_struct`` for
``task_struct___v2``) sorted, with the record positions beside. A lookup bisects it and checks
the few candidates' names, so it serves both exact names and CO-RE flavors.
"""

from __future__ import annotations

import struct
import zlib
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from functools import cached_property
from operator import itemgetter

from pybpf.btf._index import Words

__all__ = [
    "SCANS_BEFORE_DICT",
    "Hashed",
    "NameIndex",
    "SavedIndex",
    "build_hashed",
    "essential",
    "hashed_positions",
    "name_key",
]

Hashed = tuple[Sequence[int], Sequence[int]]
"""The hashed index: sorted keys, and the record position of each."""
SavedIndex = tuple[Sequence[int], bytes, Sequence[int], "Hashed | None"]
"""What :mod:`pybpf.btf.cache` keeps: offsets, name column, referenced, hashed index."""

SCANS_BEFORE_DICT = 8
"""Offsets looked up by scanning the name column before the dictionary is built."""
_FEW = 8  # offsets searched directly, rather than first sorting the column to rule some out


class NameIndex:
    """Positions (0-based, in id order) of the records with a given ``name_off``."""

    def __init__(
        self,
        words: Words,
        offsets: Sequence[int],
        *,
        column: bytes | None = None,
        referenced: Sequence[int] | None = None,
        hashed: Hashed | None = None,
    ) -> None:
        self._words = words
        self._offsets = offsets
        if column is not None:
            self.__dict__["column"] = column
        if referenced is not None:
            self.__dict__["referenced"] = referenced
        self.hashed = hashed
        """``(sorted keys, positions)``: see :meth:`build_hashed`; ``None`` until built."""
        self._scans = 0
        self._dict: dict[int, list[int]] | None = None

    @cached_property
    def column(self) -> bytes:
        """Every record's ``name_off`` as packed native u32 (4 bytes per type)."""
        offsets, words = self._offsets, self._words
        if not offsets:
            return b""
        if len(offsets) == 1:
            return struct.pack("=I", words[offsets[0]])
        return array("I", itemgetter(*offsets)(words)).tobytes()

    @cached_property
    def referenced(self) -> Sequence[int]:
        """Every ``name_off`` in use, sorted (with repeats)."""
        values = array("I")
        values.frombytes(self.column)
        return array("I", sorted(values))

    def count(self, name_off: int) -> int:
        """How many records have this ``name_off``."""
        refs = self.referenced
        return bisect_right(refs, name_off) - bisect_left(refs, name_off)

    def positions(self, name_offsets: list[int]) -> list[int]:
        """Positions of the records whose ``name_off`` is any of ``name_offsets``, sorted."""
        wanted: dict[int, int | None] = dict.fromkeys(name_offsets)
        if len(wanted) > _FEW or "referenced" in self.__dict__:
            # Counting rules out unused offsets, and lets a scan stop at the last use.
            wanted = {off: n for off in wanted if (n := self.count(off))}
        if self._dict is None and self._scans + len(wanted) > SCANS_BEFORE_DICT:
            self._dict = self._build_dict()
        if self._dict is not None:
            found = [i for off in wanted for i in self._dict.get(off, ())]
        else:
            self._scans += len(wanted)
            found = [i for off, n in wanted.items() for i in _find(self.column, off, n)]
        return sorted(found)

    def _build_dict(self) -> dict[int, list[int]]:
        by_off: dict[int, list[int]] = {}
        values = array("I")
        values.frombytes(self.column)
        for i, off in enumerate(values):
            entry = by_off.get(off)
            if entry is None:
                by_off[off] = [i]
            else:
                entry.append(i)
        return by_off


def _find(column: bytes, value: int, count: int | None = None) -> list[int]:
    """Positions (in u32 items) of ``value`` in a packed native u32 column (the first
    ``count`` of them, when the count is known)."""
    needle = struct.pack("=I", value)
    found: list[int] = []
    at = column.find(needle)
    while at >= 0 and len(found) != count:
        if at % 4 == 0:
            found.append(at // 4)
            at = column.find(needle, at + 4)
        else:
            at = column.find(needle, at + 1)
    return found


def essential(name: str) -> str:
    """libbpf's CO-RE essential name: ``name`` without its last ``___flavor`` suffix
    (``bpf_core_essential_name_len``: a separator is ``x___y``, x and y not ``_``)."""
    if "___" not in name:
        return name
    for i in range(len(name) - 5, -1, -1):
        if name[i] != "_" and name[i + 1 : i + 4] == "___" and name[i + 4] != "_":
            return name[: i + 1]
    return name


def name_key(name: str) -> int:
    """The hashed index's key of a name: the CRC-32 of its essential name."""
    return zlib.crc32(essential(name).encode("utf-8", "surrogateescape"))


def build_hashed(column: bytes, string: Callable[[int], str]) -> tuple[array[int], array[int]]:
    """The hashed index of a name column: keys sorted, with the record positions beside.

    ``string(name_off)`` returns a name (raising ``KeyError`` for a bad offset, which leaves
    that record out: it cannot be found by any name).
    """
    names = array("I")
    names.frombytes(column)
    keys: dict[int, int] = {}
    pairs = []
    for pos, off in enumerate(names):
        if not off:
            continue
        key = keys.get(off)
        if key is None:
            try:
                key = keys[off] = name_key(string(off))
            except KeyError:
                continue
        pairs.append((key << 32) | pos)
    pairs.sort()
    return array("I", [p >> 32 for p in pairs]), array("I", [p & 0xFFFFFFFF for p in pairs])


def hashed_positions(hashed: Hashed, key: int) -> Sequence[int]:
    """Positions of the records whose name has this key (candidates: names may collide)."""
    keys, positions = hashed
    return positions[bisect_left(keys, key) : bisect_right(keys, key)]
