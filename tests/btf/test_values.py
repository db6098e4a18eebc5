"""pybpf.btf.values: BTF types as Python values and back, on the BTF of the fixture objects.

Every kind is decoded from the initial values clang wrote into the objects (both byte orders);
random bytes of every struct, union, DATASEC and variable type decode and encode back to the
same bytes (padding included); construction, errors and the generated classes are checked
one by one. bpftool's way of printing data (pybpf.btf.format_data) has its own tests at the
end; the live comparison with bpftool is in tests/objects/test_obj_typed.py.
"""

from __future__ import annotations

import copy
import enum
import functools
import gc
import math
import random
import struct
from collections.abc import Iterator

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from pybpf.btf import (
    BTF,
    Array,
    Enum,
    EnumValue,
    Float,
    Int,
    IntEncoding,
    Kind,
    Member,
    Struct,
)
from pybpf.btf.encode import encode
from pybpf.btf.format_data import JsonWriter, dump_data, to_python
from pybpf.btf.layout import resolve_size
from pybpf.btf.values import MapCodec, StructValue, TypeCodec, UnionValue, raw_of, type_codec
from pybpf.errors import BTFError, CodecError
from pybpf.spec import CollectionSpec
from tests.btf.btfutil import vmlinux
from tests.conftest import OBJ

ORDERS = ("el", "eb")


@functools.cache
def spec(name: str, order: str = "el") -> CollectionSpec:
    return CollectionSpec.from_file(OBJ / f"{name}.{order}.v3.o")


@functools.cache
def fixed(name: str, order: str = "el") -> BTF:
    """The object's BTF with libbpf's load-time fix-ups (DATASEC sizes and offsets)."""
    s = spec(name, order)
    assert isinstance(s.btf, BTF)
    return s.btf.replaced(s.btf_fixups)


def tid(btf: BTF, name: str, *kinds: Kind) -> int:
    found = [i for i in btf.find(name) if not kinds or btf.kind_of(i) in kinds]
    assert found, name
    return found[0]


def codec(name: str, type_name: str, *kinds: Kind, order: str = "el") -> TypeCodec:
    btf = fixed(name, order)
    return type_codec(btf, tid(btf, type_name, *kinds))


def var(name: str, variable: str, order: str = "el") -> tuple[TypeCodec, bytes]:
    v = spec(name, order).variables[variable]
    assert isinstance(v.btf, BTF) and v.type is not None
    return type_codec(v.btf, v.type), v.value


# -- every kind, from the initial values in the objects ------------------------------------
KINDS = [
    # (variable, python type, value clang wrote)
    ("const_int", int, 42),  # CONST -> INT
    ("tagged_var", int, 3),  # INT with a decl tag
    ("schar", int, -1),
    ("uchar", int, 255),
    ("sshort", int, -2),
    ("ushort", int, 0),
    ("slong", int, 0),
    ("volatile_long", int, 0),  # VOLATILE
    ("i128", int, 0),
    ("u128", int, 0),
    ("boolean", bool, True),
    ("a_float", float, 1.5),  # FLOAT 4
    ("a_double", float, 2.25),  # FLOAT 8
    ("string", bytes, b"btf"),  # char[4]: a string without its NUL
    ("restricted_ptr", int, 0),  # RESTRICT -> PTR
    ("global_fwd", int, 0),  # PTR to a FWD
]


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize(("name", "kind", "value"), KINDS)
def test_scalar_kinds_decode_as_python_values(
    order: str, name: str, kind: type, value: object
) -> None:
    c, data = var("btf_kinds", name, order)
    got = c.decode(data)
    assert type(got) is kind and got == value
    assert c.python_type is kind
    assert c.encode(got) == data


@pytest.mark.parametrize("order", ORDERS)
def test_struct_node_has_every_member_kind(order: str) -> None:
    c, data = var("btf_kinds", "root", order)
    root = c.decode(data)
    assert isinstance(root, StructValue) and type(root).__name__ == "node"
    assert c.python_type is type(root)
    assert root.color.name == "GREEN" and isinstance(root.color, enum.IntEnum)  # ENUM
    assert root.sv.name == "NEG" and root.sv == -3  # signed ENUM
    assert root.wide.name == "WIDE_BIG" and root.wide == 0x123456789ABC  # ENUM64
    assert root.wide_signed == 0 and not isinstance(root.wide_signed, enum.Enum)  # unnamed
    assert root.matrix == ((0, 0, 0), (0, 0, 0))  # multi-dimensional ARRAY
    assert root.point == type(root.point)(x=0, y=0)  # anonymous struct type of a named member
    assert type(root.point).__name__ == "node.point"
    assert isinstance(root._anon0, UnionValue)  # anonymous UNION member
    assert root.as_u32 == 0 and root.as_bytes == bytes(4)  # ... read by its members' names
    assert root.bits._fields == ("a", "b", "c", "d", "flag")  # bitfields
    assert root.name == b"" and root.tail == b""  # char[16], flexible __u8[]
    assert root.ratio == 0.0 and root.mean == 0.0
    assert root.next == 0 and root.cb == 0 and root.handler == 0  # pointers
    assert c.encode(root) == data


@pytest.mark.parametrize("order", ORDERS)
def test_datasec_values_are_objects_with_the_variables(order: str) -> None:
    s = spec("globals", order)
    btf = fixed("globals", order)
    rodata = s.maps[".rodata"]
    assert rodata.value_type is not None and rodata.data is not None
    c = type_codec(btf, rodata.value_type)
    value = c.decode(rodata.data.ljust(rodata.value_size, b"\0"))
    assert type(value).__name__ == ".rodata"
    assert value.cfg.port == 8080 and value.cfg.limits == (10, 20, 30)
    assert value.sample_rate == 100 and value.use_fast_path is False
    assert value.greeting == b"pybpf"
    assert c.encode(value) == rodata.data.ljust(rodata.value_size, b"\0")
    data = s.maps[".data"]
    assert data.value_type is not None and data.data is not None
    d = type_codec(btf, data.value_type).decode(data.data.ljust(data.value_size, b"\0"))
    assert (d.generation, d.tag, d.data_local) == (7, b"v1", -1)


def test_types_without_a_value_are_refused() -> None:
    btf = fixed("btf_kinds")
    for type_id in (0, tid(btf, "never_defined", Kind.FWD), tid(btf, "visit", Kind.FUNC)):
        with pytest.raises(BTFError, match="has no value"):
            type_codec(btf, type_id)
    with pytest.raises(KeyError):
        type_codec(btf, 10**6)


def test_byte_order_is_the_btf_s_unless_told() -> None:
    c, data = var("btf_kinds", "tagged_var", "eb")
    assert data == (3).to_bytes(4, "big") and c.decode(data) == 3
    btf = fixed("btf_kinds", "eb")
    little = type_codec(btf, tid(btf, "int", Kind.INT), byteorder="little")
    assert little.decode((3).to_bytes(4, "little")) == 3 and little is not c


# -- round trips ---------------------------------------------------------------------------
def _composites() -> Iterator[tuple[str, str, int]]:
    for name in ("btf_kinds", "globals", "maps", "core"):
        for order in ORDERS:
            btf = fixed(name, order)
            for type_id, t in btf.iter_types():
                sized = t.kind in (Kind.STRUCT, Kind.UNION, Kind.DATASEC) and btf.sizeof(type_id)
                if sized and t.name not in ("license", ".maps"):
                    yield name, order, type_id


COMPOSITES = list(_composites())


def _nans(value: object) -> bool:
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, tuple):
        return any(_nans(v) for v in value)
    return False


@pytest.mark.parametrize(("name", "order", "type_id"), COMPOSITES)
@given(data=st.data())
def test_random_bytes_decode_and_encode_back(
    name: str, order: str, type_id: int, data: st.DataObject
) -> None:
    c = type_codec(fixed(name, order), type_id)
    raw = data.draw(st.binary(min_size=c.size, max_size=c.size))
    value = c.decode(raw)
    assume(not _nans(value))  # float NaN payloads do not survive a Python float
    assert c.encode(value) == raw
    assert c.decode(c.encode(value)) == value
    assert bytes(value) == raw
    many = c.decode_many(raw * 3, 3)
    assert many == [value] * 3


def test_round_trips_cover_every_composite_of_the_fixtures() -> None:
    assert len(COMPOSITES) > 60
    kinds = {fixed(n, o).kind_of(i) for n, o, i in COMPOSITES}
    assert kinds == {Kind.STRUCT, Kind.UNION, Kind.DATASEC}


@given(st.binary(min_size=16, max_size=16))
def test_padding_is_kept_and_zero_padding_is_not_stored(raw: bytes) -> None:
    btf = fixed("globals")
    c = type_codec(btf, tid(btf, ".bss", Kind.DATASEC))  # 4 bytes of padding at 36
    data = raw * 3
    value = c.decode(data)
    dirty = data[36:40] != bytes(4)
    assert (raw_of(value) is not None) == dirty
    changed = value._replace(last_len=7)
    assert bytes(changed)[36:40] == data[36:40]  # _replace keeps the padding
    clean = type(value)(*value)  # built from the fields: padding is zero
    assert bytes(clean)[36:40] == bytes(4) and clean == value


# -- bitfields -----------------------------------------------------------------------------
_BITS = st.tuples(
    st.integers(0, 7), st.integers(0, 31), st.integers(-64, 63), st.integers(0, 2**33 - 1)
)


def _bits_layout(order: str, fields: tuple[int, int, int, int], flag: int) -> bytes:
    """struct bits as clang lays it out: a:3 b:5 c:7 at bits 0..14, d:33 at bit 64,
    flag:1 at bit 97 (BTF bit numbers; in big-endian bit 0 is the most significant)."""
    a, b, c, d = fields
    placed = [(0, 3, a), (3, 5, b), (8, 7, c & 0x7F), (64, 33, d), (97, 1, flag)]
    x = 0
    for bit, n, v in placed:
        x |= v << (bit if order == "el" else 128 - bit - n)
    return x.to_bytes(16, "little" if order == "el" else "big")


@pytest.mark.parametrize("order", ORDERS)
@given(fields=_BITS, flag=st.booleans())
def test_bitfields_match_the_c_layout(
    order: str, fields: tuple[int, int, int, int], flag: bool
) -> None:
    codec_ = codec("btf_kinds", "bits", Kind.STRUCT, order=order)
    a, b, c, d = fields
    value = codec_.python_type(a=a, b=b, c=c, d=d, flag=flag)
    assert codec_.encode(value) == _bits_layout(order, fields, int(flag))
    assert codec_.decode(codec_.encode(value)) == value


def test_bitfield_write_keeps_the_other_bits() -> None:
    c = codec("btf_kinds", "bits", Kind.STRUCT)
    raw = bytes(range(0xF0, 0x100))
    v = c.decode(raw)
    assert raw_of(v) is not None  # bits no field covers are not zero: kept
    out = c.encode(v._replace(b=0))
    assert out[1:] == raw[1:] and out[0] == raw[0] & 0x07


def test_bitfield_ranges() -> None:
    Bits = codec("btf_kinds", "bits", Kind.STRUCT).python_type
    with pytest.raises(CodecError, match=r"bits\.a: 8 does not fit in a 3-bit field \(0\.\.7\)"):
        Bits(a=8)
    with pytest.raises(CodecError, match=r"bits\.c: -65 does not fit"):
        Bits(c=-65)
    assert Bits(c=-64).c == -64


# -- generated classes ---------------------------------------------------------------------
@pytest.fixture
def Value() -> type[StructValue]:
    """struct value { __u64 packets; __u64 bytes; } of maps.bpf.c."""
    cls = codec("maps", "value", Kind.STRUCT).python_type
    assert issubclass(cls, StructValue)
    return cls


def test_construction(Value: type[StructValue]) -> None:
    v = Value(1, bytes=2)
    fields = {"packets": 1, "bytes": 2}
    assert v == Value(packets=1, bytes=2) == Value(**fields)
    assert v == Value._make([1, 2]) == Value._make({"bytes": 2, "packets": 1})
    assert Value() == Value(0, 0) and Value(packets=5).bytes == 0
    assert v.packets == 1 and v[1] == 2 and tuple(v) == (1, 2)
    assert v._fields == ("packets", "bytes") and v._asdict() == {"packets": 1, "bytes": 2}
    assert v._replace(bytes=9) == Value(1, 9) and v == Value(1, 2)
    assert repr(v) == "value(packets=1, bytes=2)"
    assert {v: "x"}[Value(1, 2)] == "x"  # hashable: a struct can be a dict key
    assert Value._from_bytes(bytes(v)) == v and len(bytes(v)) == 16
    assert copy.copy(v) == v == copy.deepcopy(v)


def test_values_are_immutable(Value: type[StructValue]) -> None:
    v = Value(1, 2)
    with pytest.raises(AttributeError, match="immutable; use _replace"):
        v.packets = 3  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del v.packets  # type: ignore[misc]


def test_classes_are_made_once_per_btf_and_type() -> None:
    btf = fixed("maps")
    value = tid(btf, "value", Kind.STRUCT)
    assert type_codec(btf, value) is type_codec(btf, value)
    assert type_codec(btf, value).python_type is type_codec(btf, value).python_type
    other = BTF(bytes(btf.data))
    assert type_codec(other, value).python_type is not type_codec(btf, value).python_type


def test_anonymous_members_by_name() -> None:
    Node = codec("btf_kinds", "node", Kind.STRUCT).python_type
    n = Node(as_u32=0x01020304, point={"x": 1, "y": -1}, color="BLUE")
    assert n.as_u32 == 0x01020304 and n.as_bytes == (0x01020304).to_bytes(4, "little")
    assert n.point.y == -1 and n.color.name == "BLUE"
    m = n._replace(as_bytes=b"\xff\0\0\0")
    assert m.as_u32 == 0xFF and n.as_u32 == 0x01020304
    with pytest.raises(CodecError, match="given both whole and by its members"):
        Node(_anon0={"as_u32": 1}, as_bytes=b"")


def test_unions_write_the_last_member_given() -> None:
    Number = codec("btf_kinds", "number", Kind.UNION).python_type
    n = Number(i=-1)
    assert n.raw == b"\xff" * 8 and math.isnan(n.d)
    assert Number(d=1.0).i == struct.unpack("<q", struct.pack("<d", 1.0))[0]
    assert Number(i=5, raw=b"\x07").i == 7  # raw (all 8 bytes, NUL-padded) written after i
    assert n._replace(raw=b"\x01").i == 1 and n._replace(d=1.0) == Number(d=1.0)


def test_enums() -> None:
    c, _ = var("btf_kinds", "root")
    Color = type(c.zero.color)  # type: ignore[attr-defined]
    assert issubclass(Color, enum.IntEnum) and Color.__name__ == "color"
    assert [(m.name, m.value) for m in Color] == [("RED", 0), ("GREEN", 5), ("BLUE", 6)]
    Node = c.python_type
    assert Node(color=7).color == 7 and not isinstance(Node(color=7).color, Color)
    assert Node(color=Color.BLUE) == Node(color="BLUE") == Node(color=6)
    with pytest.raises(CodecError, match=r"node\.color: enum color has no member 'PINK'"):
        Node(color="PINK")


def test_char_arrays_are_strings_and_byte_arrays_keep_every_byte() -> None:
    Node = codec("btf_kinds", "node", Kind.STRUCT).python_type
    n = Node(name="eth0")
    assert n.name == b"eth0" and bytes(n)[175:191] == b"eth0".ljust(16, b"\0")
    assert Node(name=b"a\0b\0\0").name == b"a\0b"
    assert Node(as_bytes=[1, 2]).as_bytes == b"\x01\x02\0\0"  # __u8[4]: every byte
    with pytest.raises(CodecError, match=r"node\.name: 17 bytes do not fit in char\[16\]"):
        Node(name="x" * 17)


# -- errors --------------------------------------------------------------------------------
@pytest.fixture
def flows() -> MapCodec:
    s = spec("maps")
    lpm = s.maps["lpm"]
    return MapCodec(
        fixed("maps"),
        lpm.key_type,
        lpm.value_type,
        key_size=lpm.key_size,
        value_size=lpm.value_size,
        name="flows",
    )


@pytest.mark.parametrize(
    ("key", "error"),
    [
        ({"prefixlen": 2**32}, r"map 'flows': key\.prefixlen: 4294967296 does not fit in "),
        ({"prefixlen": -1}, r"key\.prefixlen: -1 does not fit in unsigned int \(0\.\.4294967295\)"),
        (
            {"prefix": 1},
            r"key: struct lpm_v4_key has no field 'prefix' \(fields: prefixlen, addr\)",
        ),
        ({"addr": [1, 2, 3, 256]}, r"key\.addr\[3\]: 256 is not a byte \(0\.\.255\)"),
        ({"addr": b"12345"}, r"key\.addr: 5 bytes do not fit in __u8\[4\]"),
        ({"prefixlen": "8"}, r"key\.prefixlen: expected an int for unsigned int, not str"),
        ((1, b"", 3), r"key: struct lpm_v4_key has 2 fields, 3 given"),
        (b"1234567", r"key: 7 bytes given; struct lpm_v4_key is 8 bytes"),
        (3.5, r"key: expected struct lpm_v4_key \(an object, dict, sequence or 8 bytes\)"),
    ],
)
def test_bad_keys_name_the_map_the_field_and_the_problem(
    flows: MapCodec, key: object, error: str
) -> None:
    with pytest.raises(CodecError, match=error) as info:
        flows.encode_key(key)
    assert isinstance(info.value, TypeError) and isinstance(info.value, ValueError)


def test_map_codec(flows: MapCodec) -> None:
    assert repr(flows) == "MapCodec('flows', struct lpm_v4_key -> unsigned int)"
    key = flows.encode_key({"prefixlen": 24, "addr": [10, 0, 0]})
    assert key == (24).to_bytes(4, "little") + b"\x0a\0\0\0"
    assert flows.encode_key(key) == key  # raw bytes of the size
    k = flows.decode_key(key)
    assert (k.prefixlen, k.addr) == (24, b"\x0a\0\0\0")
    assert flows.encode_value(7) == (7).to_bytes(4, "little")
    assert flows.decode_values(b"\1\0\0\0\2\0\0\0", 2) == [1, 2]
    assert flows.decode_keys(key * 2, 2) == [k, k]
    with pytest.raises(CodecError, match=r"map 'flows': value: 4294967296 does not fit"):
        flows.encode_value(2**32)


def test_map_codec_sizes_and_untyped_sides() -> None:
    btf = fixed("maps")
    value = tid(btf, "value", Kind.STRUCT)
    with pytest.raises(CodecError, match=r"map 'm': value: BTF type \[\d+\] \(struct value\)"):
        MapCodec(btf, None, value, key_size=4, value_size=8, name="m")
    queue = MapCodec(btf, None, value, key_size=0, value_size=16)
    assert queue.key is None and queue.encode_key(b"") == b"" and queue.decode_key(b"") == b""
    raw = MapCodec(btf, None, None, key_size=4, value_size=2)
    assert raw.encode_key(-1) == b"\xff" * 4 and raw.encode_value(b"ab") == b"ab"
    assert raw.decode_values(b"abcd", 2) == [b"ab", b"cd"]
    with pytest.raises(CodecError, match="3 bytes given; 2 bytes expected"):
        raw.encode_value(b"abc")
    with pytest.raises(CodecError, match="expected bytes or an int, not str"):
        raw.encode_key("k")


def test_short_data_is_a_codec_error() -> None:
    for c in (codec("maps", "value", Kind.STRUCT), codec("btf_kinds", "bits", Kind.STRUCT)):
        with pytest.raises(CodecError, match="is 16 bytes; 3 bytes given"):
            c.decode(b"abc")
        with pytest.raises(CodecError):
            c.python_type._from_bytes(b"abc")


def test_fast_paths_are_compiled_where_the_layout_is_flat() -> None:
    value = codec("maps", "value", Kind.STRUCT)
    assert value.flat and value._compiled is not None and value._compiled.trivial
    assert not codec("btf_kinds", "node", Kind.STRUCT).flat  # a union and bitfields inside
    bss = type_codec(fixed("globals"), tid(fixed("globals"), ".bss", Kind.DATASEC))
    assert bss.flat and bss._compiled is not None and bss._compiled.checks  # padding checked


def test_long_double_and_odd_floats_are_bytes() -> None:
    btf = BTF(bytes(fixed("btf_kinds").data))
    f16 = type_codec(
        btf.replaced({tid(btf, "float", Kind.FLOAT): Float(name="half", size=2)}),
        tid(btf, "float", Kind.FLOAT),
    )
    assert f16.decode(struct.pack("<e", 0.5)) == 0.5
    ld = btf.replaced({tid(btf, "double", Kind.FLOAT): Float(name="long double", size=16)})
    c = type_codec(ld, tid(btf, "double", Kind.FLOAT))
    assert c.decode(bytes(range(16))) == bytes(range(16)) and c.python_type is bytes


def test_old_style_int_bitfields() -> None:
    """An INT whose bits_offset/nr_bits say it uses part of its bytes (pre-kflag BTF)."""
    btf = fixed("btf_kinds")
    int_id = tid(btf, "unsigned int", Kind.INT)
    odd = btf.replaced({int_id: Int(name="unsigned int", size=4, bits_offset=4, nr_bits=5)})
    c = type_codec(odd, int_id)
    assert c.decode((0b10110 << 4).to_bytes(4, "little")) == 0b10110
    assert c.encode(0b10110) == (0b10110 << 4).to_bytes(4, "little")
    with pytest.raises(CodecError, match="32 does not fit"):
        c.encode(32)
    big = Int(name="int", size=4, encoding=IntEncoding.SIGNED, nr_bits=32)
    assert type_codec(btf.replaced({int_id: big}), int_id).decode(b"\xff" * 4) == -1


def test_recursive_structs_by_value_are_refused() -> None:
    btf = fixed("maps")
    value = tid(btf, "value", Kind.STRUCT)
    itself = Struct(name="value", size=16, members=(Member("self", value, 0),))
    with pytest.raises(BTFError, match="contains itself"):
        type_codec(btf.replaced({value: itself}), value)


# -- bpftool's way of printing data --------------------------------------------------------
def _pretty(tree: object) -> str:
    w = JsonWriter()
    w.write(tree)  # type: ignore[arg-type]
    return w.text()


def test_format_data_prints_as_bpftool() -> None:
    btf = fixed("btf_kinds")
    bits = tid(btf, "bits", Kind.STRUCT)
    data = _bits_layout("el", (5, 17, -3, 2**32 + 1), 1)
    tree, ok = dump_data(btf, bits, data, byteorder="little")
    assert ok and _pretty(tree) == (
        '{\n    "a": 0x5,\n    "b": 0x11,\n    "c": 0x7d,\n    "d": 0x100000001,\n'
        '    "flag": 0x1\n}'
    )
    tree, _ = dump_data(btf, bits, data, plain=False, byteorder="little")
    assert to_python(tree) == {
        "a": "0x5",
        "b": "0x11",
        "c": "0x7d",
        "d": "0x100000001",
        "flag": "0x1",
    }


def test_format_data_strings_enums_pointers() -> None:
    c, _ = var("btf_kinds", "root")
    btf = fixed("btf_kinds")
    node = c.python_type(name='it\'s \\ "q"', color="BLUE", next=0x1234, wide=3)
    tree, ok = dump_data(btf, tid(btf, "node", Kind.STRUCT), bytes(node), byteorder="little")
    text = _pretty(tree)
    assert ok  # bpftool gives up at the first float (ratio); pybpf prints it
    assert '"next": 0x1234,\n    "prev_next": (nil),' in text
    assert '"matrix": [[0,0,0\n        ],[0,0,0\n        ]\n    ],' in text
    assert '"": {\n        "as_u32": 0,\n        "as_bytes": [0,0,0,0\n        ]\n    },' in text
    assert '"color": "BLUE",' in text and '"wide": 3,' in text and '"sv": "ZERO",' in text
    assert '"ratio": 0.0' in text
    tree, _ = dump_data(btf, tid(btf, "node", Kind.STRUCT), bytes(node), plain=False)
    assert to_python(tree)["next"] == 0x1234  # type: ignore[index]
    assert '"name": "it\'s \\n \\"q\\"",' in text  # bpftool's escapes (\\ printed as \\n)
    unended = dump_data(btf, tid(btf, "string", Kind.VAR), b"it's")[0]  # no NUL: not a string
    assert _pretty(unended) == '{\n    "string": [105,116,39,115\n    ]\n}'


def _padded_btf() -> BTF:
    """struct inner { __u8 a; /* 3 bytes padding */ __u32 b; };
    struct outer { __u32 x; struct inner in; }; (no padding of its own)"""
    u8 = Int(name="u8", size=1, nr_bits=8)
    u32 = Int(name="u32", size=4, nr_bits=32)
    inner = Struct(name="inner", size=8, members=(Member("a", 1, 0), Member("b", 2, 32)))
    outer = Struct(name="outer", size=12, members=(Member("x", 2, 0), Member("in", 3, 32)))
    return BTF(encode([u8, u32, inner, outer], byteorder="little"))


def test_nested_padding_is_kept_whichever_way_the_outer_value_is_made() -> None:
    btf = _padded_btf()
    outer, inner = type_codec(btf, 4), type_codec(btf, 3)
    assert outer.flat and outer._compiled is not None and outer._compiled.checks
    raw = bytes(range(1, 13))
    value = outer.decode(raw)
    assert raw_of(value) == raw and raw_of(value.__getattribute__("in")) == raw[4:]
    assert outer.encode(value) == raw
    rebuilt = outer.python_type(x=value.x, **{"in": getattr(value, "in")})
    assert outer.encode(rebuilt) == raw  # the nested value's padding, though built anew
    assert outer.encode(rebuilt._replace(x=0)) == bytes(4) + raw[4:]
    clean = outer.python_type(x=1, **{"in": {"a": 2, "b": 3}})
    assert raw_of(clean) is None
    assert outer.encode(clean) == b"\1\0\0\0\2\0\0\0\3\0\0\0"
    assert inner.encode(inner.decode(raw[4:])) == raw[4:]


def test_vmlinux_structs_round_trip() -> None:
    """A tenth of the running kernel's structs and unions (every shape real BTF has:
    bitfields, nested anonymous unions, arrays of padded structs): random bytes decode and
    encode back."""
    path = vmlinux()
    btf = BTF.from_path(path, cache=True)
    rnd = random.Random(4)
    checked = 0
    for type_id in range(1, len(btf), 10):
        if btf.kind_of(type_id) not in (Kind.STRUCT, Kind.UNION):
            continue
        size = resolve_size(btf, type_id)
        if not 0 < size <= 1 << 16:
            continue
        c = type_codec(btf, type_id)
        raw = rnd.randbytes(size)
        value = c.decode(raw)
        if not _nans(value):
            assert c.encode(value) == raw, btf.name_of(type_id)
            checked += 1
    assert checked > 500


def test_bitfields_without_kind_flag() -> None:
    """Old BTF (no kind_flag): a bitfield is a member at any bit offset whose INT type says
    how many bits it has."""
    u8 = Int(name="u8", size=1, nr_bits=8)
    three = Int(name="int", size=4, encoding=IntEncoding.SIGNED, nr_bits=5)
    s = Struct(name="old", size=4, members=(Member("lo", 1, 0), Member("f", 2, 11)))
    btf = BTF(encode([u8, three, s], byteorder="little"))
    c = type_codec(btf, 3)
    value = c.python_type(lo=0xFF, f=-2)
    assert c.encode(value) == (0xFF | (0b11110 << 11)).to_bytes(4, "little")
    assert c.decode(c.encode(value)) == value
    tree, _ = dump_data(btf, 3, c.encode(value), byteorder="little")
    assert to_python(tree) == {"lo": 255, "f": "0x1e"}  # bpftool: bits in hex, unsigned


# -- batches and the fast paths of maps ----------------------------------------------------
def _batch_btf(order: str) -> BTF:
    """[1] u8, [2] u16, [3] u32, [4] u64, [5] struct stats { u64 packets, bytes; },
    [6] struct flow { u32 saddr, daddr; u16 sport, dport; u8 proto; /* 3 bytes padding */ },
    [7] enum color { RED, BLUE = 2 }, [8] _Bool, [9] struct mixed { enum color c; _Bool on;
    u16 n; char name[4]; }, [10] char, [11] char[4], [12] s32, [13] a signed _Bool (odd, but
    BTF can say it: -1 stays an int, as 2 does)."""
    ints = [Int(name=n, size=s, nr_bits=8 * s) for n, s in (("u8", 1), ("u16", 2))]
    ints += [Int(name=n, size=s, nr_bits=8 * s) for n, s in (("u32", 4), ("u64", 8))]
    stats = Struct(name="stats", size=16, members=(Member("packets", 4, 0), Member("bytes", 4, 64)))
    flow = Struct(
        name="flow",
        size=16,
        members=tuple(
            Member(n, t, bit)
            for n, t, bit in (("saddr", 3, 0), ("daddr", 3, 32), ("sport", 2, 64),
                              ("dport", 2, 80), ("proto", 1, 96))
        ),
    )  # fmt: skip
    color = Enum(name="color", size=4, values=(EnumValue("RED", 0), EnumValue("BLUE", 2)))
    boolean = Int(name="_Bool", size=1, encoding=IntEncoding.BOOL, nr_bits=8)
    members = (Member("c", 7, 0), Member("on", 8, 32), Member("n", 2, 48), Member("name", 11, 64))
    mixed = Struct(name="mixed", size=12, members=members)
    char = Int(name="char", size=1, encoding=IntEncoding.SIGNED, nr_bits=8)
    name = Array(type=10, index_type=3, nelems=4)
    s32 = Int(name="s32", size=4, encoding=IntEncoding.SIGNED, nr_bits=32)
    sbool = Int(name="sbool", size=1, encoding=IntEncoding.BOOL | IntEncoding.SIGNED, nr_bits=8)
    types = [*ints, stats, flow, color, boolean, mixed, char, name, s32, sbool]
    return BTF(encode(types, byteorder=order))  # type: ignore[arg-type]


BATCH_TYPES = {
    "stats": 5,
    "flow": 6,
    "color": 7,
    "bool": 8,
    "mixed": 9,
    "u32": 3,
    "s32": 12,
    "sbool": 13,
}


def _same(a: list[object], b: list[object]) -> None:
    """Equal values of the same types, remembering the same bytes."""
    assert a == b
    assert [type(x) for x in a] == [type(y) for y in b]
    assert [raw_of(x) for x in a] == [raw_of(y) for y in b]


@pytest.mark.parametrize("order", ["little", "big"])
@pytest.mark.parametrize("name", list(BATCH_TYPES))
@given(data=st.data())
def test_a_batch_decodes_as_its_values_one_by_one(
    order: str, name: str, data: st.DataObject
) -> None:
    c = type_codec(_batch_btf(order), BATCH_TYPES[name])
    count = data.draw(st.integers(0, 6))
    chunks = [
        data.draw(st.binary(min_size=c.size, max_size=c.size) | st.just(bytes(c.size)))
        for _ in range(count)
    ]
    many = c.decode_many(b"".join(chunks) + b"tail", count)  # bytes after the batch: ignored
    _same(many, [c.decode(chunk) for chunk in chunks])
    assert b"".join(map(c.encode, many)) == b"".join(chunks)


def test_plain_structs_are_compiled_for_batches() -> None:
    btf = _batch_btf("little")
    stats, flow, mixed = (type_codec(btf, i)._compiled for i in (5, 6, 9))
    assert stats is not None and stats.trivial and stats.plain and stats.pad_bytes == ()
    assert flow is not None and not flow.trivial and flow.plain and flow.pad_bytes == (13, 14, 15)
    assert mixed is not None and not mixed.plain  # an enum, a bool and a string to convert
    big = type_codec(_batch_btf("big"), 6)._compiled
    assert big is not None and big.plain and big.pad_bytes == (13, 14, 15)


def test_a_batch_with_padding_not_zero_remembers_it() -> None:
    flow = type_codec(_batch_btf("little"), 6)
    clean = struct.pack("<IIHHB3x", 1, 2, 3, 4, 5)
    dirty = clean[:13] + b"\1\0\0"
    many = flow.decode_many(clean + dirty + clean, 3)
    assert [raw_of(v) for v in many] == [None, dirty, None]
    assert many[0] == many[1] == many[2] == (1, 2, 3, 4, 5)
    assert flow.encode(many[1]) == dirty and flow.encode(many[2]) == clean


def test_short_batches_are_codec_errors() -> None:
    btf = _batch_btf("little")
    for type_id in BATCH_TYPES.values():
        c = type_codec(btf, type_id)
        with pytest.raises(CodecError, match=f"2 values of {c.size} bytes need"):
            c.decode_many(bytes(2 * c.size - 1), 2)
    bits = codec("btf_kinds", "bits", Kind.STRUCT)  # the general path
    with pytest.raises(CodecError, match="need 32 bytes"):
        bits.decode_many(bytes(31), 2)


def test_batches_pause_the_collector() -> None:
    stats = type_codec(_batch_btf("little"), 5)
    collections: list[str] = []

    def seen(phase: str, info: dict[str, int]) -> None:
        collections.append(phase)

    threshold = gc.get_threshold()
    gc.callbacks.append(seen)
    gc.set_threshold(10)
    try:
        many = stats.decode_many(bytes(16 * 5000), 5000)
        during = len(collections) // 2  # "start" and "stop" of each
        # Not paused, the collector would run once per 10 new values: 500 times or more.
        assert len(many) == 5000 and during < 10 and gc.isenabled()
        gc.disable()
        stats.decode_many(bytes(16), 1)
        assert not gc.isenabled()  # left as it was
    finally:
        gc.enable()
        gc.set_threshold(*threshold)
        gc.callbacks.remove(seen)


class _Index:
    """Not an int, but an integer to ``operator.index`` (as numpy's integers are)."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __index__(self) -> int:
        return self.n


@pytest.mark.parametrize("order", ["little", "big"])
def test_packers_write_what_encode_writes_and_refuse_the_rest(order: str) -> None:
    btf = _batch_btf(order)
    cases = {
        3: ([0, 7, 2**32 - 1, True, _Index(9)], [-1, 2**32, b"\1\0\0\0", "7", 1.5, None]),
        12: ([-(2**31), -1, 2**31 - 1], [2**31, b"\0" * 4]),
        7: ([0, 2, 5], ["BLUE", 2**32, b"\2\0\0\0"]),  # a name: encode takes it
        8: ([False, True, 0, 1, 2], [256, -1]),
    }
    for type_id, (packed, refused) in cases.items():
        c = type_codec(btf, type_id)
        buf = bytearray(c.size + 2)
        pack = c.packer(buf)
        assert pack is not None
        for value in packed:
            pack(value)
            assert bytes(buf[: c.size]) == c.encode(value), value
        for value in refused:
            with pytest.raises(Exception):  # noqa: B017 - any error: encode decides
                pack(value)
    color = type_codec(btf, 7)
    assert color.encode("BLUE") == color.encode(2)  # what the packer refuses, encode takes
    assert type_codec(btf, 5).packer(bytearray(16)) is None  # structs: no packer


@pytest.mark.parametrize("name", list(BATCH_TYPES))
@given(data=st.data())
def test_readers_build_what_decode_builds(name: str, data: st.DataObject) -> None:
    c = type_codec(_batch_btf("little"), BATCH_TYPES[name])
    raw = data.draw(st.binary(min_size=c.size, max_size=c.size))
    reader = c.reader()
    assert reader is not None
    unpack, build = reader
    buf = bytearray(raw + b"more")  # a buffer at least the size: its start is read
    _same([build(unpack(buf))], [c.decode(raw)])


def test_readers_and_packers_only_where_the_layout_is_flat() -> None:
    bits = codec("btf_kinds", "bits", Kind.STRUCT)
    assert bits.reader() is None and bits.packer(bytearray(16)) is None


def test_integers_are_anything_with_index() -> None:
    """struct takes any object with ``__index__`` as an integer; so do the checks, so a C
    fast path and the checked path accept the same values."""
    c = type_codec(_batch_btf("little"), 5)
    assert c.encode({"packets": _Index(3)}) == c.encode({"packets": 3})
    with pytest.raises(CodecError, match="expected an int for u64, not float"):
        c.encode({"packets": 3.0})
