""".BTF.ext: func_info, line_info and CO-RE records equal what llvm-objdump and the sources say."""

from __future__ import annotations

import re
import struct
from collections import Counter
from pathlib import Path

import pytest

from pybpf.btf import BTF, BTFExt, CoreReloKind, Kind, StringTable, encode_ext
from pybpf.elf import ELFFile
from pybpf.errors import BTFError
from tests.conftest import TESTDATA, fixture_objects, golden_dir, has_golden, read_golden

WITH_EXT = [o for o in fixture_objects() if ELFFile.from_path(o).get_section_by_name(".BTF.ext")]
WITH_OBJDUMP = [o for o in WITH_EXT if has_golden(golden_dir(o) / "objdump-r.txt")]

# llvm-objdump's names of the relocation kinds (llvm/lib/DebugInfo/BTF/BTFParser.cpp).
OBJDUMP_KIND = {
    CoreReloKind.FIELD_BYTE_OFFSET: "byte_off",
    CoreReloKind.FIELD_BYTE_SIZE: "byte_sz",
    CoreReloKind.FIELD_EXISTS: "field_exists",
    CoreReloKind.FIELD_SIGNED: "signed",
    CoreReloKind.FIELD_LSHIFT_U64: "lshift_u64",
    CoreReloKind.FIELD_RSHIFT_U64: "rshift_u64",
    CoreReloKind.TYPE_ID_LOCAL: "local_type_id",
    CoreReloKind.TYPE_ID_TARGET: "target_type_id",
    CoreReloKind.TYPE_EXISTS: "type_exists",
    CoreReloKind.TYPE_SIZE: "type_size",
    CoreReloKind.ENUMVAL_EXISTS: "enumval_exists",
    CoreReloKind.ENUMVAL_VALUE: "enumval_value",
    CoreReloKind.TYPE_MATCHES: "type_matches",
}
_SECTION = re.compile(r"^Disassembly of section (.+):$")
_CORE = re.compile(r"^\s+([0-9a-f]+):\s+CO-RE <(\w+)> \[(\d+)\] .*?(?: \(([0-9:]+)\))?$")


def load(obj: Path) -> tuple[BTF, BTFExt]:
    elf = ELFFile.from_path(obj)
    btf = BTF.from_path(str(obj))
    sec = elf.get_section_by_name(".BTF.ext")
    assert sec is not None
    return btf, BTFExt(sec.data, btf)


def objdump_core(text: str) -> Counter[tuple[str, int, str, int, str | None]]:
    """(section, byte offset, kind, type id, access string) of each CO-RE line."""
    found: Counter[tuple[str, int, str, int, str | None]] = Counter()
    section = ""
    for line in text.splitlines():
        if m := _SECTION.match(line):
            section = m.group(1)
        elif m := _CORE.match(line):
            found[(section, int(m.group(1), 16), m.group(2), int(m.group(3)), m.group(4))] += 1
    return found


@pytest.mark.parametrize("obj", WITH_OBJDUMP, ids=lambda p: p.name)
def test_core_relocations_match_llvm_objdump(obj: Path) -> None:
    _, ext = load(obj)
    ours: Counter[tuple[str, int, str, int, str | None]] = Counter()
    for section, relos in ext.core_relos.items():
        for r in relos:
            assert isinstance(r.kind, CoreReloKind)
            field = r.kind <= CoreReloKind.FIELD_RSHIFT_U64
            name = OBJDUMP_KIND[r.kind]
            ours[(section, r.insn_off, name, r.type_id, r.access_str if field else None)] += 1
    assert ours == objdump_core(read_golden(golden_dir(obj) / "objdump-r.txt"))


# bpftool's linker keeps the code of a weak function that a strong one overrides, without
# its symbol: its func_info names a function no symbol marks.
@pytest.mark.parametrize(
    "obj", [o for o in WITH_EXT if not o.name.startswith("linked.")], ids=lambda p: p.name
)
def test_func_info_names_functions_at_their_symbols(obj: Path) -> None:
    btf, ext = load(obj)
    elf = ELFFile.from_path(obj)
    funcs = {
        (elf.get_section(s.shndx).name, s.value, s.name)
        for s in elf.symbols
        if getattr(s.type, "name", "") == "FUNC"
    }
    for section, infos in ext.func_info.items():
        for info in infos:
            assert btf.kind_of(info.type_id) is Kind.FUNC
            assert (section, info.insn_off, btf.name_of(info.type_id)) in funcs


@pytest.mark.parametrize("obj", WITH_EXT, ids=lambda p: p.name)
def test_line_info_quotes_the_source(obj: Path) -> None:
    _, ext = load(obj)
    checked = 0
    for infos in ext.line_info.values():
        assert [i.insn_off for i in infos] == sorted(i.insn_off for i in infos)
        for info in infos:
            source = TESTDATA / info.file_name
            if not source.exists():  # system headers
                continue
            lines = source.read_text().splitlines()
            assert lines[info.line_num - 1] == info.line_text
            assert info.column <= len(info.line_text) + 1
            checked += 1
    assert checked


@pytest.mark.parametrize("obj", WITH_EXT, ids=lambda p: p.name)
def test_reencoding_is_byte_exact(obj: Path) -> None:
    _, ext = load(obj)
    assert ext.encode() == bytes(ext._data)


def test_both_byte_orders_agree() -> None:
    (el,) = fixture_objects("core.el.v3.o")
    (eb,) = fixture_objects("core.eb.v3.o")
    _, a = load(el)
    _, b = load(eb)
    assert (a.byteorder, b.byteorder) == ("little", "big")
    assert a.func_info == b.func_info  # same functions at the same offsets, same BTF ids
    assert a.core_relos.keys() == b.core_relos.keys()  # (the code, hence the records, differs)
    lines = {(i.file_name, i.line_num) for v in a.line_info.values() for i in v}
    assert lines == {(i.file_name, i.line_num) for v in b.line_info.values() for i in v}


def test_encode_ext_round_trip_through_a_new_string_table() -> None:
    (obj,) = fixture_objects("core.el.v3.o")
    btf, ext = load(obj)
    table = StringTable(btf.strings)
    data = encode_ext(ext.func_info, ext.line_info, ext.core_relos, table, byteorder="big")
    again = BTFExt(data, btf)
    assert again.byteorder == "big"
    assert (again.func_info, again.line_info, again.core_relos) == (
        ext.func_info,
        ext.line_info,
        ext.core_relos,
    )


# -- bad input -------------------------------------------------------------------------------
def _ext(body: bytes, *, hdr: tuple[int, ...] | None = None) -> bytes:
    fields = hdr if hdr is not None else (0, len(body), 0, 0, 0, 0)
    return struct.pack("<HBBI6I", 0xEB9F, 1, 0, 32, *fields) + body


_FUNC = struct.pack("<IIIII", 8, 1, 1, 0, 1)  # rec_size 8, section name at 1, 1 record


@pytest.mark.parametrize(
    ("data", "offset", "message"),
    [
        (b"\x9f\xeb", 0, "truncated header"),
        (b"\x00\x00\x01\x00\x20\x00\x00\x00", 0, "bad magic"),
        (struct.pack("<HBBI", 0xEB9F, 2, 0, 24) + b"\0" * 20, 2, "unsupported version"),
        (struct.pack("<HBBI", 0xEB9F, 1, 0, 4096) + b"\0" * 20, 4, "header length"),
        (_ext(b""), 32, "no data"),
        (_ext(_FUNC, hdr=(2, 20, 0, 0, 0, 0)), 34, "not 4-byte aligned"),
        (_ext(_FUNC, hdr=(0, 400, 0, 0, 0, 0)), 32, "out of bounds"),
        (_ext(struct.pack("<I", 4) + _FUNC[4:]), 32, "record size 4"),
        (_ext(struct.pack("<I", 8)), 32, "no records"),
        (_ext(struct.pack("<III", 8, 1, 0)), 40, "bad record count 0"),
        (_ext(struct.pack("<III", 8, 1, 5) + b"\0" * 8), 40, "bad record count 5"),
        (_ext(struct.pack("<IIIII", 8, 9999, 1, 0, 1)), 36, "string offset 0x270f"),
        (_ext(struct.pack("<IIIII", 8, 1, 1, 0, 77)), 48, "refers to type 77"),
        (_ext(struct.pack("<IIII", 8, 1, 1, 0)), 40, "bad record count 1"),
    ],
)
def test_bad_ext_raises_btf_error(data: bytes, offset: int, message: str) -> None:
    (obj,) = fixture_objects("core.el.v3.o")
    btf = BTF.from_path(str(obj))
    with pytest.raises(BTFError) as info:
        BTFExt(data, btf)
    assert message in str(info.value)
    assert info.value.location.source == ".BTF.ext"
    assert info.value.location.offset == offset
