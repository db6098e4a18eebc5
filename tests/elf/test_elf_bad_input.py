"""Truncated and corrupted ELF: ELFError naming the section and offset, and nothing else.

Table-driven corruptions check the message and the location; property tests feed random
bytes, flipped bytes and truncations of real objects through every accessor
(:func:`touch_everything`) and accept only success or ELFError.
"""

from __future__ import annotations

import struct
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pybpf.elf import SHT, STB, STT, ELFFile
from pybpf.errors import ELFError
from tests.elf import elfutil as u

TESTDATA = Path(__file__).resolve().parent.parent / "testdata" / "elf"
SMALL = {o: (TESTDATA / f"small.{o}.o").read_bytes() for o in ("bpfel", "bpfeb")}
SYNTHETIC = {o: u.synthetic(o, extended=True) for o in ("little", "big")}
CORPUS = [*SMALL.values(), *SYNTHETIC.values()]


def patched(data: bytes, offset: int, fmt: str, *values: int) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, *values)
    return bytes(out)


def shdr_at(data: bytes, index: int) -> int:
    """The file offset of section header ``index`` of a little-endian object."""
    (shoff,) = struct.unpack_from("<Q", data, 40)
    return int(shoff) + 64 * index


def section_index(data: bytes, name: str) -> int:
    return ELFFile(data).get_section_by_name(name).index  # type: ignore[union-attr]


LE = SMALL["bpfel"]
HEADER_CASES: list[tuple[str, bytes, str, int | None]] = [
    ("empty", b"", r"truncated ELF header \(0 of 64 bytes\)", 0),
    ("short", LE[:63], r"truncated ELF header \(63 of 64 bytes\)", 0),
    ("magic", b"\x7fELG" + LE[4:], r"not an ELF file", 0),
    ("elf32", patched(LE, 4, "B", 1), r"not a 64-bit ELF file \(EI_CLASS 1\)", 4),
    ("byte order", patched(LE, 5, "B", 3), r"unknown byte order \(EI_DATA 3\)", 5),
    ("machine", patched(LE, 18, "<H", 62), r"e_machine 62 \(X86_64\) is not eBPF", 18),
]


@pytest.mark.parametrize(
    ("data", "message", "offset"),
    [c[1:] for c in HEADER_CASES],
    ids=[c[0] for c in HEADER_CASES],
)
def test_bad_header_fails_on_open(data: bytes, message: str, offset: int | None) -> None:
    with pytest.raises(ELFError, match=message) as info:
        ELFFile(data, name="x.o")
    assert (info.value.location.source, info.value.location.offset) == ("x.o", offset)


SHOFF = struct.unpack_from("<Q", LE, 40)[0]
TABLE_CASES: list[tuple[str, bytes, str, int]] = [
    ("shentsize", patched(LE, 58, "<H", 40), r"e_shentsize is 40, not 64", 58),
    ("shoff past end", patched(LE, 40, "<Q", len(LE)), r"starts past the end", len(LE)),
    ("shnum too big", patched(LE, 60, "<H", 0xFFFE), r"\(65534 entries\) runs past", SHOFF),
    ("shstrndx", patched(LE, 62, "<H", 34), r"e_shstrndx 34 is not a section \(of 34\)", 62),
    ("no table", patched(LE, 40, "<Q", 0), r"e_shnum is 34 but there is no section table", 60),
]  # fmt: skip


@pytest.mark.parametrize(
    ("data", "message", "offset"), [c[1:] for c in TABLE_CASES], ids=[c[0] for c in TABLE_CASES]
)
def test_bad_section_table_fails_lazily(data: bytes, message: str, offset: int) -> None:
    """Opening only reads the ELF header; the section table is checked when first used."""
    elf = ELFFile(data, name="x.o")
    for use in (elf.num_sections, lambda: elf.symbols, lambda: elf.get_section_by_name("x")):
        with pytest.raises(ELFError, match=message) as info:
            use()
        assert (info.value.location.source, info.value.location.offset) == ("x.o", offset)


def test_a_header_claiming_2_to_the_32_sections_allocates_nothing() -> None:
    """Extended numbering puts the count in section 0's sh_size; 2**32 must not be believed."""
    data = patched(LE, 60, "<H", 0)  # e_shnum 0: read the count from section 0
    data = patched(data, shdr_at(data, 0) + 32, "<Q", 2**32)
    tracemalloc.start()
    try:
        with pytest.raises(ELFError, match=r"\(4294967296 entries\) runs past the end"):
            ELFFile(data).num_sections()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


def _corrupt_section(name: str, field_offset: int, fmt: str, value: int) -> bytes:
    return patched(LE, shdr_at(LE, section_index(LE, name)) + field_offset, fmt, value)


# (what, data, the call that fails, message, location source)
SECTION_CASES: list[tuple[str, bytes, Callable[[ELFFile], object], str, str]] = [
    ("data past end", _corrupt_section(".maps", 32, "<Q", 1 << 40),
     lambda e: e.get_section_by_name(".maps").data,  # type: ignore[union-attr]
     r"section contents \(0x10000000000 bytes\) run past the end", ".maps"),
    ("name outside table", _corrupt_section(".text", 0, "<I", 0xFFFFFF),
     lambda e: e.num_sections(), r"string at 0xffffff is outside the table",
     "section 1 (section names)"),
    ("symtab entsize", _corrupt_section(".symtab", 56, "<Q", 20), lambda e: e.symbols,
     r"sh_entsize is 20, not 24", ".symtab"),
    ("symtab size", _corrupt_section(".symtab", 32, "<Q", 25), lambda e: e.symbols,
     r"size 0x19 is not a multiple of 24", ".symtab"),
    ("symtab link", _corrupt_section(".symtab", 40, "<I", 2), lambda e: e.symbols,
     r"sh_link 2 is not a string table", ".symtab"),
    ("rel link", _corrupt_section(".rel.text", 40, "<I", 1), lambda e: e.relocations(2),
     r"sh_link 1 is not a symbol table", ".rel.text"),
    ("rel entsize", _corrupt_section(".rel.text", 56, "<Q", 24), lambda e: e.relocations(2),
     r"sh_entsize is 24, not 16", ".rel.text"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("data", "call", "message", "source"),
    [c[1:] for c in SECTION_CASES],
    ids=[c[0] for c in SECTION_CASES],
)
def test_bad_section_names_the_section(
    data: bytes, call: Callable[[ELFFile], object], message: str, source: str
) -> None:
    with pytest.raises(ELFError, match=message) as info:
        call(ELFFile(data))
    assert info.value.location.source == source
    assert info.value.location.offset is not None


def test_bad_data_in_one_section_leaves_the_others_readable() -> None:
    elf = ELFFile(_corrupt_section(".maps", 32, "<Q", 1 << 40))
    with pytest.raises(ELFError):
        elf.get_section_by_name(".maps").data  # type: ignore[union-attr]  # noqa: B018
    assert bytes(elf.get_section_by_name("license").data) == b"GPL\0"  # type: ignore[union-attr]
    assert len(elf.relocations(2)) == 3


def test_relocation_naming_a_missing_symbol() -> None:
    elf = ELFFile(LE)
    rel_text = elf.get_section_by_name(".rel.text")
    assert rel_text is not None
    second = rel_text.offset + 16 + 8  # r_info of entry 1
    bad = ELFFile(patched(LE, second, "<Q", (999 << 32) | 1))
    with pytest.raises(ELFError, match=r"relocation 1 names symbol 999, but the") as info:
        bad.relocations(2)
    assert (info.value.location.source, info.value.location.offset) == (
        ".rel.text",
        rel_text.offset + 16,
    )


def test_symbol_name_that_is_not_utf8() -> None:
    syms, strings = u.symtab([("ok", 0, 0, STT.FUNC, STB.GLOBAL, 0, 1)])
    strings = strings.replace(b"ok", b"\xff\xfe")
    data = u.build_elf(
        [u.Sec(".text", SHT.PROGBITS, bytes(8)),
         u.Sec(".symtab", SHT.SYMTAB, syms, link=3, entsize=24),
         u.Sec(".strtab", SHT.STRTAB, strings, align=1)]
    )  # fmt: skip
    with pytest.raises(ELFError, match=r"string at 0x1 is not UTF-8") as info:
        ELFFile(data).symbols  # noqa: B018
    assert info.value.location.source == ".strtab"


def test_unterminated_string() -> None:
    data = u.build_elf([u.Sec(".strtab", SHT.STRTAB, b"\0abc", align=1)])
    elf = ELFFile(data)
    assert elf.string_at(1, 0) == ""
    with pytest.raises(ELFError, match=r"string at 0x1 is unterminated"):
        elf.string_at(1, 1)
    with pytest.raises(ELFError, match=r"string at 0x9 is outside the table"):
        elf.string_at(1, 9)
    with pytest.raises(ELFError, match=r"string at -0x1 is outside the table"):
        elf.string_at(1, -1)


def test_xindex_without_its_table() -> None:
    syms, strings = u.symtab([("x", 0, 0, STT.OBJECT, STB.GLOBAL, 0, 0xFFFF)])
    data = u.build_elf(
        [u.Sec(".symtab", SHT.SYMTAB, syms, link=2, entsize=24),
         u.Sec(".strtab", SHT.STRTAB, strings, align=1)]
    )  # fmt: skip
    with pytest.raises(ELFError, match=r"SHN_XINDEX but no SHT_SYMTAB_SHNDX") as info:
        ELFFile(data).symbols  # noqa: B018
    assert info.value.location.source == ".symtab"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda e: e.get_section(-1), r"no section -1 \(the file has 34\)"),
        (lambda e: e.get_section(34), r"no section 34"),
        (lambda e: e.relocations(99), r"no section 99"),
        (lambda e: e.string_at(2, 0), r"sh_link 2 is not a string table"),
        (lambda e: e.relocation_entries(2), r"not a SHT_REL or SHT_RELA section"),
    ],
)
def test_misuse_is_an_elf_error(call: Callable[[ELFFile], object], message: str) -> None:
    with pytest.raises(ELFError, match=message):
        call(ELFFile(LE))


def test_truncation_at_every_section_boundary() -> None:
    """Cut each object at the start, middle and end of every section and of the tables."""
    for data in CORPUS:
        elf = ELFFile(data)
        cuts = {64, len(data) - 1}
        for sec in elf.iter_sections():
            cuts |= {sec.offset, sec.offset + sec.size // 2, sec.offset + sec.size - 1}
        for cut in sorted(c for c in cuts if 0 <= c < len(data)):
            u.touch_everything(data[:cut])


# -- property tests: only success or ELFError, and every access path exercised -----------

FUZZ = settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)


@FUZZ
@given(st.binary(max_size=2048))
def test_random_bytes(data: bytes) -> None:
    u.touch_everything(data)


@FUZZ
@given(
    st.sampled_from([b"\x01", b"\x02"]),
    st.binary(min_size=58, max_size=58),
    st.binary(max_size=1024),
)
def test_random_headers(order: bytes, rest: bytes, body: bytes) -> None:
    """Past the magic, class and byte order, so the section-table paths are reached."""
    data = bytearray(b"\x7fELF\x02" + order + rest + body)
    data[18:20] = (247).to_bytes(2, "little" if order == b"\x01" else "big")
    u.touch_everything(bytes(data))


def _region_offsets(data: bytes) -> list[tuple[int, int]]:
    """The structural parts of an object (header, section table, symbol, string and
    relocation tables), where a flipped byte changes what the reader must check."""
    elf = ELFFile(data)
    regions = [(0, 64)]
    rows = elf.num_sections() * 64
    shoff = len(data) - rows - (len(data) - rows) % 8
    regions.append((shoff, len(data)))
    for sec in elf.iter_sections():
        if sec.type in (SHT.SYMTAB, SHT.STRTAB, SHT.REL, SHT.RELA, SHT.SYMTAB_SHNDX):
            regions.append((sec.offset, sec.offset + sec.size))
    return regions


REGIONS = [_region_offsets(d) for d in CORPUS]


@st.composite
def flipped(draw: st.DrawFn) -> bytes:
    which = draw(st.integers(0, len(CORPUS) - 1))
    data = bytearray(CORPUS[which])
    for _ in range(draw(st.integers(1, 4))):
        start, end = draw(st.sampled_from(REGIONS[which]))
        at = draw(st.integers(start, max(start, min(end, len(data)) - 1)))
        data[at] = draw(st.integers(0, 255))
    return bytes(data)


@FUZZ
@given(flipped())
def test_flipped_bytes_in_real_objects(data: bytes) -> None:
    u.touch_everything(data)


@FUZZ
@given(st.integers(0, len(CORPUS) - 1), st.floats(0, 1))
def test_truncated_real_objects(which: int, fraction: float) -> None:
    data = CORPUS[which]
    u.touch_everything(data[: int(len(data) * fraction)])


def test_touch_everything_reaches_every_path() -> None:
    """The fuzz visitor really uses sections, names, data, symbols and relocations."""
    for data in CORPUS:
        assert u.touch_everything(data) == 5


def test_overlapping_tables_cannot_multiply_memory() -> None:
    """Many relocation sections over the same bytes: decoding stops at twice the file."""
    syms, strings = u.symtab([("x", 0, 0, STT.OBJECT, STB.GLOBAL, 0, 1)])
    entries = u.rels([(8 * i, 1, 1) for i in range(4096)])
    secs = [u.Sec(".text", SHT.PROGBITS, bytes(8)),
            u.Sec(".symtab", SHT.SYMTAB, syms, link=3, entsize=24),
            u.Sec(".strtab", SHT.STRTAB, strings, align=1),
            u.Sec(".rel.text", SHT.REL, entries, link=2, info=1, entsize=16)]  # fmt: skip
    data = bytearray(u.build_elf(secs))
    # Append 200 more section headers, all copies of .rel.text's, over the same 64 KiB.
    (shoff,) = struct.unpack_from("<Q", data, 40)
    rel_header = bytes(data[shoff + 4 * 64 : shoff + 5 * 64])
    count = 6 + 200
    data = data[: shoff + 6 * 64] + rel_header * 200
    struct.pack_into("<H", data, 60, count)
    elf = ELFFile(bytes(data))
    assert elf.num_sections() == count
    tracemalloc.start()
    try:
        with pytest.raises(ELFError, match=r"tables overlap") as info:
            elf.relocations(1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert info.value.location.source == ".rel.text"
    assert peak < 16 * len(data)


def test_empty_string_table_holds_only_the_empty_string() -> None:
    elf = ELFFile(u.build_elf([u.Sec(".strtab", SHT.STRTAB, b"", align=1)]))
    assert elf.string_at(1, 0) == ""  # the gABI allows an empty table; index 0 is ""
    with pytest.raises(ELFError, match=r"string at 0x1 is outside the table"):
        elf.string_at(1, 1)


def test_xindex_table_too_short() -> None:
    syms, strings = u.symtab([("a", 0, 0, STT.OBJECT, STB.GLOBAL, 0, 1),
                              ("b", 0, 0, STT.OBJECT, STB.GLOBAL, 0, 0xFFFF)])  # fmt: skip
    data = u.build_elf(
        [u.Sec(".symtab", SHT.SYMTAB, syms, link=2, entsize=24),
         u.Sec(".strtab", SHT.STRTAB, strings, align=1),
         u.Sec(".symtab_shndx", SHT.SYMTAB_SHNDX, bytes(8), link=1, entsize=4)]
    )  # fmt: skip
    with pytest.raises(ELFError, match=r"symbol 2 uses SHN_XINDEX but SHT_SYMTAB_SHNDX") as info:
        ELFFile(data).symbols  # noqa: B018
    assert info.value.location.source == ".symtab"


@pytest.mark.parametrize("byteorder", ["little", "big"])
def test_rela_naming_a_missing_symbol(byteorder: str) -> None:
    data = bytearray(u.synthetic(byteorder))
    elf = ELFFile(bytes(data))
    rela = elf.get_section_by_name(".rela.text")
    assert rela is not None
    order = "<" if byteorder == "little" else ">"
    struct.pack_into(order + "Q", data, rela.offset + 24 + 8, (77 << 32) | 1)
    with pytest.raises(ELFError, match=r"relocation 1 names symbol 77") as info:
        ELFFile(bytes(data)).relocations(1)
    assert (info.value.location.source, info.value.location.offset) == (
        ".rela.text",
        rela.offset + 24,
    )
