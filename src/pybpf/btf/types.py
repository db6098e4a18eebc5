"""The BTF type model: one frozen, slotted value type per kind (:func:`pybpf._util.immutable`).

A type does not know its own id: ids are positions in a :class:`~pybpf.btf.BTF` (``btf[id]``),
so the same values describe a parsed blob and one being built for encoding. References to
other types are ids (``Ptr(type=5)``); names are strings (``""`` for anonymous types).
All fields are keyword-only::

    Struct(name="point", size=8, members=(Member("x", 1, 0), Member("y", 1, 32)))

Class tree (``isinstance`` narrows the fields a kind has)::

    Type ─┬─ Void, Int, Float, Fwd, Array
          ├─ Ref ──────┬─ Ptr, Typedef
          │  (.type)   └─ Modifier ─ Volatile, Const, Restrict, TypeTag
          ├─ Composite ─ Struct, Union          (.size, .members)
          ├─ EnumType ── Enum, Enum64           (.size, .values, .signed)
          └─ Func, FuncProto, Var, Datasec, DeclTag

Kinds that add no field to their parent (``Void``, ``Ptr``, ``Typedef``, the modifiers,
``Struct``/``Union``, ``Enum``/``Enum64``) are plain subclasses with ``__slots__ = ()``: they
inherit the parent's ``__init__``, ``__repr__`` (which prints the subclass's name), ``__eq__``
(which requires the same class) and ``__hash__``, and ``dataclasses.fields`` and ``replace``
work on them as on any dataclass. Decorating them would only make the same class again
(``pybpf.btf`` is on every loader's path).
"""

from __future__ import annotations

from pybpf._records import immutable
from pybpf.btf.kinds import FuncLinkage, IntEncoding, Kind, VarLinkage

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from typing import ClassVar

__all__ = [
    "Array",
    "Composite",
    "Const",
    "Datasec",
    "DeclTag",
    "Enum",
    "Enum64",
    "EnumType",
    "EnumValue",
    "Float",
    "Func",
    "FuncProto",
    "Fwd",
    "Int",
    "Member",
    "Modifier",
    "Param",
    "Ptr",
    "Ref",
    "Restrict",
    "Struct",
    "Type",
    "TypeTag",
    "Typedef",
    "Union",
    "Var",
    "VarSecinfo",
    "Void",
    "Volatile",
]


_UNSIGNED = IntEncoding(0)


@immutable
class Member:
    """A struct/union member: ``bit_offset`` from the start of the enclosing type;
    ``bitfield_size`` is 0 unless the member is a bitfield."""

    name: str
    type: int
    bit_offset: int
    bitfield_size: int = 0


@immutable
class EnumValue:
    """An enumerator. ``value`` is signed or unsigned as the enum's ``signed`` says."""

    name: str
    value: int


@immutable
class Param:
    """A function prototype parameter (a last parameter of type 0 means ``...``)."""

    name: str
    type: int


@immutable
class VarSecinfo:
    """A variable in a DATASEC: the VAR (or FUNC, for ``.ksyms``) type id, offset, size."""

    type: int
    offset: int
    size: int


@immutable(kw_only=True)
class Type:
    """Base of every BTF type. ``kind`` is a class attribute (``Struct.kind is Kind.STRUCT``)."""

    kind: ClassVar[Kind] = Kind.UNKN
    name: str = ""


class Void(Type):
    """Type id 0: ``void``, and the absence of a type."""

    __slots__ = ()


@immutable(kw_only=True)
class Int(Type):
    """``BTF_KIND_INT``: an integer (or ``char``/``_Bool``) of ``size`` bytes.

    ``nr_bits`` of it are used, starting ``bits_offset`` bits in (clang always writes 0 and
    ``size * 8``; old bitfield encodings used other values)."""

    kind: ClassVar[Kind] = Kind.INT
    size: int
    encoding: IntEncoding = _UNSIGNED
    bits_offset: int = 0
    nr_bits: int

    @property
    def is_signed(self) -> bool:
        return bool(self.encoding & IntEncoding.SIGNED)


@immutable(kw_only=True)
class Float(Type):
    """``BTF_KIND_FLOAT``: a floating-point type of ``size`` bytes."""

    kind: ClassVar[Kind] = Kind.FLOAT
    size: int


@immutable(kw_only=True)
class Fwd(Type):
    """``BTF_KIND_FWD``: a forward declaration of a struct (or, with ``is_union``, a union)."""

    kind: ClassVar[Kind] = Kind.FWD
    is_union: bool = False


@immutable(kw_only=True)
class Array(Type):
    """``BTF_KIND_ARRAY``: ``nelems`` elements of ``type``, indexed by ``index_type``."""

    kind: ClassVar[Kind] = Kind.ARRAY
    type: int
    index_type: int
    nelems: int


@immutable(kw_only=True)
class Ref(Type):
    """A type that is another type seen differently: a pointer, typedef or modifier."""

    type: int


class Ptr(Ref):
    """``BTF_KIND_PTR``: a pointer to ``type`` (0: ``void *``)."""

    __slots__ = ()
    kind: ClassVar[Kind] = Kind.PTR


class Typedef(Ref):
    """``BTF_KIND_TYPEDEF``: ``name`` is another name for ``type``."""

    __slots__ = ()
    kind: ClassVar[Kind] = Kind.TYPEDEF


class Modifier(Ref):
    """A qualifier or type tag: libbpf's ``btf_is_mod`` kinds, skipped when resolving."""

    __slots__ = ()


class Volatile(Modifier):
    """``BTF_KIND_VOLATILE``."""

    __slots__ = ()
    kind: ClassVar[Kind] = Kind.VOLATILE


class Const(Modifier):
    """``BTF_KIND_CONST``."""

    __slots__ = ()
    kind: ClassVar[Kind] = Kind.CONST


class Restrict(Modifier):
    """``BTF_KIND_RESTRICT``."""

    __slots__ = ()
    kind: ClassVar[Kind] = Kind.RESTRICT


@immutable(kw_only=True)
class TypeTag(Modifier):
    """``BTF_KIND_TYPE_TAG``: ``btf_type_tag("name")`` on ``type``.

    ``kflag`` (Linux >= 6.14) marks a tag that is a whole attribute (``__attribute__((name))``)
    rather than a ``btf_type_tag`` string."""

    kind: ClassVar[Kind] = Kind.TYPE_TAG
    kflag: bool = False


@immutable(kw_only=True)
class Composite(Type):
    """A struct or union of ``size`` bytes.

    ``kflag`` is the record's kind flag: set, member offsets carry bitfield sizes (clang sets
    it when any member is a bitfield; the encoder sets it whenever one is)."""

    size: int
    members: tuple[Member, ...] = ()
    kflag: bool = False

    @property
    def is_struct(self) -> bool:
        return self.kind is Kind.STRUCT


class Struct(Composite):
    """``BTF_KIND_STRUCT``."""

    __slots__ = ()
    kind: ClassVar[Kind] = Kind.STRUCT


class Union(Composite):
    """``BTF_KIND_UNION``."""

    __slots__ = ()
    kind: ClassVar[Kind] = Kind.UNION


@immutable(kw_only=True)
class EnumType(Type):
    """An enum of ``size`` bytes; ``signed`` is the kind flag (Linux >= 6.0 sets it when the
    enum has a negative value; older BTF has it clear and values read as unsigned)."""

    size: int
    values: tuple[EnumValue, ...] = ()
    signed: bool = False


class Enum(EnumType):
    """``BTF_KIND_ENUM``: 32-bit enumerator values."""

    __slots__ = ()
    kind: ClassVar[Kind] = Kind.ENUM


class Enum64(EnumType):
    """``BTF_KIND_ENUM64``: 64-bit enumerator values (Linux >= 6.0)."""

    __slots__ = ()
    kind: ClassVar[Kind] = Kind.ENUM64


@immutable(kw_only=True)
class Func(Type):
    """``BTF_KIND_FUNC``: a function ``name`` whose prototype is ``type`` (a FUNC_PROTO).

    ``linkage`` is a :class:`FuncLinkage`, or a plain int when unknown."""

    kind: ClassVar[Kind] = Kind.FUNC
    type: int
    linkage: FuncLinkage | int = FuncLinkage.STATIC


@immutable(kw_only=True)
class FuncProto(Type):
    """``BTF_KIND_FUNC_PROTO``: returns ``type`` (0: ``void``) and takes ``params``."""

    kind: ClassVar[Kind] = Kind.FUNC_PROTO
    type: int
    params: tuple[Param, ...] = ()


@immutable(kw_only=True)
class Var(Type):
    """``BTF_KIND_VAR``: a global variable ``name`` of ``type``.

    ``linkage`` is a :class:`VarLinkage`, or a plain int when unknown."""

    kind: ClassVar[Kind] = Kind.VAR
    type: int
    linkage: VarLinkage | int = VarLinkage.STATIC


@immutable(kw_only=True)
class Datasec(Type):
    """``BTF_KIND_DATASEC``: the variables of an ELF section (``.data``, ``.bss`` ...)."""

    kind: ClassVar[Kind] = Kind.DATASEC
    size: int
    vars: tuple[VarSecinfo, ...] = ()


@immutable(kw_only=True)
class DeclTag(Type):
    """``BTF_KIND_DECL_TAG``: ``btf_decl_tag("name")`` on ``type`` (component_idx -1), or on
    its member/parameter number ``component_idx``."""

    kind: ClassVar[Kind] = Kind.DECL_TAG
    type: int
    component_idx: int = -1


VOID = Void()
"""The one :class:`Void` (type id 0)."""
