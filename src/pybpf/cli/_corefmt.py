"""A CO-RE relocation record in words, as llvm-objdump -r prints it.

    <byte_off> [5] struct task_struct::pid (0:6)
    <enumval_value> [47] enum pid_type::PIDTYPE_SID = 3
    <type_size> [5] struct task_struct

The access string is followed through the local BTF: struct and union members by name
(``<anon N>`` for anonymous ones), array elements as ``[i]``; a first index other than 0 is
shown as ``[i]`` before the members. A record that does not fit its BTF is shown with the raw
access string and the reason in angle brackets, as llvm-objdump does.
"""

from __future__ import annotations

from pybpf.btf import (
    BTF,
    Array,
    Composite,
    Const,
    EnumType,
    Fwd,
    Modifier,
    Restrict,
    Type,
    Typedef,
    TypeTag,
    Volatile,
)
from pybpf.errors import BTFError

__all__ = ["describe_core_relo"]

_KIND_NAMES = (
    "byte_off",
    "byte_sz",
    "field_exists",
    "signed",
    "lshift_u64",
    "rshift_u64",
    "local_type_id",
    "target_type_id",
    "type_exists",
    "type_size",
    "enumval_exists",
    "enumval_value",
    "type_matches",
)
_TYPE_KINDS = frozenset((6, 7, 8, 9, 12))
_ENUM_KINDS = frozenset((10, 11))


class _Bad(Exception):
    pass


def describe_core_relo(btf: BTF, type_id: int, access: str, kind: int) -> str:
    """One CO-RE record in llvm-objdump's words."""
    name = f"<{_KIND_NAMES[kind]}>" if 0 <= kind < len(_KIND_NAMES) else f"<reloc kind #{kind}>"
    try:
        raw = _parse(access)
        return name + _describe(btf, type_id, raw, kind, access)
    except (_Bad, BTFError, IndexError) as exc:
        return f"{name} [{type_id}] '{access}' <{exc}>"


def _parse(access: str) -> list[int]:
    raw = []
    for part in access.split(":") if access else []:
        if not part.isdigit():
            raise _Bad("spec string is not a number")
        raw.append(int(part))
    return raw


def _type(btf: BTF, type_id: int) -> Type:
    t = btf.get(type_id)
    if t is None:
        raise _Bad(f"unknown type id: {type_id}")
    return t


def _describe(btf: BTF, type_id: int, raw: list[int], kind: int, access: str) -> str:
    cur, t = type_id, _type(btf, type_id)
    out = [f" [{type_id}]"]
    while isinstance(t, Modifier):
        out.append(_modifier(btf, t))
        cur, t = t.type, _type(btf, t.type)
    out.append(" void" if cur == 0 else _type_name(t, cur))
    if kind in _TYPE_KINDS:
        if raw != [0]:
            raise _Bad("unexpected type-based relocation spec: should be '0'")
        return "".join(out)
    out.append("::")
    if kind in _ENUM_KINDS:
        return "".join(out) + _enumerator(btf, _skip(btf, t), raw)
    return "".join(out) + _fields(btf, t, raw) + f" ({access})"


def _modifier(btf: BTF, t: Modifier) -> str:
    if isinstance(t, TypeTag):
        return f' type_tag("{t.name}")'
    return {Const: " const", Volatile: " volatile", Restrict: " restrict"}[type(t)]


def _type_name(t: Type, type_id: int) -> str:
    if isinstance(t, Typedef):
        kind = " typedef"
    elif isinstance(t, Composite):
        kind = " struct" if t.is_struct else " union"
    elif isinstance(t, EnumType):
        kind = " enum"
    elif isinstance(t, Fwd):
        kind = " fwd union" if t.is_union else " fwd struct"
    else:
        kind = ""
    return f"{kind} {t.name or f'<anon {type_id}>'}"


def _skip(btf: BTF, t: Type) -> Type:
    while isinstance(t, (Modifier, Typedef)):
        t = _type(btf, t.type)
    return t


def _enumerator(btf: BTF, t: Type, raw: list[int]) -> str:
    if len(raw) != 1:
        raise _Bad("unexpected enumval relocation spec size")
    if not isinstance(t, EnumType):
        raise _Bad(f"unexpected type kind for enum relocation: {int(t.kind)}")
    idx = raw[0]
    if idx >= len(t.values):
        raise _Bad(f"bad value index: {idx}")
    value = t.values[idx]
    return f"{value.name or f'<anon {idx}>'} = {value.value}"


def _fields(btf: BTF, t: Type, raw: list[int]) -> str:
    if not raw:
        raise _Bad("field spec too short")
    out = [f"[{raw[0]}]"] if raw[0] else []
    for i, idx in enumerate(raw[1:], 1):
        t = _skip(btf, t)
        if isinstance(t, Composite):
            if idx >= len(t.members):
                raise _Bad(f"member index {idx} for spec sub-string {i} is out of range")
            member = t.members[idx]
            if i != 1 or raw[0]:
                out.append(".")
            out.append(member.name or f"<anon {idx}>")
            t = _type(btf, member.type)
        elif isinstance(t, Array):
            out.append(f"[{idx}]")
            t = _type(btf, t.type)
        else:
            raise _Bad(f"unexpected type kind {int(t.kind)} for spec sub-string {i}")
    return "".join(out)
