"""Global variables: each ``.data``, ``.rodata`` and ``.bss`` section (and their ``.data.*``,
``.rodata.*`` and ``.bss.*`` variants) as an array map of one element, and its variables.

As libbpf's ``bpf_object__init_global_data_maps`` and ``btf_fixup_datasec``: the map's value
is the section's bytes (zeros for ``.bss``); ``.rodata*`` maps are read-only for programs
(``BPF_F_RDONLY_PROG``) and frozen after load; a map is ``BPF_F_MMAPABLE`` when a variable
in it is global and not hidden. The variables are the ``VAR``s of the section's ``DATASEC``;
clang leaves the offsets of global ones 0, so they are taken from the ELF symbols, as libbpf
does (a linked object has them right already: its ``DATASEC`` has a size).
"""

from __future__ import annotations

from pybpf._uapi import MapType
from pybpf.btf._btf import BTF
from pybpf.btf.kinds import VarLinkage
from pybpf.btf.types import Datasec, Var, VarSecinfo
from pybpf.elf import STV, Section
from pybpf.errors import BTFError, Location
from pybpf.spec._object import BPF_OBJ_NAME_LEN, ObjectFile, Role
from pybpf.spec.specs import BPF_F_MMAPABLE, BPF_F_RDONLY_PROG, MapSpec, VariableSpec

__all__ = ["DataVar", "data_maps", "datasec_vars", "internal_map_name"]

_ALLOWED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.")
MAX_BSS = 64 << 20


def internal_map_name(obj_name: str, section: str) -> str:
    """The kernel name libbpf gives the map of a global-data section (``internal_map_name``).

    ``.data``, ``.rodata``, ``.bss`` and ``.kconfig`` get as much of the object's name as
    fits in 15 characters before them, reserving at least 7 for the section name
    (``my_object_name`` + ``.rodata`` -> ``my_objec.rodata``); names with a second dot
    (``.data.custom``) are the section name alone. Then cut to 15 characters, and characters
    the kernel refuses become ``_``.
    """
    sfx_len = min(max(7, len(section)), BPF_OBJ_NAME_LEN - 1)
    pfx_len = 0 if "." in section[1:] else min(BPF_OBJ_NAME_LEN - sfx_len - 1, len(obj_name))
    name = obj_name[:pfx_len] + section[:sfx_len]
    return "".join(c if c in _ALLOWED else "_" for c in name)


class DataVar:
    """A variable of a DATASEC with its fixed-up offset."""

    __slots__ = ("hidden", "info", "name", "offset", "var")

    def __init__(self, name: str, var: Var, info: VarSecinfo, offset: int, hidden: bool) -> None:
        self.name = name
        self.var = var
        self.info = info
        self.offset = offset
        self.hidden = hidden

    @property
    def is_static(self) -> bool:
        """Static as libbpf counts it: static linkage, or hidden (libbpf makes it static)."""
        return self.var.linkage == VarLinkage.STATIC or self.hidden


def datasec_vars(obj: ObjectFile, btf: BTF, sec: Datasec, size: int) -> list[DataVar]:
    """The variables of a DATASEC, offsets fixed up from the symbols (``btf_fixup_datasec``).

    Raises:
        BTFError: an entry that is not a VAR, a global VAR with no ELF symbol, a variable
            outside the section's ``size`` bytes.
    """
    fixup = sec.size == 0
    out: list[DataVar] = []
    for info in sec.vars:
        var = btf[info.type]
        if not isinstance(var, Var):
            raise _error(btf, f"DATASEC {sec.name!r} lists type [{info.type}], not a VAR")
        offset, hidden = info.offset, False
        if var.linkage not in (VarLinkage.STATIC, VarLinkage.GLOBAL_EXTERN):
            sym = obj.object_symbols.get(var.name)
            if sym is None:
                raise _error(btf, f"DATASEC {sec.name!r}: no ELF symbol for VAR {var.name!r}")
            offset = sym.value if fixup else offset
            hidden = sym.visibility in (STV.HIDDEN, STV.INTERNAL)
        if offset + info.size > size:
            raise _error(
                btf,
                f"DATASEC {sec.name!r}: VAR {var.name!r} ({info.size} bytes at {offset}) "
                f"runs past the section's {size} bytes",
            )
        out.append(DataVar(var.name, var, info, offset, hidden))
    out.sort(key=lambda v: v.offset)
    return out


def _error(btf: BTF, reason: str) -> BTFError:
    return BTFError(reason, Location(btf.source))


def data_maps(obj: ObjectFile) -> tuple[list[tuple[int, MapSpec]], list[VariableSpec]]:
    """The maps of the global-data sections (in section order, with the section index) and
    their variables.

    Raises:
        BTFError: a DATASEC inconsistent with its section (see :func:`datasec_vars`).
    """
    maps: list[tuple[int, MapSpec]] = []
    variables: list[VariableSpec] = []
    for sec in obj.sections(Role.DATA, Role.RODATA, Role.BSS):
        if sec.size:
            spec, found = _data_map(obj, sec, obj.role(sec.index))
            maps.append((sec.index, spec))
            variables += found
    return maps, variables


def _image(obj: ObjectFile, sec: Section, role: Role | None) -> bytes:
    """The initial value of a global-data map: the section's bytes, or zeros for .bss."""
    if role is not Role.BSS:
        return bytes(sec.data)
    if sec.size > MAX_BSS:
        # the contents of a .bss are not in the file: do not allocate what it claims blindly
        raise obj.error(
            f"{sec.size} bytes of zeros: more than any array map value (the kernel's limit is "
            f"KMALLOC_MAX_SIZE, 4 MiB on x86-64; pybpf refuses above {MAX_BSS >> 20} MiB)",
            sec,
        )
    return bytes(sec.size)


def _data_map(
    obj: ObjectFile, sec: Section, role: Role | None
) -> tuple[MapSpec, list[VariableSpec]]:
    rodata = role is Role.RODATA
    image = _image(obj, sec, role)
    spec = MapSpec(
        name=sec.name,
        type=MapType.ARRAY,
        key_size=4,
        value_size=sec.size,
        max_entries=1,
        flags=BPF_F_RDONLY_PROG if rodata else 0,
        data=image,
        freeze=rodata,
        section=sec.name,
        kernel_name=internal_map_name(obj.name, sec.name),
    )
    found = obj.datasec(sec.name)
    if found is None or obj.btf is None:
        return spec, []  # no DATASEC (.rodata.str1.1 and the like, or no BTF at all)
    type_id, datasec = found
    spec.btf, spec.value_type = obj.btf, type_id
    dvars = datasec_vars(obj, obj.btf, datasec, sec.size)
    if any(not v.is_static for v in dvars):
        spec.flags |= BPF_F_MMAPABLE
    variables = [
        VariableSpec(
            name=v.name,
            map_name=sec.name,
            offset=v.offset,
            size=v.info.size,
            value=image[v.offset : v.offset + v.info.size],
            btf=obj.btf,
            type=v.var.type,
            constant=rodata,
        )
        for v in dvars
    ]
    return spec, variables
