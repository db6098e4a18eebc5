"""What libbpf changes in an object's BTF before the kernel sees it, as a set of replaced
types (``{type id: new type}``, for :meth:`pybpf.btf.BTF.replaced`).

clang leaves some of BTF to the loader (libbpf's ``bpf_object_fixup_btf``,
``bpf_object__collect_externs`` and ``bpf_object__sanitize_and_load_btf``), and the kernel
refuses the BTF until it is done:

- ``DATASEC`` sizes and the offsets of global variables are 0: they come from the ELF
  section sizes and symbols; variables are sorted by offset; a hidden global variable
  becomes static;
- ``.kconfig`` externs become allocated variables at their offsets in the ``.kconfig`` map;
- ``.ksyms`` externs become allocated ``int`` variables, 4 bytes each, one after the other.
  libbpf keeps an extern *function* and adds a ``dummy_ksym`` variable for its place in the
  ``DATASEC``; pybpf turns the function itself into that variable (replacing types cannot add
  one), which the kernel takes the same way: a kfunc call names the kernel's function, never
  this one;
- a hidden global subprogram (``__hidden``) becomes static, so the verifier checks it with its
  callers.

The kernel-dependent sanitising (kinds an older kernel lacks) is not done here.
"""

from __future__ import annotations

from pybpf._records import replace
from pybpf.btf._btf import BTF
from pybpf.btf.kinds import FuncLinkage, Kind, VarLinkage
from pybpf.btf.types import Datasec, Func, Int, Type, Var, VarSecinfo
from pybpf.elf import STV
from pybpf.errors import BTFError, Location
from pybpf.spec._object import ObjectFile
from pybpf.spec.specs import ExternSpec

__all__ = ["btf_fixups"]


def btf_fixups(
    obj: ObjectFile,
    btf: BTF,
    externs: dict[str, ExternSpec],
    hidden_functions: frozenset[str] | set[str],
) -> dict[int, Type]:
    """The types libbpf would change before loading the object's BTF."""
    changes: dict[int, Type] = {}
    for type_id in range(btf.start_id, len(btf)):
        if btf.kind_of(type_id) != Kind.DATASEC:
            continue
        sec = btf[type_id]
        if not isinstance(sec, Datasec):  # unreachable: kind_of said DATASEC
            continue
        if sec.name == ".kconfig":
            _kconfig(btf, type_id, sec, externs, changes)
        elif sec.name == ".ksyms":
            _ksyms(btf, type_id, sec, changes)
        else:
            _datasec(obj, btf, type_id, sec, changes)
    for name in hidden_functions:
        for func_id in btf.find(name, Kind.FUNC):
            func = btf[func_id]
            if isinstance(func, Func) and func.linkage == FuncLinkage.GLOBAL:
                changes[func_id] = replace(func, linkage=FuncLinkage.STATIC)
    return changes


def _datasec(
    obj: ObjectFile, btf: BTF, type_id: int, sec: Datasec, changes: dict[int, Type]
) -> None:
    """``btf_fixup_datasec``: size from the section, offsets from the symbols, hidden
    variables static, sorted by offset.

    Raises:
        BTFError: a variable lies outside its section (a symbol's value, or its offset in
            BTF, past the section's end; the kernel would refuse the BTF less clearly), or
            the section is larger than a BTF size can say.
    """
    size = sec.size
    if size == 0:
        elf_sec = obj.elf.get_section_by_name(sec.name)
        if elf_sec is None or not elf_sec.size:
            return  # libbpf refuses the object; the kernel will refuse this BTF
        size = elf_sec.size
        if size > 0xFFFF_FFFF:  # BTF sizes are 32 bits (the data sections' maps check theirs)
            raise BTFError(
                f"DATASEC {sec.name!r}: the section's {size} bytes do not fit BTF's 32-bit size",
                Location(btf.source),
            )
    infos = []
    for info in sec.vars:
        var = btf.get(info.type)
        offset = info.offset
        if isinstance(var, Var) and var.linkage not in (
            VarLinkage.STATIC,
            VarLinkage.GLOBAL_EXTERN,
        ):
            sym = obj.object_symbols.get(var.name)
            if sym is not None:
                offset = sym.value if sec.size == 0 else offset
                if sym.visibility in (STV.HIDDEN, STV.INTERNAL):
                    changes[info.type] = replace(var, linkage=VarLinkage.STATIC)
        if offset + info.size > size:  # as data_maps checks the sections that are maps
            name = var.name if isinstance(var, Var) else f"[{info.type}]"
            raise BTFError(
                f"DATASEC {sec.name!r}: VAR {name!r} ({info.size} bytes at {offset}) runs "
                f"past the section's {size} bytes",
                Location(btf.source),
            )
        infos.append(VarSecinfo(info.type, offset, info.size))
    infos.sort(key=lambda v: v.offset)
    fixed = replace(sec, size=size, vars=tuple(infos))
    if fixed != sec:
        changes[type_id] = fixed


def _kconfig(
    btf: BTF, type_id: int, sec: Datasec, externs: dict[str, ExternSpec], changes: dict[int, Type]
) -> None:
    infos = []
    for info in sec.vars:
        var = btf.get(info.type)
        ext = externs.get(var.name) if isinstance(var, Var) else None
        if not isinstance(var, Var) or ext is None:
            return  # libbpf refuses the object ("failed to find extern definition")
        changes[info.type] = replace(var, linkage=VarLinkage.GLOBAL_ALLOCATED)
        infos.append(VarSecinfo(info.type, ext.offset, info.size))
    size = max((e.offset + e.size for e in externs.values() if e.kconfig_type), default=0)
    infos.sort(key=lambda v: v.offset)
    changes[type_id] = replace(sec, size=size, vars=tuple(infos))


def _ksyms(btf: BTF, type_id: int, sec: Datasec, changes: dict[int, Type]) -> None:
    int_id = _int32(btf)
    infos = []
    for i, info in enumerate(sec.vars):
        t = btf.get(info.type)
        if isinstance(t, (Var, Func)):
            linkage = VarLinkage.GLOBAL_ALLOCATED
            changes[info.type] = Var(name=t.name, type=int_id, linkage=linkage)
        infos.append(VarSecinfo(info.type, 4 * i, 4))
    changes[type_id] = replace(sec, size=4 * len(infos), vars=tuple(infos))


def _int32(btf: BTF) -> int:
    """libbpf's ``find_int_btf_id``: the first 32-bit INT (0 when there is none)."""
    for type_id in range(btf.start_id, len(btf)):
        if btf.kind_of(type_id) == Kind.INT:
            t = btf[type_id]
            if isinstance(t, Int) and t.nr_bits == 32:
                return type_id
    return 0
