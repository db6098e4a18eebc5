"""Fast paths of two :mod:`pybpf.btf.layout` walks, for the hot loop of relocation.

Most types CO-RE looks at are already what the walk would return (a struct, an int, a
pointer), so the common case costs one lookup and one ``isinstance``; the rest goes to the
layout functions, which bound loops and follow libbpf's rules.
"""

from __future__ import annotations

from pybpf.btf._btf import BTF
from pybpf.btf.layout import resolve_size, skip_mods_and_typedefs
from pybpf.btf.types import Composite, EnumType, Float, Int, Modifier, Type, Typedef

__all__ = ["size_of", "skip"]

_WRAPPERS = (Typedef, Modifier)
_SIZED = (Int, Composite, EnumType, Float)


def skip(btf: BTF, type_id: int) -> tuple[int, Type]:
    """:func:`~pybpf.btf.layout.skip_mods_and_typedefs`."""
    t = btf[type_id]
    if isinstance(t, _WRAPPERS):
        return skip_mods_and_typedefs(btf, type_id)
    return type_id, t


def size_of(btf: BTF, type_id: int) -> int:
    """:func:`~pybpf.btf.layout.resolve_size` (-1: no size)."""
    t = btf[type_id]
    if isinstance(t, _SIZED):
        size: int = t.size
        return size
    return resolve_size(btf, type_id)
