"""``extern`` declarations: ``.kconfig`` options, ``.ksyms`` kernel symbols and kfuncs.

As libbpf's ``bpf_object__collect_externs``: every undefined global or weak ``STT_NOTYPE``
symbol is an extern; its BTF ``VAR`` (or ``FUNC``) of extern linkage says its type, and the
``DATASEC`` that lists it (``.kconfig`` or ``.ksyms``) what it is. Externs are sorted as
libbpf sorts them (kconfig first, by alignment descending, then size, then name; then ksyms
by name), and the kconfig values are laid out in that order in the ``.kconfig`` map, each
at the next offset aligned for it::

    .kconfig map value, e.g.  | LINUX_KERNEL_VERSION (u32) | CONFIG_HZ (int) | bool | bool |
                              0                            4                 8      9
"""

from __future__ import annotations

from pybpf.btf._btf import BTF
from pybpf.btf.kinds import FuncLinkage, IntEncoding, VarLinkage
from pybpf.btf.types import Array, Enum, Enum64, Func, Int, Var
from pybpf.elf import STB
from pybpf.errors import BTFError, Location
from pybpf.spec._object import ObjectFile
from pybpf.spec._relocs import is_extern
from pybpf.spec.specs import ExternKind, ExternSpec, KconfigType

__all__ = ["collect_externs", "kconfig_size"]

KCONFIG_SEC = ".kconfig"
KSYMS_SEC = ".ksyms"


def collect_externs(obj: ObjectFile) -> dict[int, ExternSpec]:
    """The externs of the object by symbol index, in libbpf's order, kconfig laid out.

    Raises:
        BTFError: an extern with no BTF, no extern-linkage VAR/FUNC, in no ``.kconfig`` or
            ``.ksyms`` DATASEC, or a kconfig extern of a type libbpf cannot fill.
    """
    found: list[tuple[int, ExternSpec, int]] = []
    for sym in obj.symbols:
        if is_extern(sym) and sym.name:
            btf = obj.require_btf(f"extern {sym.name!r}")
            ext, align = _extern(obj, btf, sym.name, weak=sym.bind == STB.WEAK)
            found.append((sym.index, ext, align))
    found.sort(key=lambda item: _sort_key(item[1], item[2]))
    offset = 0
    for _, ext, align in found:
        if ext.kind is ExternKind.KCONFIG:
            ext.offset = -(-offset // align) * align
            offset = ext.offset + ext.size
    return {index: ext for index, ext, _ in found}


def kconfig_size(externs: dict[int, ExternSpec]) -> int:
    """The size of the ``.kconfig`` map's value (0: no kconfig externs)."""
    return max(
        (e.offset + e.size for e in externs.values() if e.kind is ExternKind.KCONFIG), default=0
    )


def _sort_key(ext: ExternSpec, align: int) -> tuple[int, int, int, str]:
    """libbpf's ``cmp_externs``."""
    if ext.kind is ExternKind.KCONFIG:
        return (0, -align, ext.size, ext.name)
    return (1, 0, 0, ext.name)


def _error(btf: BTF, reason: str) -> BTFError:
    return BTFError(reason, Location(btf.source))


def _find(btf: BTF, name: str) -> tuple[int, Var | Func]:
    """libbpf's ``find_extern_btf_id``: the first VAR or FUNC called ``name``."""
    for type_id in btf.find(name):
        t = btf[type_id]
        if isinstance(t, Var):
            if t.linkage != VarLinkage.GLOBAL_EXTERN:
                raise _error(btf, f"extern {name!r}: BTF VAR [{type_id}] is not extern")
            return type_id, t
        if isinstance(t, Func):
            if t.linkage != FuncLinkage.EXTERN:
                raise _error(btf, f"extern {name!r}: BTF FUNC [{type_id}] is not extern")
            return type_id, t
    raise _error(btf, f"extern {name!r} has no BTF VAR or FUNC")


def _section_of(obj: ObjectFile, btf: BTF, type_id: int, name: str) -> str:
    """libbpf's ``find_extern_sec_btf_id``: the DATASEC listing the extern (libbpf then
    refuses any but ``.kconfig`` and ``.ksyms``, so only those are searched)."""
    for sec_name in (KCONFIG_SEC, KSYMS_SEC):
        found = obj.datasec(sec_name)
        if found is not None and any(v.type == type_id for v in found[1].vars):
            return sec_name
    raise _error(
        btf,
        f"extern {name!r} is in neither .kconfig nor .ksyms (an unresolved reference to "
        "another object file? link the objects first: bpftool gen object)",
    )


def _extern(obj: ObjectFile, btf: BTF, name: str, *, weak: bool) -> tuple[ExternSpec, int]:
    """The extern called ``name`` and, for kconfig, its alignment (else 1)."""
    type_id, t = _find(btf, name)
    sec_name = _section_of(obj, btf, type_id, name)
    if sec_name == KCONFIG_SEC:
        if isinstance(t, Func):
            raise _error(btf, f"extern function {name!r} cannot be in {KCONFIG_SEC}")
        return _kconfig(btf, name, type_id, t, weak=weak)
    target, _ = btf.skip_mods_and_typedefs(t.type)
    kind = ExternKind.KFUNC if isinstance(t, Func) else ExternKind.KSYM
    return ExternSpec(name, kind, weak, btf, type_id, target), 1


def _kconfig(btf: BTF, name: str, type_id: int, var: Var, *, weak: bool) -> tuple[ExternSpec, int]:
    size = btf.sizeof(var.type)
    align = btf.alignof(var.type)
    if size <= 0 or align <= 0:
        raise _error(btf, f"extern (kcfg) {name!r}: size {size}, alignment {align}")
    kcfg, signed = _kconfig_type(btf, var.type)
    if kcfg is None:
        raise _error(btf, f"extern (kcfg) {name!r}: type is not supported")
    ext = ExternSpec(name, ExternKind.KCONFIG, weak, btf, type_id, var.type, 0, size, kcfg, signed)
    return ext, align


def _kconfig_type(btf: BTF, type_id: int) -> tuple[KconfigType | None, bool]:
    """libbpf's ``find_kcfg_type``: how the value is written, and whether it is signed."""
    _, t = btf.skip_mods_and_typedefs(type_id)
    if isinstance(t, Int):
        return _int_kind(t), bool(t.encoding & IntEncoding.SIGNED)
    if isinstance(t, Enum):
        ok = t.size == 4 and t.name == "libbpf_tristate"
        return (KconfigType.TRISTATE if ok else None), False
    if isinstance(t, Enum64):
        return (KconfigType.TRISTATE if t.name == "libbpf_tristate" else None), False
    if isinstance(t, Array) and t.nelems:
        elem, _ = _kconfig_type(btf, t.type)
        return (KconfigType.CHAR_ARRAY if elem is KconfigType.CHAR else None), False
    return None, False


def _int_kind(t: Int) -> KconfigType | None:
    if t.encoding & IntEncoding.BOOL:
        return KconfigType.BOOL if t.size == 1 else None
    if t.size == 1:
        return KconfigType.CHAR
    if t.size > 8 or t.size & (t.size - 1):
        return None
    return KconfigType.INT
