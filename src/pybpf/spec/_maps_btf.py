"""BTF-defined maps: the ``.maps`` section, described by its ``DATASEC``.

As libbpf's ``bpf_object__init_user_btf_maps`` / ``parse_btf_map_def``: each ``VAR`` of the
``.maps`` DATASEC is a map whose type is an anonymous struct; each member is one attribute,
encoded in the member's *type*, not in any data (``bpf_helpers.h``)::

    __uint(name, val)       int (*name)[val]          PTR -> ARRAY of nelems = val
    __type(name, T)         T *name                   PTR -> T            (key, value)
    __ulong(name, val)      enum { ... = val } name   ENUM/ENUM64 of one value (map_extra)
    __array(name, T)        T *name[]                 ARRAY[0] of PTR -> T  (values: the
                                                      inner map template / prog signature)

``values`` initialisers are relocations of ``.rel.maps``: an 8-byte pointer at slot ``i`` of
the ``values`` member names the map (map-in-map) or program (prog array) to put at key ``i``.
"""

from __future__ import annotations

from collections.abc import Callable

from pybpf._records import record
from pybpf._uapi import MapType
from pybpf.btf._btf import BTF
from pybpf.btf.kinds import VarLinkage
from pybpf.btf.types import Array, Composite, Enum, Enum64, FuncProto, Member, Ptr, Struct, Var
from pybpf.elf import Section
from pybpf.errors import BTFError, Location
from pybpf.spec._globals import datasec_vars
from pybpf.spec._object import ObjectFile, Role
from pybpf.spec._programs import Functions
from pybpf.spec.specs import MapSpec, PinType

__all__ = ["PlacedMap", "btf_maps", "fill_values"]

_MAP_IN_MAP = (MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS)
_PTR_SIZE = 8


@record(slots=True)
class _Def:
    """What a map definition struct says (libbpf's ``struct btf_map_def``)."""

    type: int = 0
    key_size: int = 0
    value_size: int = 0
    max_entries: int = 0
    flags: int = 0
    numa_node: int = 0
    map_extra: int = 0
    pinning: int = 0
    key_type: int | None = None
    value_type: int | None = None
    inner: MapSpec | None = None
    values_at: int | None = None  # byte offset of the values member


@record(slots=True)
class PlacedMap:
    """A map of ``.maps``: where its variable is, and where its ``values`` member starts."""

    spec: MapSpec
    offset: int
    size: int
    values_at: int | None


def _error(btf: BTF, map_name: str, reason: str) -> BTFError:
    return BTFError(f"map {map_name!r}: {reason}", Location(btf.source))


def btf_maps(obj: ObjectFile) -> list[PlacedMap]:
    """The maps of ``.maps``, each with its offset and size in the section.

    Raises:
        BTFError: no BTF or no ``.maps`` DATASEC; a definition libbpf refuses (a member of
            the wrong shape, conflicting sizes, an unknown attribute, no type, a
            multi-level inner map, a non-global variable).
    """
    sec = obj.section_named(Role.MAPS)
    if sec is None:
        return []
    btf = obj.require_btf("the .maps section")
    found = obj.datasec(".maps")
    if found is None:
        raise BTFError("no DATASEC '.maps' for the .maps section", Location(btf.source))
    out = []
    for dvar in datasec_vars(obj, btf, found[1], sec.size):
        name, var = dvar.name, dvar.var
        if not name:
            raise BTFError(".maps lists a map without a name", Location(btf.source))
        if var.linkage != VarLinkage.GLOBAL_ALLOCATED:
            raise _error(btf, name, "not a global definition (an extern map? link first)")
        spec, values_at = _map(btf, name, var, dvar.info.size)
        spec.section = sec.name
        out.append(PlacedMap(spec, dvar.offset, dvar.info.size, values_at))
    return out


def _map(btf: BTF, name: str, var: Var, size: int) -> tuple[MapSpec, int | None]:
    _, struct = btf.skip_mods_and_typedefs(var.type)
    if not isinstance(struct, Struct):
        raise _error(btf, name, f"definition is a {struct.kind.name}, not a struct")
    if struct.size > size:
        raise _error(btf, name, "definition is larger than its variable")
    d = _parse(btf, name, struct, inner=False)
    spec = _spec(btf, name, d)
    spec.pinning = PinType(d.pinning)
    spec.inner_map = d.inner
    return spec, d.values_at


def _spec(btf: BTF, name: str, d: _Def) -> MapSpec:
    map_type = MapType(d.type) if d.type in MapType._value2member_map_ else d.type
    return MapSpec(
        name=name,
        type=map_type,  # type: ignore[arg-type]
        key_size=d.key_size,
        value_size=d.value_size,
        max_entries=d.max_entries,
        flags=d.flags,
        numa_node=d.numa_node,
        map_extra=d.map_extra,
        btf=btf,
        key_type=d.key_type,
        value_type=d.value_type,
    )


def _parse(btf: BTF, name: str, struct: Composite, *, inner: bool) -> _Def:
    d = _Def()
    for i, m in enumerate(struct.members):
        handler = _HANDLERS.get(m.name)
        if handler is not None:
            handler(btf, name, m, d)
        elif m.name == "values":
            if inner:
                raise _error(btf, name, "multi-level inner maps are not supported")
            if i != len(struct.members) - 1:
                raise _error(btf, name, "'values' must be the last member")
            _values(btf, name, m, d)
        elif m.name == "pinning":
            if inner:
                raise _error(btf, name, "an inner map definition cannot be pinned")
            d.pinning = _int(btf, name, m)
            if d.pinning not in (PinType.NONE, PinType.BY_NAME):
                raise _error(btf, name, f"invalid pinning value {d.pinning}")
        else:
            raise _error(btf, name, f"unknown attribute {m.name!r}")
    if d.type == 0:
        raise _error(btf, name, "map type is not specified")
    return d


def _int(btf: BTF, name: str, m: Member) -> int:
    """``__uint(name, val)``: the element count of the array the member points at."""
    _, ptr = btf.skip_mods_and_typedefs(m.type)
    if not isinstance(ptr, Ptr):
        raise _error(btf, name, f"attribute {m.name!r}: expected PTR, got {ptr.kind.name}")
    arr = btf.get(ptr.type)
    if not isinstance(arr, Array):
        kind = arr.kind.name if arr is not None else "nothing"
        raise _error(btf, name, f"attribute {m.name!r}: expected ARRAY, got {kind}")
    return arr.nelems


def _long(btf: BTF, name: str, m: Member) -> int:
    """``__ulong(name, val)`` (an enum of one value), or ``__uint``."""
    _, t = btf.skip_mods_and_typedefs(m.type)
    if isinstance(t, Ptr):
        return _int(btf, name, m)
    if not isinstance(t, (Enum, Enum64)) or len(t.values) != 1:
        raise _error(btf, name, f"attribute {m.name!r}: expected an enum of one value")
    return t.values[0].value & 0xFFFFFFFFFFFFFFFF


def _sized(btf: BTF, name: str, what: str, current: int, size: int) -> int:
    if current and current != size:
        raise _error(btf, name, f"conflicting {what} size {current} != {size}")
    return size


def _key_or_value(btf: BTF, name: str, m: Member, d: _Def) -> None:
    ptr = btf.get(m.type)
    if not isinstance(ptr, Ptr):
        kind = ptr.kind.name if ptr is not None else "nothing"
        raise _error(btf, name, f"{m.name} spec is not PTR: {kind}")
    size = btf.sizeof(ptr.type)
    if m.name == "key":
        d.key_size = _sized(btf, name, "key", d.key_size, size)
        d.key_type = ptr.type
    else:
        d.value_size = _sized(btf, name, "value", d.value_size, size)
        d.value_type = ptr.type


_Handler = Callable[[BTF, str, Member, _Def], None]


def _set(attr: str) -> _Handler:
    def handler(btf: BTF, name: str, m: Member, d: _Def) -> None:
        value = _long(btf, name, m) if attr == "map_extra" else _int(btf, name, m)
        if attr in ("key_size", "value_size"):
            value = _sized(btf, name, attr[:-5], getattr(d, attr), value)
        setattr(d, attr, value)

    return handler


def _values(btf: BTF, name: str, m: Member, d: _Def) -> None:
    is_inner_map = d.type in _MAP_IN_MAP
    if not is_inner_map and d.type != MapType.PROG_ARRAY:
        raise _error(btf, name, "'values' only belongs to a map-in-map or a prog array")
    d.value_size = _sized(btf, name, "value", d.value_size, 4)
    arr = btf.get(m.type)
    if not isinstance(arr, Array) or arr.nelems:
        raise _error(btf, name, "'values' spec is not a zero-sized array")
    _, ptr = btf.skip_mods_and_typedefs(arr.type)
    if not isinstance(ptr, Ptr):
        raise _error(btf, name, f"'values' holds {ptr.kind.name}, not pointers")
    _, t = btf.skip_mods_and_typedefs(ptr.type)
    d.values_at = m.bit_offset // 8
    if not is_inner_map:
        if not isinstance(t, FuncProto):
            raise _error(btf, name, f"prog-array values point at {t.kind.name}, not functions")
        return
    if not isinstance(t, Struct):
        raise _error(btf, name, f"inner map definition is a {t.kind.name}, not a struct")
    inner_name = f"{name}.inner"
    d.inner = _spec(btf, inner_name, _parse(btf, inner_name, t, inner=True))


_HANDLERS: dict[str, _Handler] = {
    "type": _set("type"),
    "max_entries": _set("max_entries"),
    "map_flags": _set("flags"),
    "numa_node": _set("numa_node"),
    "key_size": _set("key_size"),
    "value_size": _set("value_size"),
    "map_extra": _set("map_extra"),
    "key": _key_or_value,
    "value": _key_or_value,
}


def fill_values(obj: ObjectFile, sec: Section, placed: list[PlacedMap], funcs: Functions) -> None:
    """Fill ``contents`` of prog arrays and maps of maps from the ``.maps`` relocations
    (libbpf's ``bpf_object__collect_map_relos``): ``(slot, program or map name)`` pairs.

    Raises:
        ELFError: a relocation outside every map, not in its ``values``, not 8-byte
            aligned, or naming something that is not a map (map-in-map) or an entry-point
            program (prog array).
    """
    names = {p.spec.name for p in placed}
    for rel in obj.elf.relocations(sec):
        at = sec.offset + rel.offset
        owner = _map_at(obj, sec, placed, rel.offset)
        spec, off, start = owner.spec, rel.offset - owner.offset, owner.values_at
        if start is None or off < start or (off - start) % _PTR_SIZE:
            raise obj.error(
                f"relocation at byte {off} of map {spec.name!r} is not in its values", sec, at
            )
        sym = rel.symbol
        if spec.type in _MAP_IN_MAP:
            if sym.shndx != sec.index or sym.name not in names:
                raise obj.error(f"map {spec.name!r}: {sym.name!r} is not a map of .maps", sec, at)
        else:
            func = funcs.at(sym.shndx, sym.value // 8)
            if func is None or not func.entry or func.start * 8 != sym.value:
                raise obj.error(
                    f"map {spec.name!r}: {sym.name!r} is not an entry-point program", sec, at
                )
        spec.contents.append(((off - start) // _PTR_SIZE, sym.name))


def _map_at(obj: ObjectFile, sec: Section, placed: list[PlacedMap], offset: int) -> PlacedMap:
    for p in placed:
        if p.offset <= offset and offset + _PTR_SIZE <= p.offset + p.size:
            return p
    raise obj.error(f"relocation at byte {offset} is in no map", sec, sec.offset + offset)
