"""BTF as compilable C, as ``bpftool btf dump file FILE format c`` prints it.

A port of libbpf's BTF-to-C converter (``tools/lib/bpf/btf_dump.c``) as the bpftool of
Debian 12 runs it (bpftool 7.1 with the libbpf of Linux 6.1 and its stable fixes: the
padding and packed-struct rules of libbpf 1.1, ``(void)`` for prototypes without
parameters, no ``mode(byte)``/``mode(word)`` on odd-sized enums). Two passes per requested
type, exactly as libbpf does them:

1. **order**: a depth-first walk that queues every named definition the type needs, in an
   order C accepts. A member embedded by value needs its type defined first ("strong" link);
   one reached through a pointer only needs a forward declaration ("weak" link), unless an
   anonymous type in between forces the definition inline.
2. **emit**: each queued type is printed; types met while printing that are not yet defined
   get a forward declaration (``struct foo;``) first.

Anonymous structs, unions and enums are printed inline where used; names used twice get a
``___N`` suffix; padding is made explicit with anonymous bitfields (``long: 64;``) and
``__attribute__((packed))`` is added when the layout needs it. Functions, variables, data
sections and declaration tags are not printed (bpftool 7.1 does not).
"""

from __future__ import annotations

from collections.abc import Iterable

from pybpf.btf._btf import BTF
from pybpf.btf._c_print import CPrinter
from pybpf.btf.kinds import Kind
from pybpf.btf.types import (
    Array,
    Composite,
    Datasec,
    DeclTag,
    EnumType,
    Func,
    FuncProto,
    Fwd,
    Ref,
    Type,
    Var,
)

__all__ = ["EPILOGUE", "PROLOGUE", "CDumper", "format_c"]

PROLOGUE = (
    "#ifndef __VMLINUX_H__\n"
    "#define __VMLINUX_H__\n"
    "\n"
    "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n"
    "#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n"
    "#endif\n\n"
)
"""The lines bpftool prints before the types."""

EPILOGUE = (
    "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n"
    "#pragma clang attribute pop\n"
    "#endif\n"
    "\n"
    "#endif /* __VMLINUX_H__ */\n"
)
"""The lines bpftool prints after the types."""

# Per-type state, as in libbpf's struct btf_dump_type_aux_state.
_NOT_ORDERED, _ORDERING, _ORDERED = 0, 1, 2
_NOT_EMITTED, _EMITTING, _EMITTED = 0, 1, 2
_MISSING_BASE_TYPES = {
    # GCC's internal types for Arm SIMD intrinsics, aliased to standard ones.
    "__Poly8_t": "unsigned char",
    "__Poly16_t": "unsigned short",
    "__Poly64_t": "unsigned long long",
    "__Poly128_t": "unsigned __int128",
}
# Kinds emitted by emitting what they refer to first.
_DECL_LINKS = (
    Kind.PTR,
    Kind.VOLATILE,
    Kind.CONST,
    Kind.RESTRICT,
    Kind.TYPE_TAG,
    Kind.FUNC_PROTO,
    Kind.ARRAY,
)


class CDumper(CPrinter):
    """libbpf's ``struct btf_dump`` for C output: call :meth:`dump_type` for each type id
    wanted, then read :meth:`text`. Types already printed are not printed again.

    Raises (from :meth:`dump_type`):
        BTFError: a type cycle C cannot express, or malformed BTF.
    """

    def __init__(self, btf: BTF) -> None:
        super().__init__(btf)
        n = len(btf)
        self.order_state = bytearray(n)
        self.emit_state = bytearray(n)
        self.fwd_emitted = bytearray(n)
        self.referenced = bytearray(n)
        self.queue: list[int] = []
        # Ids of pointers, modifiers, typedefs, arrays and prototypes on the walk since the
        # last struct/union: meeting one again is a loop libbpf would recurse into forever.
        self._path: set[int] = set()
        self.order_state[0] = _ORDERED
        self.emit_state[0] = _EMITTED
        self._mark_referenced()

    def _mark_referenced(self) -> None:
        """Mark every type some other type refers to (top-level anonymous enums are not)."""
        ref = self.referenced
        for type_id in range(1, len(self.btf)):
            for target in _references(self.btf[type_id]):
                ref[target] = 1

    # -- pass 1: order ---------------------------------------------------------------------
    def dump_type(self, type_id: int) -> None:
        """Print ``type_id`` and every type it needs that is not printed yet."""
        if not 0 <= type_id < len(self.btf):
            raise KeyError(type_id)
        self.queue = []
        try:
            self._order(type_id, False)
            for queued in self.queue:
                self._emit(queued, 0)
        except RecursionError:
            raise self._error(f"types nest too deeply below type [{type_id}]") from None

    def _enter(self, type_id: int) -> None:
        if type_id in self._path:
            raise self._error(f"type [{type_id}] refers to itself through modifiers")
        self._path.add(type_id)

    def _order(self, type_id: int, through_ptr: bool) -> int:
        """libbpf's ``btf_dump_order_type``: 1 for a strong link, 0 for a weak one."""
        state = self.order_state[type_id]
        if state == _ORDERED:
            return 1
        t = self.btf[type_id]
        if state == _ORDERING:
            if isinstance(t, Composite) and through_ptr and t.name:
                return 0
            raise self._error(f"unsatisfiable type cycle, id:[{type_id}]")
        kind = t.kind
        if kind in (Kind.INT, Kind.FLOAT):
            self.order_state[type_id] = _ORDERED
            return 0
        if isinstance(t, Composite):
            return self._order_composite(type_id, t, through_ptr)
        if kind in (Kind.ENUM, Kind.ENUM64, Kind.FWD):
            if t.name or not self.referenced[type_id]:
                self.queue.append(type_id)
            self.order_state[type_id] = _ORDERED
            return 1
        if kind in (Kind.FUNC, Kind.VAR, Kind.DATASEC, Kind.DECL_TAG):
            self.order_state[type_id] = _ORDERED
            return 0
        self._enter(type_id)
        try:
            return self._order_link(type_id, t, through_ptr)
        finally:
            self._path.discard(type_id)

    def _order_composite(self, type_id: int, t: Composite, through_ptr: bool) -> int:
        # Part of a strong link only if embedded (no pointer on the way) or anonymous (so
        # defined inline even when reached through a pointer).
        if through_ptr and t.name:
            return 0
        self.order_state[type_id] = _ORDERING
        saved, self._path = self._path, set()  # the loop guard restarts below a composite
        try:
            for m in t.members:
                self._order(m.type, False)
        finally:
            self._path = saved
        if t.name:
            self.queue.append(type_id)
        self.order_state[type_id] = _ORDERED
        return 1

    def _order_link(self, type_id: int, t: Type, through_ptr: bool) -> int:
        kind = t.kind
        if kind is Kind.PTR:
            assert isinstance(t, Ref)
            strong = self._order(t.type, True)
            self.order_state[type_id] = _ORDERED
            return strong
        if isinstance(t, Array):
            return self._order(t.type, False)
        if kind is Kind.TYPEDEF:
            assert isinstance(t, Ref)
            strong = self._order(t.type, through_ptr)
            if through_ptr and not strong:
                return 0
            self.queue.append(type_id)
            self.order_state[type_id] = _ORDERED
            return 1
        if isinstance(t, Ref):  # volatile, const, restrict, type tag
            return self._order(t.type, through_ptr)
        if isinstance(t, FuncProto):
            strong = self._order(t.type, through_ptr) > 0
            for p in t.params:
                if self._order(p.type, through_ptr) > 0:
                    strong = True
            return int(strong)
        raise self._error(f"unexpected type [{type_id}] of kind {kind.name}")

    # -- pass 2: emit ----------------------------------------------------------------------
    def _emit(self, type_id: int, cont_id: int) -> None:
        """libbpf's ``btf_dump_emit_type``; ``cont_id`` is the containing struct (0: top)."""
        state = self.emit_state[type_id]
        if state == _EMITTED:
            return
        t = self.btf[type_id]
        if state == _EMITTING:
            self._emit_in_progress(type_id, t, cont_id)
            return
        kind = t.kind
        if kind is Kind.INT:
            self._emit_missing_aliases(type_id)
            self.emit_state[type_id] = _EMITTED
        elif isinstance(t, EnumType):
            if cont_id == 0:
                self._emit_enum_def(type_id, t, 0)
                self.out.append(";\n\n")
            self.emit_state[type_id] = _EMITTED
        elif isinstance(t, Fwd):
            self._emit_fwd_def(type_id, t)
            self.out.append(";\n\n")
            self.emit_state[type_id] = _EMITTED
        elif isinstance(t, Composite):
            self._emit_composite(type_id, t, cont_id)
        elif kind is Kind.TYPEDEF:
            assert isinstance(t, Ref)
            self._emit_typedef(type_id, t)
        elif kind in _DECL_LINKS:
            self._enter(type_id)
            try:
                for target in _links(t):
                    self._emit(target, cont_id)
            finally:
                self._path.discard(type_id)

    def _emit_in_progress(self, type_id: int, t: Type, cont_id: int) -> None:
        """A type met again while it is being emitted: forward-declare it if C needs that."""
        if self.fwd_emitted[type_id]:
            return
        if isinstance(t, Composite):
            # Referring to the struct we are inside needs no forward declaration; an
            # anonymous struct/union loop cannot be expressed at all (libbpf warns, goes on).
            if type_id == cont_id or not t.name:
                return
            self._emit_struct_fwd(type_id, t)
            self.out.append(";\n\n")
            self.fwd_emitted[type_id] = 1
        elif t.kind is Kind.TYPEDEF:
            # A typedef serves as its own forward declaration (for use through pointers).
            assert isinstance(t, Ref)
            if not self._is_blacklisted(t):
                self._emit_typedef_def(type_id, t, 0)
                self.out.append(";\n\n")
            self.fwd_emitted[type_id] = 1

    def _emit_typedef(self, type_id: int, t: Ref) -> None:
        self.emit_state[type_id] = _EMITTING
        self._emit(t.type, type_id)
        if not self.fwd_emitted[type_id] and not self._is_blacklisted(t):
            self._emit_typedef_def(type_id, t, 0)
            self.out.append(";\n\n")
        self.emit_state[type_id] = _EMITTED

    def _emit_composite(self, type_id: int, t: Composite, cont_id: int) -> None:
        self.emit_state[type_id] = _EMITTING
        top_level = cont_id == 0
        # A definition (top level, or anonymous hence inline) prints every member's type,
        # so those need their forward declarations first.
        if top_level or not t.name:
            new_cont = type_id if t.name else cont_id
            saved, self._path = self._path, set()
            try:
                for m in t.members:
                    self._emit(m.type, new_cont)
            finally:
                self._path = saved
        elif not self.fwd_emitted[type_id] and type_id != cont_id:
            self._emit_struct_fwd(type_id, t)
            self.out.append(";\n\n")
            self.fwd_emitted[type_id] = 1
        if top_level:
            self._emit_struct_def(type_id, t, 0)
            self.out.append(";\n\n")
            self.emit_state[type_id] = _EMITTED
        else:
            self.emit_state[type_id] = _NOT_EMITTED

    def _is_blacklisted(self, t: Type) -> bool:
        # __builtin_va_list is the compiler's own; redefining it breaks compilation.
        return t.name == "__builtin_va_list"

    def _emit_missing_aliases(self, type_id: int) -> None:
        name = self._type_name(type_id)
        alias = _MISSING_BASE_TYPES.get(name)
        if alias is not None:
            self.out.append(f"typedef {alias} {name};\n\n")


def _references(t: Type) -> Iterable[int]:
    """The type ids a type refers to (what libbpf's ``btf_dump_mark_referenced`` marks)."""
    if isinstance(t, Composite):
        return [m.type for m in t.members]
    if isinstance(t, FuncProto):
        return [p.type for p in t.params]
    if isinstance(t, Array):
        return (t.index_type, t.type)
    if isinstance(t, Datasec):
        return [v.type for v in t.vars]
    if isinstance(t, Ref | Func | Var | DeclTag):
        return (t.type,)
    return ()


def _links(t: Type) -> Iterable[int]:
    """The types to emit before a pointer, modifier, array or prototype."""
    if isinstance(t, FuncProto):
        return (t.type, *(p.type for p in t.params))
    if isinstance(t, Ref | Array):
        return (t.type,)
    return ()


def format_c(btf: BTF, type_ids: Iterable[int] | None = None) -> str:
    """The C dump, with bpftool's header and trailer lines.

    Args:
        type_ids: the types to print (with what they need); by default every type, the
            base's included, as bpftool prints split BTF.

    Raises:
        KeyError: a requested id does not exist.
        BTFError: malformed BTF, or a type cycle C cannot express.
    """
    dumper = CDumper(btf)
    for type_id in range(1, len(btf)) if type_ids is None else type_ids:
        dumper.dump_type(type_id)
    return PROLOGUE + dumper.text() + EPILOGUE
