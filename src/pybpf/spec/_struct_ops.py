"""struct_ops maps: the variables of ``.struct_ops`` and ``.struct_ops.link``.

As libbpf's ``init_struct_ops_maps`` / ``bpf_object__collect_st_ops_relos``: each variable of
the section is a map of type ``BPF_MAP_TYPE_STRUCT_OPS`` whose value is the struct (its
bytes in the object are the initial value), and each relocation of the section sets one
function-pointer member to a ``struct_ops`` program::

    .struct_ops  | pybpf_cc: struct tcp_congestion_ops                 |
                 | ssthresh* | cong_avoid* | init* | undo_cwnd* | name |
                      ^ .rel.struct_ops: r_offset -> member, symbol -> program

The loader later finds the kernel's ``bpf_struct_ops_<struct>`` and lays the value out the
kernel's way; here the struct is described as the object has it.
"""

from __future__ import annotations

from pybpf._uapi import MapType, ProgType
from pybpf.btf.types import Struct
from pybpf.elf import Section
from pybpf.errors import BTFError, Location
from pybpf.spec._globals import datasec_vars
from pybpf.spec._object import ObjectFile, Role
from pybpf.spec._programs import Functions
from pybpf.spec.specs import BPF_F_LINK, MapSpec, ProgramSpec

__all__ = ["struct_ops_maps"]


def struct_ops_maps(
    obj: ObjectFile, funcs: Functions, programs: dict[int, ProgramSpec]
) -> list[MapSpec]:
    """The struct_ops maps, members bound to programs (``programs``: by ``id`` of function).

    Raises:
        BTFError: a section without its DATASEC, a variable that is not a named struct.
        ELFError: a relocation outside every variable, not at a member, or not naming a
            ``struct_ops`` program.
    """
    out: list[MapSpec] = []
    for sec in obj.sections(Role.STRUCT_OPS):
        placed = _section_maps(obj, sec)
        for rel in obj.elf.relocations(sec):
            spec, member = _member_at(obj, sec, placed, rel.offset)
            prog = _program_at(funcs, programs, rel.symbol.shndx, rel.symbol.value)
            if prog is None or prog.type != ProgType.STRUCT_OPS:
                raise obj.error(
                    f"struct_ops {spec.name!r}.{member} does not point at a struct_ops program",
                    sec,
                    sec.offset + rel.offset,
                )
            spec.struct_ops[member] = prog.name
        out += [spec for spec, _, _ in placed]
    return out


def _section_maps(obj: ObjectFile, sec: Section) -> list[tuple[MapSpec, int, Struct]]:
    btf = obj.require_btf(f"section {sec.name}")
    name = sec.name.lstrip("?")
    found = obj.datasec(sec.name)
    if found is None:
        raise BTFError(f"no DATASEC {sec.name!r} for the struct_ops section", Location(btf.source))
    placed = []
    data = bytes(sec.data)
    for dvar in datasec_vars(obj, btf, found[1], sec.size):
        type_id, t = btf.skip_mods_and_typedefs(dvar.var.type)
        if not isinstance(t, Struct) or not t.name:
            raise BTFError(f"struct_ops {dvar.name!r} is not a named struct", Location(btf.source))
        if dvar.offset + t.size > len(data):
            raise BTFError(f"struct_ops {dvar.name!r} runs past {sec.name}", Location(btf.source))
        spec = MapSpec(
            name=dvar.name,
            type=MapType.STRUCT_OPS,
            key_size=4,
            value_size=t.size,
            max_entries=1,
            flags=BPF_F_LINK if name == ".struct_ops.link" else 0,
            data=data[dvar.offset : dvar.offset + t.size],
            section=name,
            btf=btf,
            value_type=type_id,
        )
        placed.append((spec, dvar.offset, t))
    return placed


def _member_at(
    obj: ObjectFile, sec: Section, placed: list[tuple[MapSpec, int, Struct]], offset: int
) -> tuple[MapSpec, str]:
    """The map and the member a relocation at byte ``offset`` of the section sets."""
    at = sec.offset + offset
    found = next((p for p in placed if p[1] <= offset < p[1] + p[2].size), None)
    if found is None:
        raise obj.error(f"struct_ops relocation at byte {offset} is in no variable", sec, at)
    spec, start, struct = found
    member = next((m for m in struct.members if m.bit_offset == (offset - start) * 8), None)
    if member is None:
        raise obj.error(f"struct_ops {spec.name!r}: no member at byte {offset - start}", sec, at)
    return spec, member.name


def _program_at(
    funcs: Functions, programs: dict[int, ProgramSpec], section: int, value: int
) -> ProgramSpec | None:
    """The program whose first instruction is at byte ``value`` of ``section``."""
    func = funcs.at(section, value // 8) if value % 8 == 0 else None
    if func is None or func.start * 8 != value:
        return None
    return programs.get(id(func))
