"""ELFFile on real clang objects (both byte orders) and on hand-built ones: what users rely on."""

from __future__ import annotations

import dataclasses
import struct
from pathlib import Path

import pytest

import pybpf.elf
from pybpf.elf import (
    EM,
    ET,
    R_BPF,
    R_BPF_64_32,
    R_BPF_64_64,
    SHF,
    SHN,
    SHT,
    STB,
    STT,
    STV,
    ELFFile,
    Relocation,
    Section,
    Symbol,
)
from pybpf.errors import ELFError
from tests.elf import elfutil as u

TESTDATA = Path(__file__).resolve().parent.parent / "testdata" / "elf"
ORDERS = {"bpfel": "little", "bpfeb": "big"}
LDDW, CALL = 0x18, 0x85


@pytest.fixture(params=sorted(ORDERS), scope="module")
def small(request: pytest.FixtureRequest) -> ELFFile:
    return ELFFile.from_path(TESTDATA / f"small.{request.param}.o")


def test_public_names_are_pinned() -> None:
    assert sorted(pybpf.elf.__all__) == sorted(
        ["ELFFile", "Section", "Symbol", "Relocation", "EM", "ET", "SHT", "SHF", "SHN", "STT",
         "STB", "STV", "R_BPF", "R_BPF_NONE", "R_BPF_64_64", "R_BPF_64_ABS64",
         "R_BPF_64_ABS32", "R_BPF_64_NODYLD32", "R_BPF_64_32"]
    )  # fmt: skip
    assert all(hasattr(pybpf.elf, name) for name in pybpf.elf.__all__)


@pytest.mark.parametrize(
    ("name", "value"),
    [("R_BPF_NONE", 0), ("R_BPF_64_64", 1), ("R_BPF_64_ABS64", 2), ("R_BPF_64_ABS32", 3),
     ("R_BPF_64_NODYLD32", 4), ("R_BPF_64_32", 10)],
)  # fmt: skip
def test_relocation_types_have_the_llvm_numbers(name: str, value: int) -> None:
    assert getattr(pybpf.elf, name) == R_BPF[name] == value


def test_header(small: ELFFile) -> None:
    assert small.byteorder == ORDERS[Path(str(small.name)).suffixes[0][1:]]
    assert (small.type, small.machine, small.flags) == (ET.REL, EM.BPF, 0)
    assert small.is_bpf
    assert small.num_sections() == 34
    assert "small" in repr(small)


def test_sections_by_name(small: ELFFile) -> None:
    text = small.get_section_by_name(".text")
    assert text is not None
    assert text.type == SHT.PROGBITS and text.flags & SHF.EXECINSTR
    assert small.get_section(text.index) is text
    assert small.get_section_by_name("nope") is None
    names = [s.name for s in small.iter_sections()]
    for wanted in ("tracepoint/syscalls/sys_enter_execve", "xdp", ".maps", ".BTF", ".BTF.ext"):
        assert wanted in names
    assert [s.index for s in small.iter_sections()] == list(range(34))


def test_iter_sections_filters_by_type(small: ELFFile) -> None:
    rels = list(small.iter_sections(SHT.REL))
    assert rels and all(s.type == SHT.REL for s in rels)
    assert [s.name for s in small.iter_sections(SHT.SYMTAB)] == [".symtab"]


def test_section_data(small: ELFFile) -> None:
    license_ = small.get_section_by_name("license")
    bss = small.get_section_by_name(".bss")
    maps = small.get_section_by_name(".maps")
    assert license_ and bss and maps
    assert bytes(license_.data) == b"GPL\0"
    assert bss.type == SHT.NOBITS and bss.size == 8 and len(bss.data) == 0
    assert len(maps.data) == 64
    with pytest.raises(TypeError):
        license_.data[0] = 0  # read-only views, even over a bytearray


def test_symbols(small: ELFFile) -> None:
    syms = small.symbols
    assert syms[0] == Symbol("", 0, 0, STT.NOTYPE, STB.LOCAL, STV.DEFAULT, SHN.UNDEF, 0)
    assert [s.index for s in syms] == list(range(len(syms)))
    on_exec = small.get_symbol_by_name("on_exec")
    bump = small.get_symbol_by_name("bump")
    counts = small.get_symbol_by_name("counts")
    assert on_exec and bump and counts
    assert (on_exec.type, on_exec.bind, on_exec.size) == (STT.FUNC, STB.GLOBAL, 192)
    assert small.get_section(on_exec.shndx).name == "tracepoint/syscalls/sys_enter_execve"
    assert (bump.type, bump.bind) == (STT.FUNC, STB.LOCAL)
    assert small.get_section(counts.shndx).name == ".maps"
    assert (counts.value, counts.size) == (32, 32)
    assert small.get_symbol_by_name("small.c").shndx == SHN.ABS  # type: ignore[union-attr]
    assert small.get_symbol_by_name("nope") is None
    assert list(small.iter_symbols()) == syms


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        (".text", [(R_BPF_64_64, "counts"), (R_BPF_64_64, "counts"), (R_BPF_64_64, "limit")]),
        ("tracepoint/syscalls/sys_enter_execve",
         [(R_BPF_64_64, "hits"), (R_BPF_64_64, "total"), (R_BPF_64_32, "")]),
        ("xdp", [(R_BPF_64_64, "config")]),
        (".maps", []),
    ],
)  # fmt: skip
def test_relocations_point_at_the_instructions(
    small: ELFFile, section: str, expected: list[tuple[R_BPF, str]]
) -> None:
    """Each relocation names its symbol and lands on an lddw (data) or a call (code)."""
    sec = small.get_section_by_name(section)
    assert sec is not None
    rels = small.relocations(sec)
    assert [(r.type, r.symbol.name) for r in rels] == expected
    code = bytes(sec.data)
    for rel in rels:
        assert rel.addend == 0 and rel.symbol is small.symbols[rel.sym_index]
        assert code[rel.offset] == (LDDW if rel.type == R_BPF_64_64 else CALL)
    assert small.relocations(sec.index) is rels  # cached, by index or by section


def test_call_relocation_targets_the_text_section_symbol(small: ELFFile) -> None:
    sec = small.get_section_by_name("tracepoint/syscalls/sys_enter_execve")
    assert sec is not None
    call = small.relocations(sec)[-1]
    assert call.symbol.type == STT.SECTION
    assert small.get_section(call.symbol.shndx).name == ".text"
    assert [s.name for s in small.relocation_sections(sec)] == [
        ".reltracepoint/syscalls/sys_enter_execve"
    ]


def test_relocation_entries_of_one_section(small: ELFFile) -> None:
    rel_btf_ext = small.get_section_by_name(".rel.BTF.ext")
    assert rel_btf_ext is not None
    entries = small.relocation_entries(rel_btf_ext)
    assert len(entries) == rel_btf_ext.size // 16
    assert entries == small.relocations(rel_btf_ext.info)


def test_string_at(small: ELFFile) -> None:
    strtab = small.get_section_by_name(".strtab")
    assert strtab is not None
    text = small.get_section_by_name(".text")
    assert text is not None
    offset = bytes(strtab.data).index(b".text\0")
    assert small.string_at(strtab, offset) == ".text"
    assert small.string_at(strtab.index, offset + 1) == "text"  # suffixes are strings too


def test_input_types_agree() -> None:
    raw = (TESTDATA / "small.bpfeb.o").read_bytes()
    views = [ELFFile(x) for x in (raw, bytearray(raw), memoryview(raw))]
    dumps = [u.dump(e) for e in views]
    assert dumps[0] == dumps[1] == dumps[2]


def test_both_byte_orders_agree() -> None:
    """The same C source gives the same tables in either byte order."""
    little, big = (ELFFile.from_path(TESTDATA / f"small.{o}.o") for o in ("bpfel", "bpfeb"))
    assert little.byteorder == "little" and big.byteorder == "big"
    assert u.dump(little) == u.dump(big)


def test_values_are_frozen_slotted_dataclasses(small: ELFFile) -> None:
    sec = small.get_section(2)
    sym = small.symbols[1]
    rel = small.relocations(sec)[0]
    for value in (sec, sym, rel):
        assert dataclasses.is_dataclass(value) and not hasattr(value, "__dict__")
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(value, dataclasses.fields(value)[0].name, 1)
    assert type(sec) is Section and type(sym) is Symbol and type(rel) is Relocation


def test_fast_built_values_equal_constructed_ones(small: ELFFile) -> None:
    """The decoders' fast constructors give ordinary values (equal, hashable, replaceable)."""
    sym = small.symbols[4]
    again = Symbol(*(getattr(sym, f.name) for f in dataclasses.fields(Symbol)))
    assert sym == again and hash(sym) == hash(again) and repr(sym) == repr(again)
    rel = small.relocations(2)[0]
    assert dataclasses.replace(rel, addend=5).addend == 5
    assert {small.get_section(1), small.get_section(1)} == {small.get_section(1)}


# -- hand-built objects: RELA, extended numbering, SHN_XINDEX, other machines ------------


@pytest.mark.parametrize("extended", [False, True])
@pytest.mark.parametrize("byteorder", ["little", "big"])
def test_rela_xindex_and_extended_numbering(byteorder: str, extended: bool) -> None:
    elf = ELFFile(u.synthetic(byteorder, extended=extended))
    assert elf.byteorder == byteorder
    assert elf.num_sections() == 9
    assert elf.get_section(8).name == ".shstrtab"
    d = elf.get_symbol_by_name("d")
    assert d is not None and d.shndx == 2 and d.visibility == STV.HIDDEN  # via SHN_XINDEX
    rels = elf.relocations(1)
    assert [(r.offset, r.type, r.symbol.name, r.addend) for r in rels] == [
        (8, R_BPF.R_BPF_64_64, "f", -4),
        (16, R_BPF.R_BPF_64_32, "d", 0x100),
        (24, R_BPF.R_BPF_64_ABS64, "", 7),
    ]
    bss = elf.get_section_by_name(".bss")
    assert bss is not None and bss.size == 4096 and len(bss.data) == 0


def test_other_machines_need_any_machine() -> None:
    data = u.synthetic("little", machine=EM.X86_64)
    with pytest.raises(ELFError, match=r"e_machine 62 \(X86_64\) is not eBPF") as info:
        ELFFile(data, name="vmlinux")
    assert (info.value.location.source, info.value.location.offset) == ("vmlinux", 18)
    elf = ELFFile(data, any_machine=True)
    assert elf.machine == EM.X86_64 and not elf.is_bpf
    rels = elf.relocations(1)
    assert [r.type for r in rels] == [1, 10, 2]  # plain numbers: not R_BPF for x86-64
    assert not any(isinstance(r.type, R_BPF) for r in rels)


def test_old_llvm_em_none_is_accepted() -> None:
    elf = ELFFile(u.synthetic("big", machine=EM.NONE))
    assert elf.machine == EM.NONE and elf.is_bpf
    assert elf.relocations(1)[0].type is R_BPF.R_BPF_64_64


def test_unknown_enum_values_stay_plain_ints() -> None:
    data = u.build_elf([u.Sec("odd", 0x12345, b"x")])
    sec = ELFFile(data).get_section(1)
    assert sec.type == 0x12345 and not isinstance(sec.type, SHT)


def test_no_section_table() -> None:
    data = bytearray(u.build_elf([]))
    struct.pack_into("<Q", data, 40, 0)  # e_shoff: no section header table
    struct.pack_into("<HH", data, 60, 0, 0)  # e_shnum, e_shstrndx (SHN_UNDEF)
    elf = ELFFile(bytes(data))
    assert elf.num_sections() == 0 and elf.symbols == []
    assert elf.get_section_by_name("") is None


def test_from_path_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.o"
    bad.write_bytes(b"\x7fELF\x01")
    with pytest.raises(ELFError) as info:
        ELFFile.from_path(bad)
    assert info.value.location.source == str(bad)


def test_fast_constructor_falls_back_where_class_assignment_is_refused() -> None:
    """Without identical slot layouts the twin cannot become the class: use the class."""
    from pybpf._records import immutable
    from pybpf.elf.records import _fast_constructor, new_relocation, new_section, new_symbol

    @immutable(slots=False)  # no slots: a __dict__ layout
    class Plain:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True)  # not a pybpf record
    class Other:
        a: int

    assert _fast_constructor(Plain) is Plain
    assert _fast_constructor(Other) is Other
    # ... while the real records do get the fast path on this interpreter (CPython).
    assert new_section is not Section and new_symbol is not Symbol
    assert new_relocation is not Relocation


def test_layout_table() -> None:
    from pybpf.elf._layout import EHDR, REL, RELA, SHDR, SYM

    assert [x.size for x in (EHDR, SHDR, SYM, REL, RELA)] == [64, 64, 24, 16, 24]
    assert EHDR.offset("e_shoff") == 40 and SHDR.offset("sh_size") == 32
    assert repr(SYM) == "Layout(Elf64_Sym, 24 bytes)"
    assert EHDR.struct("big").unpack_from(bytes(64))[1] == 0


def test_values_copy_pickle_and_convert(small: ELFFile) -> None:
    import copy
    import pickle

    sec = small.get_section_by_name("license")
    assert sec is not None
    assert dataclasses.asdict(sec)["name"] == "license"
    assert copy.deepcopy(sec) == sec and copy.deepcopy(sec).file is sec.file
    again = pickle.loads(pickle.dumps(sec))
    assert again == sec and bytes(again.data) == b"GPL\0"
    rel = small.relocations(2)[0]
    assert pickle.loads(pickle.dumps(rel)) == rel


def test_a_hand_made_section_has_no_file() -> None:
    sec = Section("x", 1, SHT.PROGBITS, 0, 0, 0, 4, 0, 0, 1, 0)
    with pytest.raises(ELFError, match=r"run past the end of the file \(0x0 bytes\)"):
        sec.data  # noqa: B018
    assert len(dataclasses.replace(sec, size=0).data) == 0
