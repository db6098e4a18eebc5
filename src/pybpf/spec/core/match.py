"""Matching a local access spec against one candidate target type (libbpf's
``bpf_core_spec_match``), producing the target's spec.

Field accesses are matched accessor by accessor: a named member is looked for by name in the
target struct/union, descending into anonymous members in declaration order (so a member
that moved into or out of an anonymous struct/union is still found); an array index must be
within the target array's bounds (flexible arrays have none). Types must stay compatible
(:func:`~pybpf.spec.core.compat.fields_are_compat`). Enumerators are matched by essential
name; whole types by :func:`~pybpf.spec.core.compat.types_are_compat` or, for
``TYPE_MATCHES``, :func:`~pybpf.spec.core.compat.types_match`.

The target spec is returned even when matching fails, in the state libbpf leaves it, so the
log line of a non-matching candidate reads as libbpf's does.
"""

from __future__ import annotations

import weakref

from pybpf.btf._btf import BTF
from pybpf.btf.types import Array, Composite, EnumType
from pybpf.spec.core._fast import size_of, skip
from pybpf.spec.core.access import (
    ENUMVAL_KINDS,
    MAX_SPEC_LEN,
    TYPE_KINDS,
    Accessor,
    CoreSpec,
    is_flex_array,
)
from pybpf.spec.core.compat import essential_name, fields_are_compat, types_are_compat, types_match
from pybpf.spec.core.errors import CoreError
from pybpf.spec.specs import CoreReloKind

__all__ = ["match_spec"]


def match_spec(local: CoreSpec, targ_btf: BTF, targ_id: int) -> tuple[bool, CoreSpec]:
    """Match ``local`` against target type ``targ_id``: ``(matched, target spec)``.

    Raises:
        CoreError: nesting deeper than 64 steps, a target type without a size, or type
            chains deeper than libbpf's bound.
    """
    targ = CoreSpec(targ_btf, targ_id, local.kind)
    if local.kind in TYPE_KINDS:
        check = types_match if local.kind is CoreReloKind.TYPE_MATCHES else types_are_compat
        return check(local.btf, local.root_type_id, targ_btf, targ_id), targ
    if local.kind in ENUMVAL_KINDS:
        return _match_enumerator(local, targ), targ
    matched = _match_fields(local, targ)
    targ.bit_offset &= 0xFFFFFFFF
    return matched, targ


def _match_enumerator(local: CoreSpec, targ: CoreSpec) -> bool:
    targ_id, t = skip(targ.btf, targ.root_type_id)
    if not isinstance(t, EnumType):
        return False
    name = local.accessors[0].name or ""
    wanted = essential_name(name)
    for i, value in enumerate(t.values):
        if essential_name(value.name) == wanted:
            targ.accessors.append(Accessor(targ_id, i, value.name))
            targ.raw.append(i)
            return True
    return False


def _match_fields(local: CoreSpec, targ: CoreSpec) -> bool:
    btf = targ.btf
    targ_id = targ.root_type_id
    for i, acc in enumerate(local.accessors):
        targ_id, t = skip(btf, targ_id)
        if acc.name is not None:
            found = _match_member(local.btf, acc, btf, targ_id, targ)
            if found is None:
                return False
            targ_id = found
            continue
        if i > 0:
            if not isinstance(t, Array):
                return False
            if not is_flex_array(btf, targ.accessors[-1], t) and acc.idx >= t.nelems:
                return False
            targ_id, _ = skip(btf, t.type)
        _check_len(targ)
        targ.accessors.append(Accessor(targ_id, acc.idx))
        targ.raw.append(acc.idx)
        size = size_of(btf, targ_id)
        if size < 0:
            raise CoreError(f"target type [{targ_id}] has no size", source=btf.source)
        targ.bit_offset += acc.idx * size * 8
    return True


def _match_member(
    local_btf: BTF, acc: Accessor, targ_btf: BTF, targ_id: int, spec: CoreSpec
) -> int | None:
    """Find the local member ``acc`` in target struct/union ``targ_id`` (recursing into
    anonymous members): the found member's type id, or ``None``.

    libbpf tries members in order, pushing each on ``spec.raw`` (adding its offset) and
    popping it when it is not the one. Named members with another name are net no-ops, so
    only the anonymous members before the first same-named one are visited here (found by
    a per-type name index), with libbpf's exact pushes and pops: a same-named member that
    is incompatible ends the search with its push left in place.
    """
    targ_id, t = skip(targ_btf, targ_id)
    if not isinstance(t, Composite):
        return None
    local_t = local_btf[acc.type_id]
    assert isinstance(local_t, Composite)  # parse_spec made accessors only for members
    local_m = local_t.members[acc.idx]
    by_name, anonymous = member_index(targ_btf, targ_id, t)
    named = by_name.get(local_m.name, len(t.members))
    if t.members:
        _check_len(spec)
    for i in anonymous:
        if i > named:
            break
        m = t.members[i]
        _check_len(spec)
        spec.bit_offset += m.bit_offset
        spec.raw.append(i)
        found = _match_member(local_btf, acc, targ_btf, m.type, spec)
        if found is not None:
            return found
        spec.bit_offset -= m.bit_offset
        spec.raw.pop()
    if named == len(t.members):
        return None
    m = t.members[named]
    _check_len(spec)
    spec.bit_offset += m.bit_offset
    spec.raw.append(named)
    if not fields_are_compat(local_btf, local_m.type, targ_btf, m.type):
        return None
    spec.accessors.append(Accessor(targ_id, named, m.name))
    return m.type


MemberIndex = tuple[dict[str, int], tuple[int, ...]]

_INDEXES: weakref.WeakKeyDictionary[BTF, dict[int, MemberIndex]] = weakref.WeakKeyDictionary()


def member_index(btf: BTF, type_id: int, t: Composite) -> MemberIndex:
    """The members of struct/union ``type_id``: first index of each name, and the indices
    of the anonymous ones (remembered per BTF, weakly)."""
    per_btf = _INDEXES.get(btf)
    if per_btf is None:
        per_btf = _INDEXES[btf] = {}
    index = per_btf.get(type_id)
    if index is None:
        by_name: dict[str, int] = {}
        anonymous = []
        for i, m in enumerate(t.members):
            if m.name:
                by_name.setdefault(m.name, i)
            else:
                anonymous.append(i)
        index = per_btf[type_id] = (by_name, tuple(anonymous))
    return index


def _check_len(spec: CoreSpec) -> None:
    if len(spec.raw) >= MAX_SPEC_LEN:
        raise CoreError(
            f"target [{spec.root_type_id}]: struct/union/array nesting deeper than {MAX_SPEC_LEN}",
            source=spec.btf.source,
        )
