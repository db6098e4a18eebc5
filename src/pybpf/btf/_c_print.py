"""The C printer behind :mod:`pybpf.btf._format_c`: definitions, declarations and names.

:class:`CPrinter` writes one struct/union/enum/typedef definition or one declarator at a time,
exactly as libbpf's ``btf_dump.c`` does (its ``btf_dump_emit_*_def``, ``emit_type_decl``,
``emit_type_chain``, ``emit_bit_padding`` and name de-duplication); deciding *which* types to
print and in what order is :class:`~pybpf.btf._format_c.CDumper`'s job.
"""

from __future__ import annotations

from pybpf.btf._btf import BTF
from pybpf.btf.kinds import Kind
from pybpf.btf.layout import align_of, is_struct_packed, resolve_size
from pybpf.btf.types import Array, Composite, Enum, EnumType, FuncProto, Fwd, Ref, Type, TypeTag
from pybpf.errors import BTFError, Location

__all__ = ["CPrinter"]

_MAX_TABS = 13
_MAX_PAD_BITS = 1 << 23  # a gap over 1 MiB in one struct is treated as corrupted BTF
_MODS = (Kind.VOLATILE, Kind.CONST, Kind.RESTRICT)
_MOD_KINDS = (*_MODS, Kind.TYPE_TAG)
_MOD_WORD = {Kind.VOLATILE: "volatile", Kind.CONST: "const", Kind.RESTRICT: "restrict"}
_DECL_TERMINALS = (
    Kind.INT,
    Kind.ENUM,
    Kind.ENUM64,
    Kind.FWD,
    Kind.STRUCT,
    Kind.UNION,
    Kind.TYPEDEF,
    Kind.FLOAT,
)


def _pfx(lvl: int) -> str:
    return "\t" * min(lvl, _MAX_TABS)


def _roundup(x: int, y: int) -> int:
    return (x + y - 1) // y * y if y else x


class CPrinter:
    """Prints C for the types of one BTF into :attr:`out` (a list of strings).

    Names printed twice get a ``___N`` suffix, counted per namespace as libbpf does: struct,
    union and enum tags (and INT names) in one, typedefs and enumerators in another.
    """

    def __init__(self, btf: BTF) -> None:
        self.btf = btf
        self.out: list[str] = []
        self.ptr_sz = btf.pointer_size
        self.name_resolved = bytearray(len(btf))
        self.cached_names: dict[int, str] = {}
        self.type_names: dict[str, int] = {}
        self.ident_names: dict[str, int] = {}

    def text(self) -> str:
        return "".join(self.out)

    def _error(self, reason: str) -> BTFError:
        return BTFError(reason, Location(self.btf.source))

    # -- definitions -----------------------------------------------------------------------
    def _emit_struct_fwd(self, type_id: int, t: Composite) -> None:
        keyword = "struct" if t.kind is Kind.STRUCT else "union"
        sep = " " if t.name else ""
        self.out.append(f"{keyword}{sep}{self._type_name(type_id)}")

    def _emit_struct_def(self, type_id: int, t: Composite, lvl: int) -> None:
        is_struct = t.kind is Kind.STRUCT
        align = align_of(self.btf, type_id)
        packed = is_struct and is_struct_packed(self.btf, t)
        self._emit_struct_fwd(type_id, t)
        self.out.append(" {")
        off, prev_bitfield = 0, False
        for m in t.members:
            m_align = 1 if packed else align_of(self.btf, m.type)
            in_bitfield = prev_bitfield and m.bitfield_size != 0
            self._emit_bit_padding(off, m.bit_offset, m_align, in_bitfield, lvl + 1)
            self.out.append("\n" + _pfx(lvl + 1))
            self._emit_type_decl(m.type, m.name, lvl + 1)
            if m.bitfield_size:
                self.out.append(f": {m.bitfield_size}")
                off, prev_bitfield = m.bit_offset + m.bitfield_size, True
            else:
                size = max(0, resolve_size(self.btf, m.type))
                off, prev_bitfield = m.bit_offset + size * 8, False
            self.out.append(";")
        if is_struct:
            self._emit_bit_padding(off, t.size * 8, align, False, lvl + 1)
        # `struct empty {}` stays on one line.
        self.out.append(f"\n{_pfx(lvl)}}}" if t.members or t.size else "}")
        if packed:
            self.out.append(" __attribute__((packed))")

    def _emit_bit_padding(
        self, cur_off: int, next_off: int, next_align: int, in_bitfield: bool, lvl: int
    ) -> None:
        """Fill the gap before the next member with anonymous bitfields, relying on natural
        alignment where C would pad the same way anyway (libbpf's rules, verbatim)."""
        if cur_off >= next_off:
            return
        if next_off - cur_off > _MAX_PAD_BITS:
            # bpftool would print one `long: 64;` per 8 bytes of a (corrupted) size of GiBs.
            raise self._error(f"a gap of {(next_off - cur_off) // 8} bytes in a struct")
        pads = (("long", self.ptr_sz * 8), ("int", 32), ("short", 16), ("char", 8))
        pad_type, pad_bits = pads[-1]
        new_off = cur_off
        for pad_type, pad_bits in pads:  # noqa: B007 - the loop variables are used after it
            new_off = _roundup(cur_off, pad_bits)
            if new_off <= next_off:
                break
        if cur_off < new_off <= next_off:
            # An explicit `<type>: 0` is needed when the next member sits right at the
            # boundary but aligns less strictly, or when `<type>: X` would fit in the hole.
            if (
                in_bitfield
                or (new_off == next_off and _roundup(cur_off, next_align * 8) != new_off)
                or (new_off != next_off and next_off - new_off <= new_off - cur_off)
            ):
                width = new_off - cur_off if in_bitfield else 0
                self.out.append(f"\n{_pfx(lvl)}{pad_type}: {width};")
            cur_off = new_off
        while cur_off != next_off:
            bits = min(next_off - cur_off, pad_bits)
            if bits == pad_bits:
                self.out.append(f"\n{_pfx(lvl)}{pad_type}: {pad_bits};")
                cur_off += bits
                continue
            for pad_type, pad_bits in reversed(pads):  # as libbpf does: keeps the last
                if pad_bits >= bits:
                    self.out.append(f"\n{_pfx(lvl)}{pad_type}: {bits};")
                    cur_off += bits
                    break

    def _emit_enum_def(self, type_id: int, t: EnumType, lvl: int) -> None:
        sep = " " if t.name else ""
        self.out.append(f"enum{sep}{self._type_name(type_id)}")
        if not t.values:
            return
        self.out.append(" {")
        suffix = ("LL" if t.signed else "ULL") if t.kind is Kind.ENUM64 else ""
        indent = _pfx(lvl + 1)
        for v in t.values:
            # Enumerators share their namespace with typedef names.
            dups = self._name_dups(self.ident_names, v.name)
            name = f"{v.name}___{dups}" if dups > 1 else v.name
            self.out.append(f"\n{indent}{name} = {v.value}{suffix},")
        self.out.append(f"\n{_pfx(lvl)}}}")

    def _emit_fwd_def(self, type_id: int, t: Fwd) -> None:
        keyword = "union" if t.is_union else "struct"
        self.out.append(f"{keyword} {self._type_name(type_id)}")

    def _emit_typedef_def(self, type_id: int, t: Ref, lvl: int) -> None:
        name = self._ident_name(type_id)
        # Old GCC wrote __gnuc_va_list as a typedef of void; libbpf repairs it.
        if t.type == 0 and name == "__gnuc_va_list":
            self.out.append("typedef __builtin_va_list __gnuc_va_list")
            return
        self.out.append("typedef ")
        self._emit_type_decl(t.type, name, lvl)

    # -- declarations ----------------------------------------------------------------------
    def _emit_type_decl(self, type_id: int, fname: str, lvl: int) -> None:
        """Declare ``fname`` of type ``type_id`` in C syntax (libbpf's algorithm: push the
        chain of pointers, modifiers, arrays and prototypes down to a named type, then print
        it back from the named type outwards)."""
        stack: list[int] = []
        seen = 0
        while True:
            stack.append(type_id)
            if type_id == 0:
                break
            t = self.btf[type_id]
            if t.kind in _DECL_TERMINALS:
                break
            if not isinstance(t, Ref | Array | FuncProto):
                break  # libbpf warns "unexpected type in decl chain" and prints what it has
            seen += 1
            if seen > len(self.btf):
                raise self._error(f"declaration of type [{stack[0]}] loops")
            type_id = t.type
        self._emit_type_chain(stack, fname, lvl)

    def _emit_mods(self, decls: list[int]) -> None:
        """Print the const/volatile/restrict on top of the stack before a named type."""
        while decls:
            kind = self.btf.kind_of(decls[-1])
            if kind not in _MODS:
                return
            self.out.append(_MOD_WORD[kind] + " ")
            decls.pop()

    def _drop_mods(self, decls: list[int]) -> None:
        while decls and self.btf.kind_of(decls[-1]) in _MOD_KINDS:
            decls.pop()

    def _emit_name(self, name: str, last_was_ptr: bool) -> None:
        self.out.append(" " + name if name and not last_was_ptr else name)

    def _emit_type_chain(self, decls: list[int], fname: str, lvl: int) -> None:
        # last_was_ptr avoids a space between stars: `int ***`, not `int * * *`.
        last_was_ptr = True
        out = self.out
        while decls:
            type_id = decls.pop()
            t = self.btf[type_id]
            kind = t.kind
            if type_id == 0 or kind in _DECL_TERMINALS:
                self._emit_mods(decls)
                self._emit_named(type_id, t, lvl)
            elif kind is Kind.PTR:
                out.append("*" if last_was_ptr else " *")
            elif kind in _MODS:
                out.append(" " + _MOD_WORD[kind])
            elif isinstance(t, TypeTag):
                self._emit_mods(decls)
                out.append(f' __attribute__((btf_type_tag("{t.name}")))')
            elif isinstance(t, Array):
                self._emit_array(t, decls, fname, lvl, last_was_ptr)
                return
            elif isinstance(t, FuncProto):
                self._emit_func_proto(t, decls, fname, lvl, last_was_ptr)
                return
            else:
                return  # libbpf: "unexpected type in decl chain"
            last_was_ptr = kind is Kind.PTR
        self._emit_name(fname, last_was_ptr)

    def _emit_named(self, type_id: int, t: Type, lvl: int) -> None:
        """The type a declarator ends at: void, a base type, a tag or a typedef name; an
        anonymous struct, union or enum is defined right there."""
        if type_id == 0:
            self.out.append("void")
        elif isinstance(t, Composite):
            if t.name:
                self._emit_struct_fwd(type_id, t)
            else:
                self._emit_struct_def(type_id, t, lvl)
        elif isinstance(t, EnumType):
            if t.name:
                self.out.append(f"enum {self._type_name(type_id)}")
            else:
                self._emit_enum_def(type_id, t, lvl)
        elif isinstance(t, Fwd):
            self._emit_fwd_def(type_id, t)
        elif t.kind is Kind.TYPEDEF:
            self.out.append(self._ident_name(type_id))
        else:  # INT, FLOAT
            self.out.append(t.name)

    def _emit_array(
        self, t: Array, decls: list[int], fname: str, lvl: int, last_was_ptr: bool
    ) -> None:
        # const/volatile on an array itself mean nothing (GCC emits them); drop them.
        self._drop_mods(decls)
        if not decls:
            self._emit_name(fname, last_was_ptr)
            self.out.append(f"[{t.nelems}]")
            return
        multidim = self.btf.kind_of(decls[-1]) is Kind.ARRAY
        if fname and not last_was_ptr:
            self.out.append(" ")
        if not multidim:
            self.out.append("(")
        self._emit_type_chain(decls, fname, lvl)
        if not multidim:
            self.out.append(")")
        self.out.append(f"[{t.nelems}]")

    def _emit_func_proto(
        self, t: FuncProto, decls: list[int], fname: str, lvl: int, last_was_ptr: bool
    ) -> None:
        # GCC adds volatile to noreturn function pointers; drop such qualifiers.
        self._drop_mods(decls)
        if decls:
            self.out.append(" (")
            self._emit_type_chain(decls, fname, lvl)
            self.out.append(")")
        else:
            self._emit_name(fname, last_was_ptr)
        self.out.append("(")
        params = t.params
        # clang writes `f(void)` as one parameter of type void; print both as (void).
        if not params or (len(params) == 1 and params[0].type == 0):
            self.out.append("void)")
            return
        for i, p in enumerate(params):
            if i:
                self.out.append(", ")
            if i == len(params) - 1 and p.type == 0:
                self.out.append("...")  # a last parameter of type void is the vararg
                break
            self._emit_type_decl(p.type, p.name, lvl)
        self.out.append(")")

    # -- names -----------------------------------------------------------------------------
    @staticmethod
    def _name_dups(names: dict[str, int], name: str) -> int:
        count = names.get(name, 0) + 1
        names[name] = count
        return count

    def _resolve_name(self, type_id: int, names: dict[str, int]) -> str:
        """The C name of a type: its own, or ``name___N`` for the N-th type of that name."""
        t = self.btf[type_id]
        if not t.name:
            return ""
        if self.name_resolved[type_id]:
            return self.cached_names.get(type_id, t.name)
        self.name_resolved[type_id] = 1
        # Forward declarations and empty enums (forward-declared enums) keep their name.
        if isinstance(t, Fwd) or (isinstance(t, Enum) and not t.values):
            return t.name
        dups = self._name_dups(names, t.name)
        if dups > 1:
            self.cached_names[type_id] = f"{t.name}___{dups}"[:255]  # libbpf's 256-byte buffer
        return self.cached_names.get(type_id, t.name)

    def _type_name(self, type_id: int) -> str:
        return self._resolve_name(type_id, self.type_names)

    def _ident_name(self, type_id: int) -> str:
        return self._resolve_name(type_id, self.ident_names)
