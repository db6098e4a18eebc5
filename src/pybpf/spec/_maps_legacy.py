"""Legacy map definitions: the ``maps`` section of ``struct bpf_map_def`` records.

libbpf 1.0 dropped this format; cilium/ebpf, Aya and older loaders read it, and so does
pybpf. Each named symbol of the section (not the section symbol) names one record; all
records have the same size, the section size divided by the number of symbols (as libbpf
0.x worked it out). The fields, u32 each in the object's byte order, as many as the record
holds::

    0 type | 4 key_size | 8 value_size | 12 max_entries | 16 map_flags
    20 inner_map_idx / id | 24 numa_node / pinning         (28-byte records)

Two 28-byte layouts are in use: the kernel samples' (``bpf_load.c``: ``inner_map_idx``,
``numa_node``) and Aya's (``id``, ``pinning``). They are told apart the way the kernel
reads them: ``numa_node`` means something only with ``BPF_F_NUMA_NODE`` in ``map_flags``,
else the word is Aya's pinning (0 none, 1 by name); ``inner_map_idx`` means something only
for an array or hash of maps (the index, in offset order, of the map whose definition is the
inner map template), else the word is Aya's unused ``id``. Bytes past these must be zero.
"""

from __future__ import annotations

import struct

from pybpf._uapi import MapType
from pybpf.elf import STT, Section, Symbol
from pybpf.spec._object import ObjectFile, Role
from pybpf.spec.specs import MapSpec, PinType

__all__ = ["legacy_maps"]

_FIELDS = 7
_MAP_IN_MAP = (MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS)
_NUMA_NODE = 1 << 2  # BPF_F_NUMA_NODE


def legacy_maps(obj: ObjectFile) -> list[tuple[MapSpec, int]]:
    """The maps of the ``maps`` section with their offsets, in offset order.

    Raises:
        ELFError: the section size is not a whole number of records, a record runs past
            the section, has non-zero bytes past the known fields, or names an inner map
            that does not exist.
    """
    sec = obj.section_named(Role.LEGACY_MAPS)
    if sec is None:
        return []
    syms = sorted(
        (s for s in obj.symbols if s.shndx == sec.index and s.type != STT.SECTION and s.name),
        key=lambda s: s.value,
    )
    if not syms:
        return []
    size = sec.size
    if size == 0 or size % len(syms):
        raise obj.error(
            f"{size} bytes do not divide into {len(syms)} map definitions", sec, sec.offset
        )
    rec = size // len(syms)
    data = bytes(sec.data)
    fields = [_fields(obj, sec, data, sym, rec) for sym in syms]
    specs = [_spec(obj, sec, sym, f) for sym, f in zip(syms, fields, strict=True)]
    for spec, f, sym in zip(specs, fields, syms, strict=True):
        if spec.type in _MAP_IN_MAP and len(f) > 5:
            spec.inner_map = _inner(obj, sec, specs, f[5], sym)
    return [(spec, sym.value) for spec, sym in zip(specs, syms, strict=True)]


def _fields(obj: ObjectFile, sec: Section, data: bytes, sym: Symbol, rec: int) -> tuple[int, ...]:
    at = sym.value
    if at + rec > len(data):
        raise obj.error(f"map definition {sym.name!r} runs past the section", sec, sec.offset + at)
    count = min(rec // 4, _FIELDS)
    order = "<" if obj.byteorder == "little" else ">"
    values = struct.unpack_from(f"{order}{count}I", data, at)
    extra = data[at + 4 * count : at + rec]
    if any(extra):
        raise obj.error(
            f"map definition {sym.name!r} has unknown non-zero bytes past its fields",
            sec,
            sec.offset + at + 4 * count,
        )
    return values + (0,) * (5 - count) if count < 5 else values


def _spec(obj: ObjectFile, sec: Section, sym: Symbol, f: tuple[int, ...]) -> MapSpec:
    map_type = MapType(f[0]) if f[0] in MapType._value2member_map_ else f[0]
    spec = MapSpec(
        name=sym.name,
        type=map_type,  # type: ignore[arg-type]
        key_size=f[1],
        value_size=f[2],
        max_entries=f[3],
        flags=f[4],
        section=sec.name,
    )
    if len(f) > 6 and f[4] & _NUMA_NODE:
        spec.numa_node = f[6]
    elif len(f) > 6:
        if f[6] not in (PinType.NONE, PinType.BY_NAME):
            raise obj.error(
                f"map definition {sym.name!r}: pinning {f[6]} (0: none, 1: by name)",
                sec,
                sec.offset + sym.value + 24,
            )
        spec.pinning = PinType(f[6])
    return spec


def _inner(obj: ObjectFile, sec: Section, specs: list[MapSpec], index: int, sym: Symbol) -> MapSpec:
    if index >= len(specs):
        raise obj.error(
            f"map {sym.name!r}: inner_map_idx {index} is not a map (of {len(specs)})",
            sec,
            sec.offset + sym.value + 20,
        )
    inner = specs[index].copy()
    inner.name = f"{sym.name}.inner"
    return inner
