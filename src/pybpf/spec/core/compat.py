"""CO-RE's notions of names and compatibility between a local type and a target type.

The rules are libbpf's (``tools/lib/bpf/relo_core.c`` and ``libbpf.c``), so that a program
relocates here exactly as it would under libbpf:

- a *flavor* is a ``___suffix``: ``task_struct___old`` is the local view of
  ``task_struct``; :func:`essential_name` drops the last such suffix;
- :func:`kinds_compat`: same BTF kind, or both enums (``ENUM`` and ``ENUM64`` mix);
- :func:`fields_are_compat` (field relocations), :func:`types_are_compat` (type
  relocations) and :func:`types_match` (``bpf_core_type_matches()``) compare structure,
  each with its own rules, documented on the function.

See https://docs.kernel.org/bpf/libbpf/program_types.html and
https://nakryiko.com/posts/bpf-core-reference-guide/ for what users write.
"""

from __future__ import annotations

from pybpf.btf._btf import BTF
from pybpf.btf.types import (
    Array,
    Composite,
    EnumType,
    Float,
    FuncProto,
    Fwd,
    Int,
    Ptr,
    Struct,
    Type,
    Union,
    Void,
)
from pybpf.spec.core._fast import skip
from pybpf.spec.core.errors import CoreError

__all__ = [
    "MAX_DEPTH",
    "essential_name",
    "fields_are_compat",
    "kind_name",
    "kinds_compat",
    "names_match",
    "types_are_compat",
    "types_match",
]

MAX_DEPTH = 32
"""libbpf's bound on recursion (pointer/array chains, nested prototypes and members)."""

_SIGNED = 1  # BTF_INT_SIGNED


def essential_name(name: str) -> str:
    """``name`` without its flavor: the part before the last ``X___Y`` separator.

    An ``X___Y`` separator is three underscores between two characters that are not
    underscores (libbpf's ``bpf_core_essential_name_len``)::

        essential_name("task_struct___old") == "task_struct"
        essential_name("a___b___c") == "a___b"
        essential_name("__x___") == "__x___"
    """
    at = name.rfind("___")
    while at > 0:
        # the separator starts one before the underscores: name[at-1] and name[at+3]
        if name[at - 1] != "_" and at + 3 < len(name) and name[at + 3] != "_":
            return name[:at]
        at = name.rfind("___", 0, at + 2)
    return name


def kind_name(t: Type) -> str:
    """libbpf's ``btf_kind_str``: ``"struct"``, ``"enum64"``, ``"void"`` ..."""
    return "void" if isinstance(t, Void) else t.kind.name.lower()


def kinds_compat(a: Type, b: Type) -> bool:
    """libbpf's ``btf_kind_core_compat``: the same kind, or an enum and an enum64."""
    return type(a) is type(b) or (isinstance(a, EnumType) and isinstance(b, EnumType))


def names_match(local: str, target: str) -> bool:
    """libbpf's ``bpf_core_names_match``: equal essential names; an anonymous target
    matches only an anonymous local."""
    if not target:
        return not local
    return essential_name(local) == essential_name(target)


def fields_are_compat(local_btf: BTF, local_id: int, targ_btf: BTF, targ_id: int) -> bool:
    """Whether a local field's type may be relocated to a target field's type.

    After typedefs and modifiers: any two structs/unions; pointers; floats; enums or
    forward declarations whose essential names agree (or one is anonymous); integers that
    are not old-style bitfield integers; arrays whose element types are compatible
    (dimensions ignored). Nothing else.
    """
    for _ in range(MAX_DEPTH * 16):
        local_id, lt = skip(local_btf, local_id)
        targ_id, tt = skip(targ_btf, targ_id)
        if isinstance(lt, Composite) and isinstance(tt, Composite):
            return True
        if not kinds_compat(lt, tt):
            return False
        if isinstance(lt, Ptr | Float):
            return True
        if isinstance(lt, Fwd | EnumType):
            ln, tn = essential_name(lt.name), essential_name(tt.name)
            return not ln or not tn or ln == tn
        if isinstance(lt, Int) and isinstance(tt, Int):
            return lt.bits_offset == 0 and tt.bits_offset == 0
        if isinstance(lt, Array) and isinstance(tt, Array):
            local_id, targ_id = lt.type, tt.type
            continue
        return False
    raise CoreError(f"array types nest deeper than {MAX_DEPTH * 16}", source=local_btf.source)


def types_are_compat(
    local_btf: BTF, local_id: int, targ_btf: BTF, targ_id: int, level: int = MAX_DEPTH
) -> bool:
    """Whether two types are compatible for a type relocation (libbpf's
    ``bpf_core_types_are_compat``; the root names were already matched).

    Typedefs and modifiers are skipped; structs, unions, enums (any size), forward
    declarations and void match their own kind; integers match unless old-style bitfield
    integers; pointers and arrays recurse into what they point to / hold (dimensions
    ignored); prototypes need the same number of parameters and compatible parameter and
    return types. Everything else is incompatible.

    Raises:
        CoreError: pointer/array/prototype chains deeper than libbpf's bound of 32.
    """
    if not kinds_compat(local_btf[local_id], targ_btf[targ_id]):
        return False
    for _ in range(MAX_DEPTH):
        local_id, lt = skip(local_btf, local_id)
        targ_id, tt = skip(targ_btf, targ_id)
        if not kinds_compat(lt, tt):
            return False
        if isinstance(lt, Void | Composite | EnumType | Fwd):
            return True
        if isinstance(lt, Int) and isinstance(tt, Int):
            return lt.bits_offset == 0 and tt.bits_offset == 0
        if isinstance(lt, Ptr | Array) and isinstance(tt, Ptr | Array):
            local_id, targ_id = lt.type, tt.type
        elif isinstance(lt, FuncProto) and isinstance(tt, FuncProto):
            if not _protos_compat(local_btf, lt, targ_btf, tt, level):
                return False
            local_id, targ_id = lt.type, tt.type
        else:
            return False  # libbpf: "unexpected kind %s relocated"
    raise _too_deep(local_btf, local_id, targ_id)


def _protos_compat(local_btf: BTF, lt: FuncProto, targ_btf: BTF, tt: FuncProto, level: int) -> bool:
    if len(lt.params) != len(tt.params):
        return False
    for lp, tp in zip(lt.params, tt.params, strict=True):
        if level <= 0:
            raise _too_deep(local_btf, lp.type, tp.type)
        lid, _ = skip(local_btf, lp.type)
        tid, _ = skip(targ_btf, tp.type)
        if not types_are_compat(local_btf, lid, targ_btf, tid, level - 1):
            return False
    return True


def _too_deep(local_btf: BTF, local_id: int, targ_id: int) -> CoreError:
    return CoreError(
        f"types nest deeper than {MAX_DEPTH} comparing local [{local_id}] and target [{targ_id}]",
        source=local_btf.source,
    )


def types_match(local_btf: BTF, local_id: int, targ_btf: BTF, targ_id: int) -> bool:
    """Whether two types *match* (``bpf_core_type_matches()``, libbpf's
    ``bpf_core_types_match``), a stricter relation than :func:`types_are_compat`.

    Typedefs and modifiers are skipped and names must match (modulo flavors) at every
    level. Integers: same size and signedness. Pointers and arrays (same length) recurse.
    Structs/unions: every local member has a same-named target member whose type matches
    (behind a pointer, a struct/union also matches a forward declaration of its kind).
    Enums: same size, every local enumerator name present in the target (enum and enum64
    mix). Prototypes: same arity, matching parameters and return type.

    Raises:
        CoreError: nesting deeper than libbpf's bound of 32.
    """
    return _match(local_btf, local_id, targ_btf, targ_id, behind_ptr=False, level=MAX_DEPTH)


def _match(lb: BTF, lid: int, tb: BTF, tid: int, *, behind_ptr: bool, level: int) -> bool:
    if level <= 0:
        raise _too_deep(lb, lid, tid)
    for _ in range(MAX_DEPTH):
        lid, lt = skip(lb, lid)
        tid, tt = skip(tb, tid)
        if not names_match(lt.name, tt.name):
            return False
        if isinstance(lt, Ptr):
            if not isinstance(tt, Ptr):
                return False
            behind_ptr, lid, tid = True, lt.type, tt.type
        elif isinstance(lt, Array):
            if not isinstance(tt, Array) or lt.nelems != tt.nelems:
                return False
            lid, tid = lt.type, tt.type
        elif isinstance(lt, FuncProto):
            if not isinstance(tt, FuncProto) or len(lt.params) != len(tt.params):
                return False
            for lp, tp in zip(lt.params, tt.params, strict=True):
                if not _match(lb, lp.type, tb, tp.type, behind_ptr=behind_ptr, level=level - 1):
                    return False
            lid, tid = lt.type, tt.type
        else:
            return _match_leaf(lb, lt, tb, tt, behind_ptr=behind_ptr, level=level)
    raise _too_deep(lb, lid, tid)


def _match_leaf(lb: BTF, lt: Type, tb: BTF, tt: Type, *, behind_ptr: bool, level: int) -> bool:
    """:func:`_match` for the kinds that end the walk (no tail recursion)."""
    if isinstance(lt, Void):
        return isinstance(tt, Void)
    if isinstance(lt, Fwd):
        if isinstance(tt, Fwd):
            return lt.is_union == tt.is_union
        if behind_ptr:
            return isinstance(tt, Union) if lt.is_union else isinstance(tt, Struct)
        return False
    if isinstance(lt, EnumType):
        return isinstance(tt, EnumType) and _enums_match(lt, tt)
    if isinstance(lt, Composite):
        if behind_ptr:
            if type(lt) is type(tt):
                return True
            return isinstance(tt, Fwd) and tt.is_union == isinstance(lt, Union)
        if type(lt) is not type(tt):
            return False
        assert isinstance(tt, Composite)
        return _composites_match(lb, lt, tb, tt, level=level)
    if isinstance(lt, Int):
        return (
            isinstance(tt, Int)
            and lt.size == tt.size
            and (lt.encoding & _SIGNED) == (tt.encoding & _SIGNED)
        )
    return False  # libbpf: "unexpected kind %s relocated"


def _enums_match(lt: EnumType, tt: EnumType) -> bool:
    if lt.size != tt.size or len(lt.values) > len(tt.values):
        return False
    return all(any(names_match(lv.name, tv.name) for tv in tt.values) for lv in lt.values)


def _composites_match(lb: BTF, lt: Composite, tb: BTF, tt: Composite, *, level: int) -> bool:
    # only reached with behind_ptr False: behind a pointer, composites match by kind alone
    if len(lt.members) > len(tt.members):
        return False
    for lm in lt.members:
        for tm in tt.members:
            if names_match(lm.name, tm.name) and _match(
                lb, lm.type, tb, tm.type, behind_ptr=False, level=level - 1
            ):
                break
        else:
            return False
    return True
