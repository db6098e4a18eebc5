"""Data printed through BTF as bpftool prints it (``bpftool map dump`` of a map with BTF).

bpftool 7.1's ``btf_dumper`` walks a type over the bytes and writes JSON-like text with its
own writer: :func:`dump_data` does that walk and returns a tree (:class:`Obj`, :class:`Arr`,
:class:`Lit` printed as is, :class:`Str` printed quoted); :class:`JsonWriter` prints trees
with bpftool's pretty writer, byte for byte (its separators, four-space indents and string
escapes, including the backslash it writes as ``\\n`` — fixed in later bpftool, kept in the
7.1 that Debian ships); :func:`to_python` turns a tree into plain Python values for real
JSON (``bpftool -j``).

What bpftool prints, by kind (``plain``: the text output; otherwise the ``-j`` one)::

    int             %u/%d by size; bitfields, odd sizes and __int128 as hex (0x1f)
    char (CHAR)     "c" when printable, else 0x%x (plain) or "\\u00xx"
    _Bool           true / false
    enum            "NAME" when a value matches, else the number
    pointer         0x7f.. or (nil) (plain), the number (-j)
    char array      "string" when NUL-terminated and printable, else an array
    struct/union    {"member": value, ...} (anonymous members named "")
    VAR, DATASEC    {"name": value}, {"section": [vars ...]}

One deviation: bpftool 7.1 cannot print floats (it writes ``(unsupported-kind`` and stops the
enclosing struct); pybpf prints their value (``repr`` of the float, ``long double`` in hex).
"""

from __future__ import annotations

import json
import struct
import sys

from pybpf._records import record
from pybpf.btf.kinds import ByteOrder, IntEncoding
from pybpf.btf.layout import resolve_size
from pybpf.btf.types import (
    Array,
    Composite,
    Datasec,
    Enum,
    Enum64,
    Float,
    Fwd,
    Int,
    Modifier,
    Ptr,
    Typedef,
    TypeTag,
    Var,
    Void,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from pybpf.btf._btf import BTF

__all__ = ["NOTHING", "Arr", "JsonWriter", "Lit", "Obj", "Str", "Tree", "dump_data", "to_python"]


class Lit(str):
    """Text printed as it is (a number, ``true``, ``0x1f``, ``(nil)``, ``"c"``)."""

    __slots__ = ()


class Str(str):
    """A string printed quoted, with bpftool's escapes."""

    __slots__ = ()


class Obj(list):  # type: ignore[type-arg]
    """``{name: value, ...}``: a list of ``(name, tree)`` pairs (names may repeat: "")."""


class Arr(list):  # type: ignore[type-arg]
    """``[value, ...]``."""


Tree = Lit | Str | Obj | Arr
NOTHING = Lit("")
"""What bpftool prints where it gives up on a value: nothing at all."""
_MAX_RESOLVE = 32


@record
class _Dumper:
    btf: BTF
    plain: bool
    order: ByteOrder

    def do_type(self, type_id: int, bit: int, data: bytes, off: int) -> tuple[Tree, bool]:
        """``btf_dumper_do_type``: the tree and whether it ended without error."""
        t = self.btf[type_id]
        if isinstance(t, Int):
            return self._int(t, bit, data, off)
        if isinstance(t, Composite):
            return self._struct(t, data, off)
        if isinstance(t, Array):
            return self._array(t, data, off)
        if isinstance(t, Enum):
            return self._enum(t, data, off)
        if isinstance(t, Enum64):
            return self._enum64(t, data, off)
        if isinstance(t, Ptr):
            return self._ptr(data, off), True
        if isinstance(t, Void):
            return Lit("(unknown)"), True
        if isinstance(t, Fwd):
            return Lit("(fwd-kind-invalid)"), False
        if isinstance(t, Typedef | Modifier) and not isinstance(t, TypeTag):
            return self.do_type(self._resolve(type_id), bit, data, off)
        if isinstance(t, Var):
            inner, ok = self.do_type(t.type, bit, data, off)
            return Obj([(t.name, inner)]), ok
        if isinstance(t, Datasec):
            return self._datasec(t, data, off)
        if isinstance(t, Float):
            return self._float(t, data, off), True
        return Lit("(unsupported-kind"), False

    def _resolve(self, type_id: int) -> int:
        """libbpf's ``btf__resolve_type``: through typedefs, modifiers, type tags, VARs."""
        for _ in range(_MAX_RESOLVE):
            t = self.btf[type_id]
            if not isinstance(t, Typedef | Modifier | Var) or type_id == 0:
                return type_id
            type_id = t.type
        return type_id

    # -- integers ----------------------------------------------------------------------------
    def _hex(self, value: int) -> Lit:
        return Lit(f"0x{value:x}" if self.plain else f'"0x{value:x}"')

    def _bits(self, nbits: int, bit: int, data: bytes, off: int) -> Lit:
        """``btf_dumper_bitfield``: ``nbits`` unsigned bits, in hex."""
        off += bit >> 3
        bit &= 7
        count = (bit + nbits + 7) >> 3
        x = int.from_bytes(data[off : off + count].ljust(count, b"\0"), self.order)
        shift = bit if self.order == "little" else 8 * count - bit - nbits
        return self._hex((x >> shift) & ((1 << nbits) - 1))

    def _int(self, t: Int, bit: int, data: bytes, off: int) -> tuple[Tree, bool]:
        nbits = t.nr_bits
        if bit or t.bits_offset or nbits % 8:
            return self._bits(nbits, bit + t.bits_offset, data, off), True
        if nbits == 128:
            return self._hex(int.from_bytes(data[off : off + 16], self.order)), True
        enc = int(t.encoding)
        if enc in (0, IntEncoding.SIGNED):
            if nbits not in (8, 16, 32, 64):
                return self._bits(nbits, 0, data, off), True
            raw = data[off : off + nbits // 8]
            return Lit(str(int.from_bytes(raw, self.order, signed=bool(enc)))), True
        if enc == IntEncoding.CHAR:
            return self._char(data[off]), True
        if enc == IntEncoding.BOOL:
            return Lit("true" if data[off] else "false"), True
        return NOTHING, False  # bpftool prints nothing for other encodings

    def _char(self, c: int) -> Lit:
        if 0x20 <= c < 0x7F:
            return Lit(f'"{chr(c)}"')
        return Lit(f"0x{c:x}" if self.plain else f'"\\u00{c:02x}"')

    def _ptr(self, data: bytes, off: int) -> Lit:
        value = int.from_bytes(data[off : off + 8], self.order)
        if not self.plain:
            return Lit(str(value))
        return Lit(f"0x{value:x}" if value else "(nil)")

    def _float(self, t: Float, data: bytes, off: int) -> Lit:
        code = {2: "e", 4: "f", 8: "d"}.get(t.size)
        raw = data[off : off + t.size]
        if code is None:
            return self._hex(int.from_bytes(raw, self.order))
        fmt = ("<" if self.order == "little" else ">") + code
        value = struct.unpack(fmt, raw)[0]
        return Lit(repr(value) if self.plain else json.dumps(value))

    # -- enums -------------------------------------------------------------------------------
    def _enum(self, t: Enum, data: bytes, off: int) -> tuple[Tree, bool]:
        if t.size not in (1, 2, 4, 8):
            return NOTHING, False
        value = int.from_bytes(data[off : off + t.size], self.order, signed=True)
        for ev in t.values:
            val = ev.value & 0xFFFFFFFF
            if value == (val - (1 << 32) if val >> 31 else val):
                return Str(ev.name), True
        return Lit(str(value)), True

    def _enum64(self, t: Enum64, data: bytes, off: int) -> tuple[Tree, bool]:
        value = int.from_bytes(data[off : off + 8], self.order)
        for ev in t.values:
            if value == ev.value & 0xFFFFFFFFFFFFFFFF:
                return Str(ev.name), True
        return Lit(str(value - (1 << 64) if value >> 63 else value)), True

    # -- aggregates --------------------------------------------------------------------------
    def _struct(self, t: Composite, data: bytes, off: int) -> tuple[Tree, bool]:
        out = Obj()
        for m in t.members:
            at = off + (m.bit_offset >> 3)
            if m.bitfield_size:
                out.append((m.name, self._bits(m.bitfield_size, m.bit_offset & 7, data, at)))
                continue
            tree, ok = self.do_type(m.type, m.bit_offset & 7, data, at)
            out.append((m.name, tree))
            if not ok:
                return out, False
        return out, True

    def _is_str(self, t: Array, data: bytes, off: int) -> bool:
        """bpftool's ``is_str_array``: a char array holding a printable, NUL-ended string."""
        if not t.nelems:
            return False
        elem = self.btf[t.type]
        while isinstance(elem, Modifier):
            elem = self.btf[elem.type]
        if not isinstance(elem, Int) or elem.size != 1:
            return False
        if not elem.encoding & IntEncoding.CHAR and elem.name != "char":
            return False
        for c in data[off : off + t.nelems]:
            if c == 0:
                return True
            if c <= 0x1F or c >= 0x7F:
                return False
        return False

    def _array(self, t: Array, data: bytes, off: int) -> tuple[Tree, bool]:
        if self._is_str(t, data, off):
            end = data.index(0, off)
            return Str(data[off:end].decode("latin-1")), True
        size = resolve_size(self.btf, t.type)
        if size < 0:
            return NOTHING, False
        out = Arr()
        for i in range(t.nelems):
            tree, ok = self.do_type(t.type, 0, data, off + i * size)
            out.append(tree)
            if not ok:
                return out, False
        return out, True

    def _datasec(self, t: Datasec, data: bytes, off: int) -> tuple[Tree, bool]:
        out = Arr()
        ok = True
        for v in t.vars:
            tree, ok = self.do_type(v.type, 0, data, off + v.offset)
            out.append(tree)
            if not ok:
                break
        return Obj([(t.name, out)]), ok


def dump_data(
    btf: BTF,
    type_id: int,
    data: bytes,
    *,
    plain: bool = True,
    byteorder: ByteOrder | None = None,
) -> tuple[Tree, bool]:
    """``data`` read as type ``type_id``, as bpftool's ``btf_dumper`` walks it.

    Returns the tree and whether the walk ended without error (bpftool stops at a type it
    cannot print — a forward declaration, a function — and prints what it had).

    Args:
        plain: bpftool's text output (pointers as ``0x…``); False for its ``-j`` output.
        byteorder: of ``data`` (default: the host's, as kernel maps hold it).
    """
    dumper = _Dumper(btf, plain, byteorder or sys.byteorder)
    return dumper.do_type(type_id, 0, bytes(data), 0)


_ESCAPES = {
    "\t": "\\t",
    "\n": "\\n",
    "\r": "\\r",
    "\f": "\\f",
    "\b": "\\b",
    "\\": "\\n",  # sic: bpftool's json_writer.c prints a backslash as \n
    '"': '\\"',
}


class JsonWriter:
    """bpftool's ``json_writer.c``: separators, names and nesting, pretty (four-space
    indents, as ``bpftool map dump`` prints BTF data) or compact."""

    def __init__(self, *, pretty: bool = True) -> None:
        self.pretty = pretty
        self.parts: list[str] = []
        self.depth = 0
        self.sep = ""

    def text(self) -> str:
        """What was written so far."""
        return "".join(self.parts)

    def _eol(self) -> None:
        if self.pretty:
            self.parts.append("\n" + "    " * self.depth)

    def _eor(self) -> None:
        if self.sep:
            self.parts.append(self.sep)
        self.sep = ","

    def _puts(self, text: str) -> None:
        self.parts.append('"' + "".join(_ESCAPES.get(c, c) for c in text) + '"')

    def start(self, bracket: str) -> None:
        """``{`` or ``[``."""
        self._eor()
        self.parts.append(bracket)
        self.depth += 1
        self.sep = ""

    def end(self, bracket: str) -> None:
        """``}`` or ``]``."""
        self.depth -= 1
        if self.sep:
            self._eol()
        self.parts.append(bracket)
        self.sep = ","

    def name(self, name: str) -> None:
        """A property name (``"key": ``)."""
        self._eor()
        self._eol()
        self.sep = ""
        self._puts(name)
        self.parts.append(": " if self.pretty else ":")

    def literal(self, text: str) -> None:
        """A value printed as it is."""
        self._eor()
        self.parts.append(text)

    def string(self, text: str) -> None:
        """A quoted string value."""
        self._eor()
        self._puts(text)

    def raw(self, text: str) -> None:
        """Text outside the JSON structure (bpftool's ``printf`` between writer calls)."""
        self.parts.append(text)

    def write(self, tree: Tree) -> None:
        """A tree from :func:`dump_data`."""
        if isinstance(tree, Obj):
            self.start("{")
            for name, value in tree:
                self.name(name)
                self.write(value)
            self.end("}")
        elif isinstance(tree, Arr):
            self.start("[")
            for value in tree:
                self.write(value)
            self.end("]")
        elif isinstance(tree, Str):
            self.string(tree)
        elif tree:
            self.literal(tree)


def to_python(tree: Tree) -> object:
    """A tree as plain Python values (what ``json.loads`` of bpftool's ``-j`` output gives)."""
    if isinstance(tree, Obj):
        return {name: to_python(value) for name, value in tree}
    if isinstance(tree, Arr):
        return [to_python(value) for value in tree]
    if isinstance(tree, Str):
        return str(tree)
    try:
        return json.loads(tree)
    except ValueError:
        return str(tree)
