"""Access specs: what a CO-RE relocation points at, parsed from its access string.

clang records each CO-RE relocation as a root type and an *access string* of indices
(``.BTF.ext``, ``struct bpf_core_relo``; see the kernel's Documentation/bpf/llvm_reloc.rst)::

    struct sample { int a; struct { int b; int c[7]; }; };
    &s->c[3]        root [sample], access "0:1:1:3"
                      0  s[0]            (the pointer seen as an array)
                      1  member #1       (the anonymous struct: no name, no accessor)
                      1  member #1 of it (c)
                      3  element 3 of c

A :class:`CoreSpec` keeps both views libbpf keeps (``struct bpf_core_spec``): ``raw``, the
indices one to one, and ``accessors``, only the points that mean something across kernels
(named members, array indices, the enumerator) -- those are what is looked up in the target.
``bit_offset`` is where the access lands. Type relocations (``TYPE_*``) have access string
``"0"`` and no accessors; enumerator relocations one accessor naming the enumerator.
"""

from __future__ import annotations

from pybpf._records import immutable
from pybpf.btf._btf import BTF
from pybpf.btf.types import Array, Composite, Enum, EnumType, Type
from pybpf.spec.core._fast import size_of, skip
from pybpf.spec.core.compat import kind_name
from pybpf.spec.core.errors import CoreError
from pybpf.spec.specs import CoreReloKind

__all__ = [
    "ENUMVAL_KINDS",
    "FIELD_KINDS",
    "KIND_NAMES",
    "MAX_SPEC_LEN",
    "TYPE_KINDS",
    "Accessor",
    "CoreSpec",
    "format_spec",
    "parse_spec",
]

K = CoreReloKind
FIELD_KINDS = frozenset(
    {
        K.FIELD_BYTE_OFFSET,
        K.FIELD_BYTE_SIZE,
        K.FIELD_EXISTS,
        K.FIELD_SIGNED,
        K.FIELD_LSHIFT_U64,
        K.FIELD_RSHIFT_U64,
    }
)
"""Relocations of a member or array element (``bpf_core_field_*()``)."""
TYPE_KINDS = frozenset(
    {K.TYPE_ID_LOCAL, K.TYPE_ID_TARGET, K.TYPE_EXISTS, K.TYPE_MATCHES, K.TYPE_SIZE}
)
"""Relocations of a whole type (``bpf_core_type_*()``)."""
ENUMVAL_KINDS = frozenset({K.ENUMVAL_EXISTS, K.ENUMVAL_VALUE})
"""Relocations of an enumerator (``bpf_core_enum_value*()``)."""

KIND_NAMES = {
    K.FIELD_BYTE_OFFSET: "byte_off",
    K.FIELD_BYTE_SIZE: "byte_sz",
    K.FIELD_EXISTS: "field_exists",
    K.FIELD_SIGNED: "signed",
    K.FIELD_LSHIFT_U64: "lshift_u64",
    K.FIELD_RSHIFT_U64: "rshift_u64",
    K.TYPE_ID_LOCAL: "local_type_id",
    K.TYPE_ID_TARGET: "target_type_id",
    K.TYPE_EXISTS: "type_exists",
    K.TYPE_MATCHES: "type_matches",
    K.TYPE_SIZE: "type_size",
    K.ENUMVAL_EXISTS: "enumval_exists",
    K.ENUMVAL_VALUE: "enumval_value",
}
"""libbpf's short name of each kind, as its log prints them (``<byte_off>``)."""

MAX_SPEC_LEN = 64
"""libbpf's ``BPF_CORE_SPEC_MAX_LEN``: the most indices one access may have."""

_INT_MAX = 0x7FFFFFFF
_U32 = 0xFFFFFFFF


@immutable
class Accessor:
    """One meaningful step of an access (``struct bpf_core_accessor``).

    A named member (``name`` set, ``type_id`` the struct/union, ``idx`` the member
    number), an array index (``name`` None, ``type_id`` the element type), or, for
    enumerator relocations, the enumerator (``type_id`` the enum).
    """

    type_id: int
    idx: int
    name: str | None = None


class CoreSpec:
    """A parsed access: libbpf's ``struct bpf_core_spec``.

    Built step by step while parsing (local side) or matching (target side), so it is a
    plain mutable record: ``accessors`` (the high-level steps), ``raw`` (every index),
    ``bit_offset`` (where the access lands, in bits, wrapping at 32 bits as libbpf's does).
    ``root_type_id`` is the relocation's type before typedefs are skipped.
    """

    __slots__ = ("accessors", "bit_offset", "btf", "kind", "raw", "root_type_id")

    def __init__(self, btf: BTF, root_type_id: int, kind: CoreReloKind) -> None:
        self.btf = btf
        self.root_type_id = root_type_id
        self.kind = kind
        self.accessors: list[Accessor] = []
        self.raw: list[int] = []
        self.bit_offset = 0

    def __repr__(self) -> str:
        return f"CoreSpec({format_spec(self)})"


def parse_access(access: str) -> list[int]:
    """``"0:1:2"`` -> ``[0, 1, 2]``.

    Raises:
        CoreError: not colon-separated decimal indices, an index over 2**31-1, or more than
            :data:`MAX_SPEC_LEN` of them.
    """
    parts = access.split(":")
    if not all(0 < len(part) <= 10 and part.isdecimal() for part in parts):
        raise CoreError(f"malformed access string {access!r}")
    raw = [int(part) for part in parts]
    if len(raw) > MAX_SPEC_LEN:
        raise CoreError(f"access string {access!r} has more than {MAX_SPEC_LEN} indices")
    if max(raw) > _INT_MAX:
        raise CoreError(f"access string {access!r} has an index over {_INT_MAX}")
    return raw


def parse_spec(btf: BTF, type_id: int, access: str, kind: CoreReloKind) -> CoreSpec:
    """Parse a relocation's access string against its local type (libbpf's
    ``bpf_core_parse_spec``), checking every step is in bounds.

    Raises:
        CoreError: a malformed access string (type relocations must have ``"0"``), a type
            id out of range, a step past the last member/element/enumerator, a step into a
            type that is neither struct, union nor array, or a type without a size.
    """
    if type_id not in btf:
        raise CoreError(f"type id {type_id} out of range (BTF has {len(btf)})", source=btf.source)
    spec = CoreSpec(btf, type_id, kind)
    if kind in TYPE_KINDS:
        if access != "0":
            raise CoreError(f"type relocation with access string {access!r} (want '0')")
        return spec
    raw = parse_access(access)
    spec.raw = raw
    root_id, t = skip(btf, type_id)
    if kind in ENUMVAL_KINDS:
        if not isinstance(t, EnumType) or len(raw) > 1 or raw[0] >= len(t.values):
            raise CoreError(f"enumerator access {access!r} of [{type_id}] {_describe(btf, t)}")
        spec.accessors.append(Accessor(root_id, raw[0], t.values[raw[0]].name))
        return spec
    spec.accessors.append(Accessor(root_id, raw[0]))
    spec.bit_offset = (raw[0] * _size(btf, root_id) * 8) & _U32
    _walk(spec, root_id, raw, access)
    return spec


def _walk(spec: CoreSpec, type_id: int, raw: list[int], access: str) -> None:
    """Follow the indices after the first, recording accessors and the bit offset."""
    btf = spec.btf
    for i in range(1, len(raw)):
        type_id, t = skip(btf, type_id)
        idx = raw[i]
        if isinstance(t, Composite):
            if idx >= len(t.members):
                raise CoreError(f"access {access!r}: member #{idx} of {_describe(btf, t)}")
            m = t.members[idx]
            spec.bit_offset = (spec.bit_offset + m.bit_offset) & _U32
            if m.name:
                spec.accessors.append(Accessor(type_id, idx, m.name))
            type_id = m.type
        elif isinstance(t, Array):
            type_id, _ = skip(btf, t.type)
            if not is_flex_array(btf, spec.accessors[-1], t) and idx >= t.nelems:
                raise CoreError(f"access {access!r}: element {idx} of a {t.nelems}-array")
            spec.accessors.append(Accessor(type_id, idx))
            spec.bit_offset = (spec.bit_offset + idx * _size(btf, type_id) * 8) & _U32
        else:
            raise CoreError(
                f"relo for [{spec.root_type_id}] {access} (at idx {i}) captures type "
                f"[{type_id}] of unexpected kind {kind_name(t)}"
            )


def is_flex_array(btf: BTF, prev: Accessor, arr: Array) -> bool:
    """Whether ``arr`` is a flexible array member: zero-length and the last member of the
    struct of the named accessor before it (libbpf's ``is_flex_arr``)."""
    if prev.name is None or arr.nelems > 0:
        return False
    t = btf[prev.type_id]
    return isinstance(t, Composite) and prev.idx == len(t.members) - 1


def _size(btf: BTF, type_id: int) -> int:
    size = size_of(btf, type_id)
    if size < 0:
        raise CoreError(f"type [{type_id}] {_describe(btf, btf[type_id])} has no size")
    return size


def _describe(btf: BTF, t: Type) -> str:
    return f"{kind_name(t)} {t.name or '<anon>'}"


def format_spec(spec: CoreSpec) -> str:
    """The spec as libbpf's log prints it (``bpf_core_format_spec``)::

    <byte_off> [5] struct task_struct.comm[1] (0:14:1 @ offset 73)
    <enumval_value> [47] enum pid_type::PIDTYPE_SID = 3
    <type_size> [5] struct task_struct
    """
    btf = spec.btf
    root = btf[spec.root_type_id]
    text = (
        f"<{KIND_NAMES[spec.kind]}> [{spec.root_type_id}] {kind_name(root)} {root.name or '<anon>'}"
    )
    if spec.kind in TYPE_KINDS:
        return text
    if spec.kind in ENUMVAL_KINDS:
        return text + _format_enumerator(spec)
    parts = [text]
    for i, acc in enumerate(spec.accessors):
        if acc.name is not None:
            parts.append(f".{acc.name}")
        elif i > 0 or acc.idx > 0:
            parts.append(f"[{acc.idx}]")
    raw = ":".join(map(str, spec.raw))
    off = spec.bit_offset
    where = f"{off // 8}.{off % 8}" if off % 8 else f"{off // 8}"
    parts.append(f" ({raw} @ offset {where})")
    return "".join(parts)


def _format_enumerator(spec: CoreSpec) -> str:
    _, t = skip(spec.btf, spec.root_type_id)
    idx = spec.raw[0] if spec.raw else 0
    if not isinstance(t, EnumType) or idx >= len(t.values):
        return ""
    e = t.values[idx]
    bits = 32 if isinstance(t, Enum) else 64
    value = e.value & ((1 << bits) - 1)
    if t.signed and value >> (bits - 1):
        value -= 1 << bits
    return f"::{e.name} = {value}"
