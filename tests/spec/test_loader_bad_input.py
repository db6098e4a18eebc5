"""Bad input: truncated, corrupted and inconsistent objects get pybpf's parse errors
(:class:`ELFError`, :class:`BTFError`, :class:`DecodeError` when a lazy field is read), naming
the section and the byte offset where it can; never another exception.

Hypothesis mutates the fixtures byte-wise and word-wise (in the sections the loader reads);
the targeted cases check what the error says.
"""

from __future__ import annotations

import contextlib
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pybpf.btf import BTF
from pybpf.elf import ELFFile
from pybpf.errors import BTFError, DecodeError, ELFError, ParseError
from pybpf.objects._sanitize import sanitized
from pybpf.spec.loader import load_collection_spec
from tests.conftest import TESTDATA
from tests.spec.objbuilder import CALL, EXIT, LDDW, MOV, ObjectBuilder

OBJ = TESTDATA / "obj"
SMALL = [
    "maps.el.v3",
    "maps.eb.v3",
    "globals.el.v3",
    "externs.eb.v3",
    "isa_calls.el.v3",
    "core.el.v3",
    "struct_ops.el.v3",
    "maps_legacy.el.v3",
    "linked.el.v3",
    "sec_trace.eb.v3",
]
DATA = {name: (OBJ / f"{name}.o").read_bytes() for name in SMALL}
LAZY = ("instructions", "func_info", "line_info", "core_relos")


def touch(data: bytes) -> None:
    """Load, read every lazy field, and make the BTF a load would give the kernel (the
    fixed DATASECs encoded); only parse errors may come out."""
    try:
        spec = load_collection_spec(data)
    except ParseError:
        return
    for prog in spec.programs.values():
        for name in LAZY:
            with contextlib.suppress(ParseError):
                getattr(prog, name)
    if isinstance(spec.btf, BTF):
        with contextlib.suppress(ParseError):
            sanitized(spec.btf, spec.btf_fixups, ())


@pytest.mark.parametrize("name", SMALL)
def test_every_truncation(name: str) -> None:
    data = DATA[name]
    step = max(1, len(data) // 300)
    for cut in [*range(0, len(data), step), *range(len(data) - 64, len(data))]:
        touch(data[:cut])


def _interesting(data: bytes) -> list[tuple[int, int]]:
    """(offset, size) of the parts the loader reads: section headers, symbols, relocations,
    code, BTF, map definitions."""
    elf = ELFFile(data)
    parts = [(elf._header[5], 64 * elf.num_sections())]
    for sec in elf.iter_sections():
        if sec.size and sec.type != 8 and not sec.name.startswith((".debug", ".rel.debug")):
            parts.append((sec.offset, sec.size))
    return parts


PARTS = {name: _interesting(data) for name, data in DATA.items()}
WORDS = [0, 1, 4, 7, 8, 16, 0x18, 0x85, 0xEB9F, 0x7FFFFFFF, 0x80000000, 0xFFFFFFF0, 0xFFFFFFFF]


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.data())
def test_word_mutations_in_what_the_loader_reads(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(SMALL))
    blob = bytearray(DATA[name])
    for _ in range(data.draw(st.integers(1, 4))):
        start, size = data.draw(st.sampled_from(PARTS[name]))
        at = start + data.draw(st.integers(0, max(size - 4, 0))) // 4 * 4
        value = data.draw(st.sampled_from(WORDS) | st.integers(0, 0xFFFFFFFF))
        blob[at : at + 4] = struct.pack("<I", value)[: len(blob) - at]
    touch(bytes(blob))


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    st.sampled_from(SMALL), st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=16)
)
def test_byte_mutations(name: str, edits: list[tuple[float, int]]) -> None:
    blob = bytearray(DATA[name])
    for where, value in edits:
        blob[min(int(where * len(blob)), len(blob) - 1)] = value
    touch(bytes(blob))


# -- what the errors say ------------------------------------------------------------------
def _section(data: bytes, name: str) -> tuple[int, int]:
    sec = ELFFile(data).get_section_by_name(name)
    assert sec is not None
    return sec.offset, sec.size


def test_not_elf() -> None:
    with pytest.raises(ELFError, match="not an ELF file"):
        load_collection_spec(b"\x7fELG" + bytes(100))
    with pytest.raises(ELFError, match="truncated ELF header"):
        load_collection_spec(b"")


def test_relocation_outside_its_section() -> None:
    data = bytearray(DATA["maps.el.v3"])
    rel, _ = _section(bytes(data), ".relxdp")
    struct.pack_into("<Q", data, rel, 0x10000)  # r_offset past the end of xdp
    with pytest.raises(ELFError) as err:
        load_collection_spec(bytes(data))
    assert "section xdp" in str(err.value) and "offset 0x" in str(err.value)


def test_relocation_on_an_instruction_that_is_no_call_or_lddw() -> None:
    data = bytearray(DATA["maps.el.v3"])
    rel, _ = _section(bytes(data), ".relxdp")
    (r_offset,) = struct.unpack_from("<Q", data, rel)
    struct.pack_into("<Q", data, rel, r_offset + 8)  # the second slot of the lddw
    with pytest.raises(ELFError, match="opcode 0x00, not to a call or lddw") as err:
        load_collection_spec(bytes(data))
    xdp, _ = _section(bytes(data), "xdp")
    assert err.value.location.offset == xdp + r_offset + 8
    assert "section xdp" in str(err.value)


def test_bad_btf_ext() -> None:
    data = bytearray(DATA["globals.el.v3"])
    ext, _ = _section(bytes(data), ".BTF.ext")
    data[ext : ext + 2] = b"\0\0"
    with pytest.raises(BTFError, match="bad magic") as err:
        load_collection_spec(bytes(data))
    assert err.value.location.offset == 0 and ".BTF.ext" in str(err.value)


def test_bad_btf() -> None:
    data = bytearray(DATA["globals.el.v3"])
    btf, _ = _section(bytes(data), ".BTF")
    data[btf : btf + 2] = b"\0\0"
    with pytest.raises(BTFError):
        load_collection_spec(bytes(data))


def test_bad_line_info_is_reported_when_read() -> None:
    data = bytearray(DATA["globals.el.v3"])
    ext, _ = _section(bytes(data), ".BTF.ext")
    hdr_len, _, _, line_off = struct.unpack_from("<4I", data, ext + 4)
    first = ext + hdr_len + line_off + 4 + 8  # the first record of the first block
    struct.pack_into("<I", data, first, 3)  # insn_off 3: not an instruction boundary
    spec = load_collection_spec(bytes(data))  # records are read lazily
    with pytest.raises(BTFError, match="line_info record at byte 3") as err:
        _ = spec.programs["read_globals"].line_info
    assert err.value.location.offset == first - ext


def test_function_symbol_with_a_bad_size() -> None:
    b = ObjectBuilder()
    b.code("xdp", ("prog", [MOV(0, 0), EXIT()]))
    b.symbols[-1] = ("prog", 0, 12, *b.symbols[-1][3:])
    with pytest.raises(ELFError, match="'prog' has a bad extent") as err:
        load_collection_spec(b.build())
    assert "section xdp" in str(err.value)


def test_call_to_nowhere() -> None:
    b = ObjectBuilder()
    b.code("xdp", ("prog", [CALL(5), EXIT()]))  # pc-relative, past the function
    with pytest.raises(ELFError, match="where no function is"):
        load_collection_spec(b.build())


def test_lddw_against_a_section_that_is_no_data() -> None:
    b = ObjectBuilder()
    b.raw(".notes", bytes(16), flags=2)
    b.code("xdp", ("prog", [LDDW(1), MOV(0, 0), EXIT()]))
    b.reloc("xdp", 0, "@.notes")
    with pytest.raises(ELFError, match="not a map, global data or function"):
        load_collection_spec(b.build())


def test_lddw_against_an_absolute_symbol() -> None:
    b = ObjectBuilder()
    b.code("xdp", ("prog", [LDDW(1), MOV(0, 0), EXIT()]))
    b.symbol("absolute", 5, section=f"#{0xFFF1}")
    b.reloc("xdp", 0, "absolute")
    with pytest.raises(ELFError, match="does not exist"):
        load_collection_spec(b.build())


def test_legacy_map_with_unknown_bytes() -> None:
    b = ObjectBuilder()
    b.raw("maps", struct.pack("<8I", 1, 4, 4, 8, 0, 0, 0, 9), flags=3)
    b.symbol("m", 0, 32, type=1, section="maps")
    b.code("socket", ("prog", [MOV(0, 0), EXIT()]))
    with pytest.raises(ELFError, match="unknown non-zero bytes") as err:
        load_collection_spec(b.build())
    assert "section maps" in str(err.value)


def test_version_of_the_wrong_size() -> None:
    b = ObjectBuilder()
    b.raw("version", b"\1\2", flags=3)
    b.code("kprobe/x", ("prog", [MOV(0, 0), EXIT()]))
    with pytest.raises(ELFError, match="version section of 2 bytes"):
        load_collection_spec(b.build())


def test_huge_bss() -> None:
    b = ObjectBuilder()
    b.bss(".bss", 1 << 40)
    b.code("xdp", ("prog", [MOV(0, 0), EXIT()]))
    with pytest.raises(ELFError, match="zeros"):
        load_collection_spec(b.build())


def test_lddw_cut_in_half_is_reported_when_read() -> None:
    b = ObjectBuilder()
    b.code("xdp", ("prog", [MOV(0, 0), EXIT()]))
    b.raw("xdp", b"\x18" + bytes(7))  # an lddw without its second slot, in no function...
    b.symbols[-1] = ("prog", 0, 24, *b.symbols[-1][3:])  # ...until the function covers it
    spec = load_collection_spec(b.build())
    with pytest.raises(DecodeError, match="lddw is truncated"):
        _ = spec.programs["prog"].instructions


def test_no_symbol_table() -> None:
    b = ObjectBuilder()
    b.raw("xdp", bytes(16), flags=6)
    data = b.build()
    elf = ELFFile(data)
    symtab = elf.get_section_by_name(".symtab")
    assert symtab is not None
    patched = bytearray(data)
    shdr = elf._header[5] + 64 * symtab.index
    struct.pack_into("<I", patched, shdr + 4, 1)  # SHT_SYMTAB -> SHT_PROGBITS
    with pytest.raises(ELFError, match="no symbol table"):
        load_collection_spec(bytes(patched))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        load_collection_spec(tmp_path / "nope.o")


def test_variable_outside_its_section() -> None:
    """A global whose symbol value lies past its section's end (a corrupted object) is a
    BTFError naming the variable, for a section that is a map (when the spec is read) and
    for one that is not (``license``: when a load fixes the DATASEC's offsets), not an error
    of the BTF encoder."""
    for section, match in ((".bss", "VAR 'stats' "), ("license", "VAR 'LICENSE' ")):
        data = bytearray(DATA["globals.el.v3"])
        elf = ELFFile(bytes(data))
        symtab, sec = elf.get_section_by_name(".symtab"), elf.get_section_by_name(section)
        assert symtab is not None and sec is not None
        sym = next(s for s in elf.symbols if s.bind == 1 and s.shndx == sec.index)  # global
        at = symtab.offset + 24 * sym.index + 8  # Elf64_Sym.st_value
        data[at : at + 8] = struct.pack("<Q", 1 << 40)
        with pytest.raises(BTFError, match=f"{match}.* at {1 << 40}. runs past"):
            load_collection_spec(bytes(data)).btf_fixups  # noqa: B018 - the lazy field


def test_section_too_large_for_btf() -> None:
    """A section whose data the loader never reads (``.maps``: BTF describes the maps) with
    ``sh_size`` corrupted past 32 bits is a BTFError when a load fixes its DATASEC's size."""
    data = bytearray(DATA["maps.el.v3"])
    elf = ELFFile(bytes(data))
    sec = elf.get_section_by_name(".maps")
    assert sec is not None
    at = elf._header[5] + 64 * sec.index + 32  # Elf64_Shdr.sh_size
    data[at : at + 8] = struct.pack("<Q", 1 << 40)
    spec = load_collection_spec(bytes(data))
    with pytest.raises(BTFError, match="do not fit BTF's 32-bit size"):
        spec.btf_fixups  # noqa: B018 - the lazy field
