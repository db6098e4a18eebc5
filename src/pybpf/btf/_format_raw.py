"""BTF as ``bpftool btf dump file FILE`` prints it (its "raw" format).

One entry per type, in id order: ``[id] KIND 'name'`` and the kind's fields on the same line,
then one tab-indented line per member, enumerator, parameter or variable. Split BTF lists only
its own types, as bpftool does. The wording follows bpftool's ``dump_btf_type()``
(``tools/bpf/bpftool/btf.c``), including its quirks (``VAR ... type_id=N, linkage=...``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from pybpf.btf._btf import BTF
from pybpf.btf.kinds import FuncLinkage, IntEncoding, Kind, VarLinkage
from pybpf.btf.types import (
    Array,
    Composite,
    Datasec,
    DeclTag,
    Enum,
    Enum64,
    Float,
    Func,
    FuncProto,
    Fwd,
    Int,
    Ref,
    Type,
    Var,
)

__all__ = ["format_raw", "format_type", "iter_raw", "kind_label"]

_INT_ENCODING = {
    0: "(none)",
    IntEncoding.SIGNED: "SIGNED",
    IntEncoding.CHAR: "CHAR",
    IntEncoding.BOOL: "BOOL",
}
_FUNC_LINKAGE = {FuncLinkage.STATIC: "static", FuncLinkage.GLOBAL: "global", 2: "extern"}
_VAR_LINKAGE = {VarLinkage.STATIC: "static", VarLinkage.GLOBAL_ALLOCATED: "global", 2: "extern"}


def kind_label(kind: Kind) -> str:
    """bpftool's name for a kind (``UNKNOWN`` for kind 0)."""
    return "UNKNOWN" if kind is Kind.UNKN else kind.name


def _name(name: str) -> str:
    return name or "(anon)"


def _int(btf: BTF, t: Int) -> str:
    enc = _INT_ENCODING.get(t.encoding, "UNKN")
    return f" size={t.size} bits_offset={t.bits_offset} nr_bits={t.nr_bits} encoding={enc}"


def _ref(btf: BTF, t: Ref) -> str:
    return f" type_id={t.type}"


def _array(btf: BTF, t: Array) -> str:
    return f" type_id={t.type} index_type_id={t.index_type} nr_elems={t.nelems}"


def _composite(btf: BTF, t: Composite) -> str:
    lines = [f" size={t.size} vlen={len(t.members)}"]
    for m in t.members:
        bits = f" bitfield_size={m.bitfield_size}" if m.bitfield_size else ""
        lines.append(f"\t'{_name(m.name)}' type_id={m.type} bits_offset={m.bit_offset}{bits}")
    return "\n".join(lines)


def _enum(btf: BTF, t: Enum | Enum64) -> str:
    enc = "SIGNED" if t.signed else "UNSIGNED"
    suffix = ("LL" if t.signed else "ULL") if isinstance(t, Enum64) else ""
    lines = [f" encoding={enc} size={t.size} vlen={len(t.values)}"]
    lines += [f"\t'{_name(v.name)}' val={v.value}{suffix}" for v in t.values]
    return "\n".join(lines)


def _fwd(btf: BTF, t: Fwd) -> str:
    return f" fwd_kind={'union' if t.is_union else 'struct'}"


def _func(btf: BTF, t: Func) -> str:
    return f" type_id={t.type} linkage={_FUNC_LINKAGE.get(t.linkage, '(unknown)')}"


def _func_proto(btf: BTF, t: FuncProto) -> str:
    lines = [f" ret_type_id={t.type} vlen={len(t.params)}"]
    lines += [f"\t'{_name(p.name)}' type_id={p.type}" for p in t.params]
    return "\n".join(lines)


def _var(btf: BTF, t: Var) -> str:
    return f" type_id={t.type}, linkage={_VAR_LINKAGE.get(t.linkage, '(unknown)')}"


def _datasec(btf: BTF, t: Datasec) -> str:
    lines = [f" size={t.size} vlen={len(t.vars)}"]
    for v in t.vars:
        line = f"\ttype_id={v.type} offset={v.offset} size={v.size}"
        if v.type < len(btf):
            line += f" ({kind_label(btf.kind_of(v.type))} '{_name(btf.name_of(v.type))}')"
        lines.append(line)
    return "\n".join(lines)


def _float(btf: BTF, t: Float) -> str:
    return f" size={t.size}"


def _decl_tag(btf: BTF, t: DeclTag) -> str:
    return f" type_id={t.type} component_idx={t.component_idx}"


def _fields(btf: BTF, t: Type) -> str:
    """The kind-specific part of an entry (everything after the name)."""
    if isinstance(t, Int):
        return _int(btf, t)
    if isinstance(t, Ref):
        return _ref(btf, t)
    if isinstance(t, Array):
        return _array(btf, t)
    if isinstance(t, Composite):
        return _composite(btf, t)
    if isinstance(t, Enum | Enum64):
        return _enum(btf, t)
    if isinstance(t, Fwd):
        return _fwd(btf, t)
    if isinstance(t, Func):
        return _func(btf, t)
    if isinstance(t, FuncProto):
        return _func_proto(btf, t)
    if isinstance(t, Var):
        return _var(btf, t)
    if isinstance(t, Datasec):
        return _datasec(btf, t)
    if isinstance(t, Float):
        return _float(btf, t)
    if isinstance(t, DeclTag):
        return _decl_tag(btf, t)
    return ""


def format_type(btf: BTF, type_id: int) -> str:
    """One type as bpftool prints it, without the final newline."""
    t = btf[type_id]
    return f"[{type_id}] {kind_label(t.kind)} '{_name(t.name)}'" + _fields(btf, t)


def iter_raw(btf: BTF, type_ids: Iterable[int] | None = None) -> Iterator[str]:
    """The raw dump, one type (with its trailing newline) at a time.

    Args:
        type_ids: the types to show (bpftool's root types); by default this blob's own.

    Raises:
        KeyError: a requested id does not exist.
        BTFError: a malformed type.
    """
    ids = range(btf.start_id, len(btf)) if type_ids is None else type_ids
    for type_id in ids:
        yield format_type(btf, type_id) + "\n"


def format_raw(btf: BTF, type_ids: Iterable[int] | None = None) -> str:
    """The whole raw dump as one string (see :func:`iter_raw`)."""
    return "".join(iter_raw(btf, type_ids))
