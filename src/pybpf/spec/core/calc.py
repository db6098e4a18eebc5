"""The values a relocation patches: what the instruction holds now (computed from the local
spec) and what it must hold on the target (from the target spec) -- libbpf's
``bpf_core_calc_relo`` and its field/type/enumerator helpers.

Field values, for a member at bit ``bit_off`` of ``bit_sz`` bits (a bitfield is read through
the smallest naturally aligned load of at least its type's size that covers it)::

    FIELD_BYTE_OFFSET   byte offset of that load (array elements: of the element)
    FIELD_BYTE_SIZE     its size in bytes
    FIELD_EXISTS        1 / 0
    FIELD_SIGNED        1 if a signed integer or a signed (kflag) enum
    FIELD_LSHIFT_U64    shift left that puts the field's top bit at bit 63 of a u64 load
                          little-endian: 64 - (bit_off + bit_sz - byte_off * 8)
                          big-endian:    (8 - byte_sz) * 8 + (bit_off - byte_off * 8)
    FIELD_RSHIFT_U64    64 - bit_sz: then shift right to bring it down

The byte order is the program's (libbpf uses the host's, which is the target's).
"""

from __future__ import annotations

from pybpf._records import immutable
from pybpf.btf.types import Array, Composite, Enum, EnumType, Int, Ptr, Type
from pybpf.spec.core._fast import size_of, skip
from pybpf.spec.core.access import ENUMVAL_KINDS, FIELD_KINDS, KIND_NAMES, CoreSpec
from pybpf.spec.core.errors import CoreError
from pybpf.spec.specs import CoreReloKind

__all__ = ["CoreValues", "calc_values"]

K = CoreReloKind
_U64 = (1 << 64) - 1
_U32 = 0xFFFFFFFF
_SIGNED = 1  # BTF_INT_SIGNED


class _Poison(Exception):  # a signal, not an error (libbpf's -EUCLEAN)
    """Raised inside the calculation when the instruction must be poisoned."""


@immutable
class CoreValues:
    """The outcome of one relocation against one target (``struct bpf_core_relo_res``).

    ``orig`` is the value the instruction must hold now (checked unless ``validate`` is
    False: bitfields and type ids, where the compiler may legitimately disagree), ``new``
    the value to patch in. ``poison``: the instruction must be made invalid.
    ``orig_size``/``new_size`` are the sizes of the loaded field for a byte-offset
    relocation (an ``LDX``/``ST``/``STX`` is resized when they differ);
    ``bad_resize`` says such a resize would read the field wrong (so the access is
    poisoned instead).
    """

    orig: int = 0
    new: int = 0
    poison: bool = False
    validate: bool = True
    bad_resize: bool = False
    orig_size: int = 0
    new_size: int = 0


@immutable
class _Field:
    """A field relocation's value, and what validating the instruction against it needs."""

    value: int
    size: int = 0  # the loaded element's size (byte offsets of non-bitfields only)
    type: Type | None = None
    validate: bool = True


def calc_values(local: CoreSpec, targ: CoreSpec | None, little_endian: bool = True) -> CoreValues:
    """Compute :class:`CoreValues` for a relocation (``targ`` None: no target matched).

    Raises:
        CoreError: a bitfield no 64-bit load covers; a field-size relocation on an array
            element other than offset/size; a type without a size.
    """
    kind = local.kind
    if kind in FIELD_KINDS:
        return _field_values(local, targ, little_endian)
    if kind in ENUMVAL_KINDS:
        orig = _enum_value(kind, local)
        try:
            return CoreValues(orig, _enum_value(kind, targ))
        except _Poison:
            return CoreValues(orig, poison=True)
    orig = _type_value(local)
    return CoreValues(orig, _type_value(targ), validate=kind is not K.TYPE_ID_TARGET)


def _field_values(local: CoreSpec, targ: CoreSpec | None, little_endian: bool) -> CoreValues:
    lf = _field(local, local, little_endian)
    try:
        tf = _field(local, targ, little_endian)
    except _Poison:
        return CoreValues(lf.value, poison=True, validate=lf.validate, orig_size=lf.size)
    bad = False
    if lf.size != tf.size:
        lt, tt = lf.type, tf.type
        # Safe to resize: pointers (32-bit kernels), and unsigned integers (zero-extended).
        both_ptr = isinstance(lt, Ptr) and isinstance(tt, Ptr)
        both_uint = isinstance(lt, Int) and isinstance(tt, Int)
        bad = not (both_ptr or (both_uint and _unsigned(lt) and _unsigned(tt)))
    return CoreValues(
        lf.value, tf.value, False, lf.validate, bad, orig_size=lf.size, new_size=tf.size
    )


def _unsigned(t: Type | None) -> bool:
    """libbpf's test: an encoding other than exactly ``BTF_INT_SIGNED`` (char, bool too)."""
    return isinstance(t, Int) and t.encoding != _SIGNED


def _field(local: CoreSpec, spec: CoreSpec | None, little_endian: bool) -> _Field:
    """``bpf_core_calc_field_relo`` for one side (``spec`` None: the target is missing)."""
    kind = local.kind
    if kind is K.FIELD_EXISTS:
        return _Field(int(spec is not None))
    if spec is None:
        raise _Poison
    btf = spec.btf
    acc = spec.accessors[-1]
    bit_off = spec.bit_offset & 0xFFFFFFFF
    if acc.name is None:  # an array element
        if kind is K.FIELD_BYTE_OFFSET:
            return _Field(bit_off // 8, _element_size(spec, acc.type_id), btf[acc.type_id])
        if kind is K.FIELD_BYTE_SIZE:
            return _Field(_size(spec, acc.type_id))
        raise CoreError(f"relo {KIND_NAMES[kind]} can't be applied to array access")
    owner = btf[acc.type_id]
    assert isinstance(owner, Composite)  # accessors with a name are members
    m = owner.members[acc.idx]
    field_id, mt = skip(btf, m.type)
    bit_sz = m.bitfield_size
    if bit_sz:
        byte_off, byte_sz = _bitfield_load(bit_off, bit_sz, getattr(mt, "size", 0), kind)
        validate = kind in (K.FIELD_SIGNED, K.FIELD_RSHIFT_U64)
    else:
        byte_sz = _size(spec, field_id)
        byte_off, bit_sz, validate = bit_off // 8, byte_sz * 8, True
    if kind is K.FIELD_BYTE_OFFSET:
        if m.bitfield_size:
            return _Field(byte_off, validate=validate)
        return _Field(byte_off, _element_size(spec, field_id), mt, validate)
    if kind is K.FIELD_BYTE_SIZE:
        return _Field(byte_sz, validate=validate)
    if kind is K.FIELD_SIGNED:
        signed = (isinstance(mt, EnumType) and mt.signed) or (
            isinstance(mt, Int) and bool(mt.encoding & _SIGNED)
        )
        return _Field(int(signed), validate=validate)
    # The shifts are u32 arithmetic in libbpf: a field wider than 8 bytes wraps around.
    if kind is K.FIELD_LSHIFT_U64:
        if little_endian:
            shift = 64 - (bit_off + bit_sz - byte_off * 8)
        else:
            shift = (8 - byte_sz) * 8 + (bit_off - byte_off * 8)
        return _Field(shift & _U32, validate=validate)
    return _Field((64 - bit_sz) & _U32, validate=validate)  # FIELD_RSHIFT_U64


def _bitfield_load(bit_off: int, bit_sz: int, byte_sz: int, kind: CoreReloKind) -> tuple[int, int]:
    """The smallest aligned load, at least the member type's size, covering the bitfield."""
    if byte_sz <= 0:
        raise CoreError(f"relo {KIND_NAMES[kind]}: bitfield of a type without size")
    byte_off = bit_off // 8 // byte_sz * byte_sz
    while bit_off + bit_sz - byte_off * 8 > byte_sz * 8:
        if byte_sz >= 8:
            raise CoreError(f"relo {KIND_NAMES[kind]} can't be satisfied for bitfield")
        byte_sz *= 2
        byte_off = bit_off // 8 // byte_sz * byte_sz
    return byte_off, byte_sz


def _element_size(spec: CoreSpec, type_id: int) -> int:
    """Size of what one load of this field reads: the innermost element of an array."""
    btf = spec.btf
    elem_id, t = skip(btf, type_id)
    while isinstance(t, Array):
        elem_id, t = skip(btf, t.type)
    return _size(spec, elem_id)


def _size(spec: CoreSpec, type_id: int) -> int:
    size = size_of(spec.btf, type_id)
    if size < 0:
        raise CoreError(f"type [{type_id}] has no size", source=spec.btf.source)
    return size


def _type_value(spec: CoreSpec | None) -> int:
    """``bpf_core_calc_type_relo``: 0 for every kind when the type is missing."""
    if spec is None:
        return 0
    kind = spec.kind
    if kind in (K.TYPE_ID_TARGET, K.TYPE_ID_LOCAL):
        return spec.root_type_id
    if kind is K.TYPE_SIZE:
        return _size(spec, spec.root_type_id)
    return 1  # TYPE_EXISTS, TYPE_MATCHES


def _enum_value(kind: CoreReloKind, spec: CoreSpec | None) -> int:
    """``bpf_core_calc_enumval_relo``. A 32-bit enumerator's value is sign-extended to 64
    bits (libbpf reads it as ``__s32``, whatever the enum's signedness); a 64-bit one is
    taken as is."""
    if kind is K.ENUMVAL_EXISTS:
        return int(spec is not None)
    if spec is None:
        raise _Poison
    acc = spec.accessors[0]
    t = spec.btf[acc.type_id]
    assert isinstance(t, EnumType)  # matching made the accessor on an enum
    value = t.values[acc.idx].value
    if isinstance(t, Enum):
        value &= 0xFFFFFFFF
        value = value - (1 << 32) if value >> 31 else value
    return value & _U64
