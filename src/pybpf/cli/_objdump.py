"""A listing of an ELF object's executable sections, as ``llvm-objdump -d`` prints it.

The instruction lines are exactly llvm-objdump-19's (golden files in tests/testdata/golden
prove it). What llvm-objdump adds with ``-r`` comes on lines of its own, as it prints them:
ELF relocations, then the CO-RE relocation records of ``.BTF.ext``. With ``source`` the
source line of each instruction comes before it, from the object's BTF line info
(llvm-objdump ``-S`` reads DWARF instead, so the placement of those lines may differ).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator, Mapping

from pybpf._records import immutable
from pybpf.asm.disasm import get_instructions
from pybpf.elf import SHF, SHT, STT, ELFFile, Relocation, Section, Symbol
from pybpf.errors import BTFError

__all__ = ["ListingOptions", "objdump_listing"]

_EXEC = int(SHF.EXECINSTR)


@immutable
class ListingOptions:
    """What to show besides the instructions."""

    alu32: bool = False
    relocs: bool = False
    style: str = "objdump"
    source: bool = False


@immutable
class _Ext:
    """What the listing reads from .BTF/.BTF.ext: per section, byte offset → lines."""

    core: Mapping[str, Mapping[int, list[str]]]
    source: Mapping[str, Mapping[int, str]]


def _ext_info(elf: ELFFile, opts: ListingOptions) -> _Ext:
    empty = _Ext({}, {})
    btf_sec = elf.get_section_by_name(".BTF")
    ext_sec = elf.get_section_by_name(".BTF.ext")
    if not (opts.relocs or opts.source) or btf_sec is None or ext_sec is None:
        return empty
    # BTF is read only for -r/-S: a plain listing stays lean.
    from pybpf.btf import BTF, BTFExt  # noqa: PLC0415
    from pybpf.cli._corefmt import describe_core_relo  # noqa: PLC0415

    try:
        btf = BTF(btf_sec.data, name=".BTF")
        ext = BTFExt(ext_sec.data, btf)
    except BTFError:
        return empty  # as llvm-objdump: a broken .BTF.ext only loses the annotations
    core: dict[str, dict[int, list[str]]] = {}
    if opts.relocs:
        for sec, relos in ext.core_relos.items():
            table = core.setdefault(sec, {})
            for relo in relos:
                text = describe_core_relo(btf, relo.type_id, relo.access_str, int(relo.kind))
                table.setdefault(relo.insn_off, []).append(text)
    source: dict[str, dict[int, str]] = {}
    if opts.source:
        for sec, lines in ext.line_info.items():
            source[sec] = {li.insn_off: li.line_text for li in lines}
    return _Ext(core, source)


def objdump_listing(elf: ELFFile, path: str, opts: ListingOptions) -> Iterator[str]:
    """Lines (without newlines) of the listing of every non-empty executable section."""
    yield ""
    yield f"{path}:\tfile format elf64-bpf"
    ext = _ext_info(elf, opts)
    for sec in elf.iter_sections():
        if sec.flags & _EXEC and sec.size and sec.type == SHT.PROGBITS:
            yield ""
            yield f"Disassembly of section {sec.name}:"
            yield from _section(elf, sec, opts, ext)


def _section(elf: ELFFile, sec: Section, opts: ListingOptions, ext: _Ext) -> Iterator[str]:
    labels = _labels(elf, sec)
    relocs = _relocs_by_offset(elf, sec) if opts.relocs else {}
    lines = ext.source.get(sec.name, {})
    core = ext.core.get(sec.name, {})
    annotate = _annotator(labels, sec.name)
    last_source = None
    records = get_instructions(
        sec.data,
        byteorder=elf.byteorder,
        style=opts.style,  # type: ignore[arg-type]
        alu32=opts.alu32,
        strict=False,
        target_annotation=annotate,
        source=sec.name,
    )
    for rec in records:
        for name in labels.names_at.get(rec.offset, ()):
            yield ""
            yield f"{rec.offset:016x} <{name}>:"
        text = lines.get(rec.offset)
        if text is not None and text != last_source:
            yield f"; {text}"
            last_source = text
        yield f"{rec.pc:>8}:\t{rec.raw.hex(' ')}\t{rec.text}"
        for at in range(rec.offset, rec.offset + len(rec.raw)):
            for rel in relocs.get(at, ()):
                yield _reloc_line(elf, rel)
        for text in core.get(rec.offset, ()):
            yield f"\t\t{rec.offset:016x}:  CO-RE {text}"


@immutable
class _Labels:
    names_at: dict[int, list[str]]  # byte offset → symbol names printed as `<name>:` headers
    addrs: list[int]  # sorted addresses of symbols usable in `<sym+off>` annotations
    names: list[str]


def _labels(elf: ELFFile, sec: Section) -> _Labels:
    """The symbols of a section, as llvm-objdump uses them for headers and jump targets."""
    syms = [s for s in elf.symbols if s.shndx == sec.index and _is_label(s)]
    syms.sort(key=lambda s: (s.value, s.index))
    names_at: dict[int, list[str]] = {}
    for s in syms:
        names_at.setdefault(s.value, []).append(s.name)
    if 0 not in names_at:
        names_at[0] = [sec.name]
    addrs = sorted(names_at)
    return _Labels(names_at, addrs, [names_at[a][-1] for a in addrs])


def _is_label(sym: Symbol) -> bool:
    return bool(sym.name) and sym.type in (STT.FUNC, STT.NOTYPE, STT.OBJECT)


def _annotator(labels: _Labels, section: str) -> Callable[[int], str]:
    def annotate(target: int) -> str:
        addr = target * 8
        i = bisect.bisect_right(labels.addrs, addr) - 1
        if i < 0:
            return f"{section}+{addr - 0 & 0xFFFFFFFFFFFFFFFF:#x}"
        base = labels.addrs[i]
        name = labels.names[i]
        return name if addr == base else f"{name}+{addr - base:#x}"

    return annotate


def _relocs_by_offset(elf: ELFFile, sec: Section) -> dict[int, list[Relocation]]:
    table: dict[int, list[Relocation]] = {}
    for rel in elf.relocations(sec):
        table.setdefault(rel.offset, []).append(rel)
    return table


def _reloc_line(elf: ELFFile, rel: Relocation) -> str:
    sym = rel.symbol
    name = sym.name
    if not name and sym.type == STT.SECTION:
        name = elf.get_section(sym.shndx).name
    if rel.addend:
        name += f"{rel.addend:+#x}"
    kind = getattr(rel.type, "name", str(rel.type))
    return f"\t\t{rel.offset:016x}:  {kind}\t{name}"
