"""Hand-made eBPF objects for the spec loader's tests: the cases clang does not produce.

:class:`ObjectBuilder` lays out code and data sections, symbols and ``SHT_REL`` relocations
with the tiny ELF writer of tests/elf/elfutil.py, in either byte order::

    b = ObjectBuilder()
    b.code("xdp", ("prog", [MOV(0, 0), CALL(-1), EXIT()]), ("other", [MOV(0, 1), EXIT()]))
    b.reloc("xdp", 8, "other", R_BPF.R_BPF_64_32)
    spec = load_collection_spec(b.build())

Symbols are named by their name; ``"@.text"`` names the section symbol of ``.text``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pybpf.asm.instruction import Instruction
from pybpf.asm.instruction import encode as encode_insns
from pybpf.btf.encode import encode
from pybpf.btf.kinds import FuncLinkage, IntEncoding
from pybpf.btf.types import Datasec, Func, FuncProto, Int, VarSecinfo
from pybpf.elf import R_BPF, SHF, SHT, STB, STT, STV
from tests.elf.elfutil import Sec, build_elf, rels, symtab

__all__ = ["CALL", "EXIT", "LDDW", "MOV", "ObjectBuilder", "kfunc_object"]


def MOV(dst: int, imm: int) -> Instruction:
    return Instruction(0xB7, dst, 0, 0, imm)


def EXIT() -> Instruction:
    return Instruction(0x95)


def CALL(imm: int, src: int = 1) -> Instruction:
    return Instruction(0x85, 0, src, 0, imm)


def LDDW(dst: int, imm: int = 0, src: int = 0) -> Instruction:
    return Instruction(0x18, dst, src, 0, imm, 0)


@dataclass
class _Section:
    name: str
    type: int
    flags: int
    data: bytearray = field(default_factory=bytearray)
    size: int | None = None


@dataclass
class ObjectBuilder:
    """An object under construction (see the module docs)."""

    byteorder: str = "little"
    sections: list[_Section] = field(default_factory=list)
    symbols: list[tuple[str, int, int, int, int, int, str]] = field(default_factory=list)
    relocs: dict[str, list[tuple[int, str, int]]] = field(default_factory=dict)

    def _section(self, name: str, type: int, flags: int) -> _Section:
        for sec in self.sections:
            if sec.name == name:
                return sec
        sec = _Section(name, type, flags)
        self.sections.append(sec)
        return sec

    def code(
        self, section: str, *funcs: tuple[str, list[Instruction]], bind: int = STB.GLOBAL
    ) -> list[int]:
        """Append functions to a code section; returns their byte offsets."""
        sec = self._section(section, SHT.PROGBITS, SHF.ALLOC | SHF.EXECINSTR)
        offsets = []
        for name, insns in funcs:
            code = encode_insns(insns, self.byteorder)  # type: ignore[arg-type]
            offsets.append(len(sec.data))
            self.symbols.append((name, len(sec.data), len(code), STT.FUNC, bind, 0, section))
            sec.data += code
        return offsets

    def raw(self, section: str, data: bytes, *, type: int = SHT.PROGBITS, flags: int = 0) -> None:
        """Append bytes to a section (created with ``type``/``flags`` if new)."""
        self._section(section, type, flags).data += data

    def data(self, section: str, data: bytes, *objects: tuple[str, int, int]) -> None:
        """A data section with ``(name, offset, size)`` global objects in it."""
        flags = SHF.ALLOC | (0 if section.startswith(".rodata") else SHF.WRITE)
        self._section(section, SHT.PROGBITS, flags).data += data
        for name, offset, size in objects:
            self.symbols.append((name, offset, size, STT.OBJECT, STB.GLOBAL, 0, section))

    def bss(self, section: str, size: int) -> None:
        self._section(section, SHT.NOBITS, SHF.ALLOC | SHF.WRITE).size = size

    def symbol(
        self,
        name: str,
        value: int = 0,
        size: int = 0,
        *,
        type: int = STT.NOTYPE,
        bind: int = STB.GLOBAL,
        visibility: int = STV.DEFAULT,
        section: str = "",
    ) -> None:
        """Any symbol; ``section`` "" is SHN_UNDEF, "#N" the raw index N."""
        self.symbols.append((name, value, size, type, bind, visibility, section))

    def reloc(self, section: str, offset: int, symbol: str, rtype: int = R_BPF.R_BPF_64_64) -> None:
        self.relocs.setdefault(section, []).append((offset, symbol, rtype))

    def build(self) -> bytes:
        """The object: the sections, then .symtab, .strtab and one .rel<section> each."""
        index = {sec.name: i + 1 for i, sec in enumerate(self.sections)}
        section_syms = [
            (f"@{s.name}", 0, 0, STT.SECTION, STB.LOCAL, 0, s.name) for s in self.sections
        ]
        rows = sorted(section_syms + self.symbols, key=lambda r: r[4] != STB.LOCAL)
        names = [r[0] for r in rows]
        table = [
            (
                "" if r[0].startswith("@") else r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                r[5],
                _shndx(index, r[6]),
            )
            for r in rows
        ]
        syms, strings = symtab(table, self.byteorder)
        symtab_index = len(self.sections) + 1
        first_global = 1 + sum(1 for r in rows if r[4] == STB.LOCAL)
        out = [
            Sec(s.name, s.type, bytes(s.data), flags=s.flags, size=s.size) for s in self.sections
        ]
        out.append(
            Sec(".symtab", SHT.SYMTAB, syms, link=symtab_index + 1, info=first_global, entsize=24)
        )
        out.append(Sec(".strtab", SHT.STRTAB, strings, align=1))
        for target, entries in self.relocs.items():
            data = rels([(o, names.index(s) + 1, t) for o, s, t in entries], self.byteorder)
            out.append(
                Sec(
                    f".rel{target}",
                    SHT.REL,
                    data,
                    link=symtab_index,
                    info=index[target],
                    entsize=16,
                )
            )
        return build_elf(out, byteorder=self.byteorder)


def _shndx(index: dict[str, int], section: str) -> int:
    if not section:
        return 0
    if section.startswith("#"):
        return int(section[1:])
    return index[section]


def kfunc_object(order: str = "little") -> bytes:
    """A program calling a hidden global subprogram that calls the kfunc ``my_kfunc``, with
    BTF: [1] int, [2] void(), [3] FUNC my_kfunc (extern), [4] DATASEC .ksyms, [5] FUNC helper."""
    b = ObjectBuilder(order)
    b.code(".text", ("helper", [MOV(1, 1), CALL(-1), EXIT()]))
    b.symbols[-1] = (*b.symbols[-1][:5], STV.HIDDEN, ".text")  # __hidden
    b.code("syscall", ("prog", [MOV(0, 0), CALL(-1), EXIT()]))
    b.reloc("syscall", 8, "helper", R_BPF.R_BPF_64_32)
    b.symbol("my_kfunc")
    b.reloc(".text", 8, "my_kfunc", R_BPF.R_BPF_64_32)
    btf = encode(
        [
            Int(name="int", size=4, nr_bits=32, encoding=IntEncoding.SIGNED),
            FuncProto(type=1),
            Func(name="my_kfunc", type=2, linkage=FuncLinkage.EXTERN),
            Datasec(name=".ksyms", size=0, vars=(VarSecinfo(3, 0, 0),)),
            Func(name="helper", type=2, linkage=FuncLinkage.GLOBAL),
        ],
        byteorder=order,  # type: ignore[arg-type]
    )
    b.raw(".BTF", btf)
    return b.build()
