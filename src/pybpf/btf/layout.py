"""Sizes, alignments and member walks over a :class:`~pybpf.btf.BTF` (what CO-RE needs).

The rules are libbpf's (``btf__resolve_size``, ``btf__align_of``, ``skip_mods_and_typedefs``
in ``tools/lib/bpf/btf.c``), so that layouts computed here agree with libbpf's and with the
C that :mod:`pybpf.btf._format_c` prints. Every walk is bounded: a chain of references that
loops raises :class:`~pybpf.errors.BTFError` instead of hanging.
"""

from __future__ import annotations

from collections.abc import Iterator

from pybpf.btf.types import (
    Array,
    Composite,
    Datasec,
    DeclTag,
    EnumType,
    Float,
    Int,
    Member,
    Modifier,
    Ptr,
    Ref,
    Type,
    Typedef,
    Var,
)
from pybpf.errors import BTFError, Location

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from pybpf.btf._btf import BTF

__all__ = [
    "MAX_RESOLVE_DEPTH",
    "align_of",
    "alignof",
    "is_struct_packed",
    "iter_members",
    "resolve_size",
    "sizeof",
    "skip_mods_and_typedefs",
]

MAX_RESOLVE_DEPTH = 32
"""libbpf's bound on a chain of typedefs, modifiers and arrays when resolving a size."""
_MAX_NESTING = 200  # nesting beyond which BTF is treated as cyclic (and Python stays in its stack)
_U32_MAX = 0xFFFFFFFF
_SIZED = (Int, Composite, EnumType, Float, Datasec)


def _error(btf: BTF, reason: str) -> BTFError:
    return BTFError(reason, Location(btf.source))


def _describe(btf: BTF, type_id: int) -> str:
    t = btf[type_id]
    name = f" '{t.name}'" if t.name else ""
    return f"[{type_id}] {t.kind.name}{name}"


def skip_mods_and_typedefs(btf: BTF, type_id: int) -> tuple[int, Type]:
    """Follow typedefs and modifiers from ``type_id``; returns ``(id, type)`` reached.

    Raises:
        KeyError: no such id.
        BTFError: the chain loops.
    """
    t = btf[type_id]
    hops = 0
    seen: set[int] = set()
    while isinstance(t, Typedef | Modifier):
        hops += 1
        if hops > MAX_RESOLVE_DEPTH:
            if type_id in seen:
                raise _error(btf, f"typedef/modifier chain through type [{type_id}] loops")
            seen.add(type_id)
        type_id = t.type
        t = btf[type_id]
    return type_id, t


def resolve_size(btf: BTF, type_id: int) -> int:
    """libbpf's ``btf__resolve_size``: the size of a type in bytes, or -1 when it has none
    (void, forward declarations, functions, chains deeper than 32, sizes over 4 GiB)."""
    nelems = 1
    t = btf[type_id]
    for _ in range(MAX_RESOLVE_DEPTH):
        if isinstance(t, _SIZED):
            size: int = t.size
            break
        if isinstance(t, Ptr):
            size = btf.pointer_size
            break
        if isinstance(t, Array):
            if nelems and t.nelems > _U32_MAX // nelems:
                return -1
            nelems *= t.nelems
            t = btf[t.type]
        elif isinstance(t, Ref | Var | DeclTag):
            t = btf[t.type]
        else:
            return -1
    else:
        return -1
    if nelems and size > _U32_MAX // nelems:
        return -1
    return nelems * size


def sizeof(btf: BTF, type_id: int) -> int:
    """The size of a type in bytes (see :func:`resolve_size`).

    Raises:
        KeyError: no such id.
        BTFError: the type has no size.
    """
    size = resolve_size(btf, type_id)
    if size < 0:
        raise _error(btf, f"type {_describe(btf, type_id)} has no size")
    return size


def align_of(btf: BTF, type_id: int, depth: int = 0) -> int:
    """libbpf's ``btf__align_of``: alignment in bytes, 1 for a struct whose layout shows it
    is packed, 0 for a type without alignment (void, forward declarations, functions)."""
    cache = btf._align_cache
    try:
        return cache[type_id]
    except KeyError:
        pass
    if depth > _MAX_NESTING:
        raise _error(btf, f"types nest deeper than {_MAX_NESTING} at type [{type_id}] (a loop?)")
    align = _align_of(btf, btf[type_id], depth)
    cache[type_id] = align
    return align


def _align_of(btf: BTF, t: Type, depth: int) -> int:
    if isinstance(t, Int | EnumType | Float):
        return min(btf.pointer_size, t.size)
    if isinstance(t, Ptr):
        return btf.pointer_size
    if isinstance(t, Typedef | Modifier | Array):
        return align_of(btf, t.type, depth + 1)
    if isinstance(t, Composite):
        max_align = 1
        for m in t.members:
            align = align_of(btf, m.type, depth + 1)
            if align <= 0:
                return align
            max_align = max(max_align, align)
            if m.bitfield_size == 0 and m.bit_offset % (8 * align):
                return 1
        return 1 if t.size % max_align else max_align
    return 0


def alignof(btf: BTF, type_id: int) -> int:
    """The alignment of a type in bytes (see :func:`align_of`).

    Raises:
        KeyError: no such id.
        BTFError: the type has no alignment.
    """
    align = align_of(btf, type_id)
    if align <= 0:
        raise _error(btf, f"type {_describe(btf, type_id)} has no alignment")
    return align


def is_struct_packed(btf: BTF, t: Composite) -> bool:
    """Whether a struct needs ``__attribute__((packed))`` to have its layout (libbpf's
    ``btf_is_struct_packed``): a non-bitfield member off its natural alignment, or a size
    that is not a multiple of the largest member alignment."""
    max_align = 1
    for m in t.members:
        align = align_of(btf, m.type)
        if align and m.bitfield_size == 0 and m.bit_offset % (8 * align):
            return True
        max_align = max(align, max_align)
    return t.size % max_align != 0


def iter_members(btf: BTF, type_id: int, *, flatten: bool = False) -> Iterator[tuple[Member, int]]:
    """``(member, absolute bit offset)`` of a struct or union, after typedefs and modifiers.

    With ``flatten``, an anonymous struct/union member is replaced by its own members (at
    their absolute offsets), recursively, as C name lookup sees them.

    Raises:
        BTFError: the type is not a struct or union, or anonymous members nest in a loop.
    """
    _, t = skip_mods_and_typedefs(btf, type_id)
    if not isinstance(t, Composite):
        raise _error(btf, f"type {_describe(btf, type_id)} is not a struct or union")
    return _walk(btf, t, 0, flatten, 0)


def _walk(
    btf: BTF, t: Composite, base: int, flatten: bool, depth: int
) -> Iterator[tuple[Member, int]]:
    if depth > _MAX_NESTING:
        raise _error(btf, f"anonymous members nest deeper than {_MAX_NESTING} (a loop?)")
    for m in t.members:
        if flatten and not m.name:
            _, inner = skip_mods_and_typedefs(btf, m.type)
            if isinstance(inner, Composite):
                yield from _walk(btf, inner, base + m.bit_offset, flatten, depth + 1)
                continue
        yield m, base + m.bit_offset
